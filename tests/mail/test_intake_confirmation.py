"""Public intakes are no mail relay and no week filler (issue #12): new visitors confirm
their address before the slot is held for longer than a short hold; unconfirmed holds
are released; holds and bookings per intake are bounded across addresses; the lawyer may
approve each new client. Mail goes through aiosmtpd, the worker runs the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.jobs import worker
from service.storage.models import Booking, Client, OutboxTask
from tests.admin.conftest import PASSWORD, log_in, post
from tests.test_intake import WED_14, book, make_intake, offered  # noqa: F401 - fixture

VISITOR = "vera@visitor.example"


def statuses(db) -> list[str]:
    db.session.expire_all()
    return [b.status for b in db.session.scalars(sa.select(Booking).order_by(Booking.id))]


def confirm_link(smtp, address=VISITOR) -> str:
    (message,) = [m for m in smtp.messages if address in str(m["To"])]
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://counsel\.test(/i/confirm/[\w-]+)", body).group(1)


def confirm(client, path):
    page = client.get(path)
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"form_token": token})


@pytest.fixture
def intake(make_intake, make_lawyer):  # noqa: F811 - the imported fixture
    from werkzeug.security import generate_password_hash

    lawyer = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    return make_intake(lawyer=lawyer)


def test_intake_booking_sends_only_a_confirmation_mail_without_visitor_text(frozen, smtp, client, intake, db):
    """A booking through a public intake mailed the client and the lawyer at once, with
    the visitor's text, to an address of the visitor's choice."""
    response = book(client, intake.slug, name='Mallory <x@evil.example>, "ceo"', agenda="BUY GIFT CARDS http://evil")
    assert response.status_code == 303
    assert statuses(db) == ["pending"]
    booking = db.session.scalar(sa.select(Booking))
    assert booking.hold_until == frozen().astimezone(booking.hold_until.tzinfo) + timedelta(minutes=30)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please confirm your e-mail address" in page
    worker.run_once()
    (message,) = smtp.messages  # one mail, to the visitor only; nothing to the lawyer
    assert [a.addr_spec for a in message["To"].addresses] == [VISITOR]
    assert message["To"].addresses[0].display_name == ""
    body = message.get_body(("plain",)).get_content()
    assert "GIFT CARDS" not in body and "evil" not in body and "Mallory" not in body
    assert sorted(r for e in smtp.envelopes for r in e.rcpt_tos) == [VISITOR]
    kinds = {t.kind for t in db.session.scalars(sa.select(OutboxTask))}
    assert not any(kind.startswith("calendar.") for kind in kinds)  # nothing in the calendar yet


def test_intake_email_confirmation_confirms_the_booking_and_sends_the_usual_mails(frozen, smtp, client, intake, db):
    book(client, intake.slug)
    worker.run_once()
    path = confirm_link(smtp)
    assert client.get(path).status_code == 200 and statuses(db) == ["pending"]  # a GET changes nothing
    response = confirm(client, path)
    assert response.status_code == 303 and "/m/" in response.headers["Location"]
    assert statuses(db) == ["confirmed"]
    smtp.messages.clear()
    worker.run_once()
    recipients = sorted(str(m["To"].addresses[0].addr_spec) for m in smtp.messages)
    assert recipients == [intake.lawyer.email, VISITOR]
    assert client.get(path).status_code == 404  # the link is spent


def test_unconfirmed_intake_hold_is_released_and_the_slot_offered_again(frozen, smtp, client, intake, db):
    book(client, intake.slug)
    assert WED_14 not in offered(client, f"/i/{intake.slug}")
    worker.run_once()
    path = confirm_link(smtp)
    frozen.tick(timedelta(minutes=29))
    worker.run_once()
    assert statuses(db) == ["pending"]
    frozen.tick(timedelta(minutes=2))
    worker.run_once()  # the release task is due
    assert statuses(db) == ["cancelled"]
    assert db.session.scalar(sa.select(Client)).status == "archived"
    assert WED_14 in offered(client, f"/i/{intake.slug}")
    assert client.get(path).status_code == 404


def test_expired_intake_hold_gives_way_to_the_next_booking_before_the_worker_runs(frozen, smtp, client, intake, db):
    book(client, intake.slug)
    frozen.tick(timedelta(minutes=31))
    second = book(client, intake.slug, email="other@visitor.example")
    assert second.status_code == 303
    assert statuses(db) == ["cancelled", "pending"]


def test_intake_confirmation_after_the_hold_is_refused_and_releases(frozen, smtp, client, intake, db):
    book(client, intake.slug)
    worker.run_once()
    path = confirm_link(smtp)
    page = client.get(path).get_data(as_text=True)
    frozen.tick(timedelta(minutes=31))
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = client.post(path, data={"form_token": token})
    assert response.status_code in (404, 410)
    assert statuses(db) == ["cancelled"]


def test_intake_unconfirmed_holds_are_capped_per_intake(frozen, smtp, app, intake, db):
    """40 addresses booked 40 intake slots in 55 s: the week was full of strangers."""
    app.config["INTAKE_MAX_UNCONFIRMED"] = 2
    intake.windows = "mon 09:00-17:00,tue 09:00-17:00,wed 09:00-17:00,thu 09:00-17:00"
    db.session.commit()
    codes = []
    for n in range(40):
        visitor = app.test_client()
        starts = offered(visitor, f"/i/{intake.slug}")
        page = visitor.get(f"/i/{intake.slug}").get_data(as_text=True)
        token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
        response = visitor.post(f"/i/{intake.slug}", data={
            "form_token": token, "start": starts[0], "name": "V", "email": f"v{n}@victim.example",
            "agenda": "attacker text"}, environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})
        codes.append(response.status_code)
    assert codes.count(303) == 2 and set(codes[2:]) <= {429}
    worker.run_once()
    assert len(smtp.messages) == 2  # one confirmation each, nothing to the lawyer
    assert statuses(db) == ["pending", "pending"]


def test_intake_bookings_are_rate_limited_per_intake_across_addresses(app, intake, db):
    """Per-address limits alone let many addresses book one intake without end."""
    app.config["RATELIMIT_INTAKE"] = "3/hour"
    codes = []
    for n in range(5):
        visitor = app.test_client()
        codes.append(visitor.post(f"/i/{intake.slug}", data={"start": "2020-01-01T10:00:00+00:00"},
                                  environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"}).status_code)
    assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429]  # refused requests count too


def test_lawyer_approval_of_new_clients_holds_the_slot_until_approved(frozen, smtp, client, intake, db, app):
    intake.lawyer.approve_new_clients = True
    db.session.commit()
    book(client, intake.slug)
    worker.run_once()
    confirm(client, confirm_link(smtp))
    assert statuses(db) == ["requested"]
    smtp.messages.clear()
    frozen.tick(timedelta(hours=3))  # far past the short hold: a request stays held
    worker.run_once()
    assert statuses(db) == ["requested"]
    assert WED_14 not in offered(client, f"/i/{intake.slug}")
    (notice,) = smtp.messages  # the lawyer is asked; the visitor gets nothing yet
    assert notice["To"].addresses[0].addr_spec == intake.lawyer.email
    admin = app.test_client()
    assert log_in(admin, intake.lawyer.email).status_code == 302
    dashboard = admin.get("/admin/").get_data(as_text=True)
    booking = db.session.scalar(sa.select(Booking))
    assert f'data-request-id="{booking.id}"' in dashboard and "Tenancy: notice received" in dashboard
    assert post(admin, f"/admin/bookings/{booking.id}/approve").status_code == 302
    assert statuses(db) == ["confirmed"]
    smtp.messages.clear()
    worker.run_once()
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == [intake.lawyer.email, VISITOR]
    assert post(admin, f"/admin/bookings/{booking.id}/approve").status_code == 409


def test_lawyer_declines_a_new_client_and_the_slot_is_free_again(frozen, smtp, client, intake, db, app):
    intake.lawyer.approve_new_clients = True
    db.session.commit()
    book(client, intake.slug)
    worker.run_once()
    confirm(client, confirm_link(smtp))
    booking = db.session.scalar(sa.select(Booking))
    admin = app.test_client()
    log_in(admin, intake.lawyer.email)
    assert post(admin, f"/admin/bookings/{booking.id}/decline").status_code == 302
    assert statuses(db) == ["cancelled"]
    assert WED_14 in offered(client, f"/i/{intake.slug}")
    smtp.messages.clear()
    worker.run_once()
    (message,) = smtp.messages
    assert message["To"].addresses[0].addr_spec == VISITOR and "not accepted" in message["Subject"]


def test_lawyer_approval_setting_in_the_admin(app, intake, db):
    admin = app.test_client()
    log_in(admin, intake.lawyer.email)
    assert 'name="approve_new_clients"' in admin.get("/admin/settings").get_data(as_text=True)
    post(admin, "/admin/settings", {"action": "approval", "approve_new_clients": "1"}, token_from="/admin/settings")
    db.session.refresh(intake.lawyer)
    assert intake.lawyer.approve_new_clients is True
    post(admin, "/admin/settings", {"action": "approval"}, token_from="/admin/settings")
    db.session.refresh(intake.lawyer)
    assert intake.lawyer.approve_new_clients is False


def test_another_lawyers_request_cannot_be_approved(app, intake, db, make_lawyer, client, frozen, smtp):
    from werkzeug.security import generate_password_hash

    intake.lawyer.approve_new_clients = True
    db.session.commit()
    book(client, intake.slug)
    worker.run_once()
    confirm(client, confirm_link(smtp))
    booking = db.session.scalar(sa.select(Booking))
    other = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    admin = app.test_client()
    log_in(admin, other.email)
    assert post(admin, f"/admin/bookings/{booking.id}/approve").status_code == 404
    assert statuses(db) == ["requested"]

