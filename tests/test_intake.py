"""Public intake agreements: the CLI, the /i/<slug> page, and booking as a new client."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, Client, Intake

# NOW is Mon 2 Mar 2026 09:00 Berlin; with 24 h notice the first Wednesday window is
# Wed 4 Mar 14:00-16:00 Berlin = 13:00-15:00 UTC.
WED_14 = "2026-03-04T13:00:00+00:00"
WED_15 = "2026-03-04T14:00:00+00:00"


@pytest.fixture
def make_intake(db, make_lawyer):
    def make(lawyer=None, **params) -> Intake:
        fields = {
            "slug": "first-consultation",
            "title": "First consultation, 30 min",
            "windows": "wed 14:00-16:00",
            "duration_min": 30,
            "prep_min": 30,
            "notice_hours": 24,
            "horizon_days": 30,
        }
        fields.update(params)
        intake = Intake(lawyer=lawyer or make_lawyer(), **fields)
        db.session.add(intake)
        db.session.commit()
        return intake

    return make


def form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def book(client, slug, start=WED_14, **fields):
    page = client.get(f"/i/{slug}").get_data(as_text=True)
    data = {"form_token": form_token(page), "start": start, "name": "Vera Neu",
            "email": "vera@visitor.example", "agenda": "Tenancy: notice received"}
    data.update(fields)
    return client.post(f"/i/{slug}", data=data)


def offered(client, path) -> list[str]:
    return re.findall(r'data-slot-start="([^"]+)"', client.get(path).get_data(as_text=True))


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_cli_creates_intake_and_prints_its_url_last(runner, make_lawyer, db):
    lawyer = make_lawyer()
    result = runner.invoke(args=[
        "intake", "create", "--lawyer", str(lawyer.id), "--slug", "first-consultation",
        "--title", "First consultation, 30 min", "--windows", "wed 10:00-12:00",
        "--duration", "30", "--prep", "15", "--max-per-week", "3",
    ])
    assert result.exit_code == 0, result.output
    assert result.output.split()[-1] == "http://counsel.test/i/first-consultation"
    intake = db.session.scalar(sa.select(Intake))
    assert (intake.windows, intake.duration_min, intake.prep_min, intake.max_per_week) == (
        "wed 10:00-12:00", 30, 15, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "First Consultation"], "--slug"),
        (["--slug", "-x"], "--slug"),
        (["--windows", "wed 12:00-10:00"], "must end after it starts"),
        (["--duration", "180"], "does not fit"),
        (["--title", " "], "--title"),
        (["--lawyer", "999"], "no lawyer"),
    ],
)
def test_cli_refuses_bad_input_and_writes_nothing(runner, make_lawyer, db, args, message):
    lawyer = make_lawyer()
    base = {"--lawyer": str(lawyer.id), "--slug": "intake", "--title": "First call",
            "--windows": "wed 10:00-12:00", "--duration": "30", "--prep": "15"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(args=["intake", "create", *[x for kv in base.items() for x in kv]])
    assert result.exit_code != 0
    assert message in result.output
    assert count(db, Intake) == 0


@pytest.mark.db_matrix
def test_cli_refuses_a_taken_slug(runner, make_intake):
    intake = make_intake()
    result = runner.invoke(args=[
        "intake", "create", "--lawyer", str(intake.lawyer_id), "--slug", intake.slug,
        "--title", "Again", "--windows", "wed 10:00-12:00", "--duration", "30", "--prep", "0",
    ])
    assert result.exit_code != 0 and "already taken" in result.output


def test_page_offers_the_intake_slots_without_promising_caps(client, make_intake, frozen):
    make_intake(max_per_week=2)
    response = client.get("/i/first-consultation")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "First consultation, 30 min" in page
    assert "At most" not in page  # the cap counts all visitors, it is no promise to one
    assert re.findall(r'data-slot-start="([^"]+)"', page)[:2] == [WED_14, "2026-03-04T13:30:00+00:00"]
    assert 'name="name" value=""' in page


@pytest.mark.db_matrix
def test_booking_creates_a_new_client_with_the_agreement(client, make_intake, frozen, db):
    intake = make_intake(buffer_min=10, note="Bring the contract.")
    response = book(client, intake.slug)
    assert response.status_code == 303
    assert re.fullmatch(r"/m/[\w-]+\?tz=Europe/Berlin&booked=1", response.headers["Location"])
    new = db.session.scalar(sa.select(Client))
    assert (new.name, new.email, new.is_new, new.intake_id) == ("Vera Neu", "vera@visitor.example", True, intake.id)
    assert (new.windows, new.duration_min, new.prep_min, new.buffer_min) == ("wed 14:00-16:00", 30, 30, 10)
    assert new.lawyer_id == intake.lawyer_id and new.matter == intake.title and new.note == "Bring the contract."
    booking = db.session.scalar(sa.select(Booking))
    assert booking.client_id == new.id and booking.start.isoformat() == WED_14
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-booking-uid="{booking.uid}"' in confirmation


@pytest.mark.db_matrix
def test_intake_and_client_bookings_exclude_each_other(client, make_intake, make_client, frozen):
    intake = make_intake()
    _, token = make_client(lawyer=intake.lawyer, windows="wed 14:00-16:00")
    # A client's 14:00 call (prep 13:30) takes the intake's 14:00 and, by prep, its 14:30.
    api = client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": "Boris",
                                                "email": "boris@client.example", "agenda": "Lease"})
    assert api.status_code == 201
    assert offered(client, "/i/first-consultation")[:1] == [WED_15]
    refused = book(client, intake.slug, start="2026-03-04T13:30:00+00:00")
    assert refused.status_code == 409 and "no longer free" in refused.get_data(as_text=True)
    # And an intake booking takes the client's slot, prep included.
    assert book(client, intake.slug, start=WED_15).status_code == 303
    client_slots = [s["start"] for s in client.get(
        f"/api/v1/slots?token={token}&from=2026-03-04&to=2026-03-04").get_json()["slots"]]
    assert client_slots == []


@pytest.mark.db_matrix
def test_intake_caps_count_all_visitors_together(client, make_intake, frozen, db):
    make_intake(max_per_week=1)
    assert book(client, "first-consultation").status_code == 303
    second = book(client, "first-consultation", start=WED_15, email="other@visitor.example")
    assert second.status_code == 409
    assert "number of calls for that week" in second.get_data(as_text=True)
    assert count(db, Client) == 1  # the refused visitor left no client behind
    assert [s[:10] for s in offered(client, "/i/first-consultation")][:1] == ["2026-03-11"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"email": "nope"}, 422), ({"agenda": " "}, 422), ({"start": ""}, 422),
     ({"start": "2026-03-05T13:00:00+00:00"}, 409), ({"form_token": "forged"}, 400)],
)
@pytest.mark.db_matrix
def test_refused_booking_writes_no_client(client, make_intake, frozen, db, fields, status):
    make_intake()
    response = book(client, "first-consultation", **fields)
    assert response.status_code == status
    assert 'role="alert"' in response.get_data(as_text=True)
    assert count(db, Client) == 0 and count(db, Booking) == 0


def test_form_token_of_one_intake_does_not_work_for_another(client, make_intake, frozen, db):
    first = make_intake()
    make_intake(lawyer=first.lawyer, slug="second")
    token = form_token(client.get("/i/first-consultation").get_data(as_text=True))
    response = client.post("/i/second", data={"form_token": token, "start": WED_14, "name": "V",
                                              "email": "v@visitor.example", "agenda": "x"})
    assert response.status_code == 400 and count(db, Client) == 0


@pytest.mark.parametrize("path", ["/i/nothing-here", "/i/UPPER", "/embed/i/nothing-here"])
def test_unknown_slug_is_404(client, make_intake, path):
    make_intake()
    assert client.get(path).status_code == 404


@pytest.mark.db_matrix
def test_inactive_intake_is_404_and_cannot_be_booked(client, make_intake, frozen, db):
    intake = make_intake()
    page = client.get("/i/first-consultation").get_data(as_text=True)
    intake.active = False
    db.session.commit()
    assert client.get("/i/first-consultation").status_code == 404
    response = client.post("/i/first-consultation", data={
        "form_token": form_token(page), "start": WED_14, "name": "V",
        "email": "v@visitor.example", "agenda": "x"})
    assert response.status_code == 404 and count(db, Client) == 0


@pytest.mark.db_matrix
@pytest.mark.migrations
def test_migration_0003_downgrades_and_upgrades_again(app, db, make_intake):
    from flask_migrate import downgrade, upgrade

    make_intake()
    db.session.remove()
    downgrade(revision="google_0001")  # below 0003_intake, whatever comes after it
    assert "intake" not in sa.inspect(db.engine).get_table_names()
    assert "intake_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("client")}
    upgrade()
    assert "intake_id" in {c["name"] for c in sa.inspect(db.engine).get_columns("client")}
