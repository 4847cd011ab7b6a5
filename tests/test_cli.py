"""The CLI: create commands print their id or URL as the last word; bad input fails cleanly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.storage.models import CallbackLink, Client, Lawyer


def lawyer_id(runner) -> str:
    result = runner.invoke(
        args=[
            "lawyer",
            "create",
            "--name",
            "Anna Keller",
            "--email",
            "anna@counsel.example",
            "--timezone",
            "Europe/Berlin",
        ]
    )
    assert result.exit_code == 0, result.output
    return result.output.split()[-1]


def test_lawyer_and_client_create(runner, client, db, frozen):
    lid = lawyer_id(runner)
    assert db.session.get(Lawyer, int(lid)).timezone == "Europe/Berlin"
    result = runner.invoke(
        args=[
            "client",
            "create",
            "--lawyer",
            lid,
            "--name",
            "Boris",
            "--email",
            "boris@client.example",
            "--windows",
            "tue 16:00-18:00,thu 10:00-12:00",
            "--duration",
            "45",
            "--prep",
            "30",
            "--max-per-week",
            "1",
            "--status-day",
            "fri",
            "--language",
            "ru",
        ]
    )
    assert result.exit_code == 0, result.output
    url = result.output.split()[-1]
    assert url.startswith("http://counsel.test/b/")
    stored = db.session.scalar(sa.select(Client))
    assert stored.windows == "tue 16:00-18:00,thu 10:00-12:00" and stored.status_day == 4
    assert client.get(url.removeprefix("http://counsel.test")).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--windows", "funday 25:00-26:00"], "funday"),
        (["--windows", "tue 25:00-26:00"], "25:00"),
        (["--windows", "tue 12:00-10:00"], "12:00"),
        (["--duration", "-30"], "--duration"),
        (["--prep", "-5"], "--prep"),
        (["--duration", "180"], "does not fit"),
        (["--email", "nope"], "--email"),
        (["--lawyer", "999"], "no lawyer"),
        (["--status-day", "someday"], "someday"),
        (["--horizon", "0"], "--horizon"),
    ],
)
def test_client_create_bad_input_writes_nothing(runner, db, args, message):
    lid = lawyer_id(runner)
    base = {
        "--lawyer": lid,
        "--name": "Boris",
        "--email": "b@client.example",
        "--windows": "tue 16:00-18:00",
        "--duration": "45",
        "--prep": "30",
    }
    overrides = dict(zip(args[::2], args[1::2], strict=True))
    argv = ["client", "create"]
    for key, value in {**base, **overrides}.items():
        argv += [key, value]
    result = runner.invoke(args=argv)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Base"], "--timezone"),
        (["--email", "x@"], "--email"),
        (["--name", "  "], "--name"),
    ],
)
def test_lawyer_create_bad_input(runner, db, args, message):
    argv = {"--name": "Anna", "--email": "anna@counsel.example", "--timezone": "Europe/Berlin"}
    argv.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(args=["lawyer", "create", *[x for kv in argv.items() for x in kv]])
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count(Lawyer.id))) == 0


@pytest.mark.db_matrix
def test_duplicate_lawyer_email_refused(runner, db):
    lawyer_id(runner)
    result = runner.invoke(
        args=[
            "lawyer",
            "create",
            "--name",
            "A",
            "--email",
            "ANNA@counsel.example",
            "--timezone",
            "UTC",
        ]
    )
    assert result.exit_code != 0 and "already exists" in result.output


@pytest.mark.db_matrix
def test_callback_link_single_use(runner, client, make_client, frozen, db):
    _, token = make_client()
    result = runner.invoke(args=["client", "callback-link", "--token", token, "--hours", "48"])
    assert result.exit_code == 0, result.output
    path = result.output.split()[-1].removeprefix("http://counsel.test")
    link_token = path.split("/b/")[1]
    assert client.get(path).status_code == 200
    body = {
        "token": link_token,
        "start": "2026-03-04T13:00:00+00:00",
        "name": "Boris",
        "email": "boris@client.example",
        "agenda": "Callback about the lease",
    }
    assert client.post("/api/v1/bookings", json=body).status_code == 201
    assert db.session.scalar(sa.select(CallbackLink)).used_at is not None
    assert client.get(path).status_code == 410
    spent = client.post("/api/v1/bookings", json={**body, "start": "2026-03-09T09:00:00+00:00"})
    assert spent.status_code == 410
    bad = runner.invoke(args=["client", "callback-link", "--token", "nope"])
    assert bad.exit_code != 0 and "no active client" in bad.output


def test_callback_link_expires(runner, client, make_client, frozen):
    _, token = make_client()
    path = runner.invoke(
        args=["client", "callback-link", "--token", token, "--hours", "2"]
    ).output.split()[-1]
    frozen.move_to("2026-03-02T10:01:00+00:00")
    assert client.get(path.removeprefix("http://counsel.test")).status_code == 410


def test_allow_embed(runner, db):
    lid = lawyer_id(runner)
    ok = runner.invoke(
        args=[
            "lawyer",
            "allow-embed",
            "--lawyer",
            lid,
            "--origin",
            "https://Site.example",
            "--origin",
            "https://site.example/",
        ]
    )
    assert ok.exit_code == 0 and ok.output.split()[-1] == "https://site.example"
    bad = runner.invoke(
        args=["lawyer", "allow-embed", "--lawyer", lid, "--origin", "javascript:alert(1)"]
    )
    assert bad.exit_code != 0


def test_set_password_needs_length(runner, db):
    lid = lawyer_id(runner)
    assert (
        runner.invoke(
            args=["lawyer", "set-password", "--lawyer", lid, "--password", "short"]
        ).exit_code
        != 0
    )
    assert (
        runner.invoke(
            args=["lawyer", "set-password", "--lawyer", lid, "--password", "long-enough-pw"]
        ).exit_code
        == 0
    )


def test_day_off_caps_and_extra_window_shape_the_slots(runner, client, make_client, frozen, db):
    booked_client, token = make_client(windows="mon 10:00-12:00,wed 14:00-16:00", prep_min=0)
    lid = str(booked_client.lawyer_id)

    def starts():
        response = client.get(f"/api/v1/slots?token={token}&from=2026-03-04&to=2026-03-10")
        return [s["start"] for s in response.get_json()["slots"]]

    assert "2026-03-04T13:00:00+00:00" in starts()
    result = runner.invoke(args=["lawyer", "day-off", "--lawyer", lid, "--from", "2026-03-04"])
    assert result.exit_code == 0, result.output
    assert all(not s.startswith("2026-03-04") for s in starts())
    result = runner.invoke(
        args=[
            "client",
            "extra-window",
            "--token",
            token,
            "--date",
            "2026-03-06",
            "--window",
            "08:00-09:00",
        ]
    )
    assert result.exit_code == 0, result.output
    assert {"2026-03-06T07:00:00+00:00", "2026-03-06T07:30:00+00:00"} <= set(starts())
    assert (
        runner.invoke(args=["lawyer", "caps", "--lawyer", lid, "--max-per-day", "1"]).exit_code == 0
    )
    book = {
        "token": token,
        "start": "2026-03-06T07:00:00+00:00",
        "name": "B",
        "email": "b@client.example",
        "agenda": "x",
    }
    assert client.post("/api/v1/bookings", json=book).status_code == 201
    assert all(not s.startswith("2026-03-06") for s in starts())  # the day's cap is reached


@pytest.mark.parametrize(
    "args",
    [
        ["lawyer", "day-off", "--lawyer", "1", "--from", "2026-03-10", "--to", "2026-03-01"],
        ["lawyer", "day-off", "--lawyer", "1", "--from", "March 1"],
        ["lawyer", "caps", "--lawyer", "1", "--max-per-day", "-1"],
        ["client", "extra-window", "--token", "TOKEN", "--date", "2026-03-06", "--window", "9-8"],
        [
            "client",
            "extra-window",
            "--token",
            "nope",
            "--date",
            "2026-03-06",
            "--window",
            "08:00-09:00",
        ],
    ],
)
def test_override_commands_refuse_bad_input(runner, make_client, db, args):
    booked_client, token = make_client()
    args = [
        token if a == "TOKEN" else (str(booked_client.lawyer_id) if a == "1" else a) for a in args
    ]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
