"""The audit log: a row for each kind of change, with who did it; append-only in the
database itself; shown to the lawyer and the firm admin; CSV."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from service.storage.models import AuditEvent, Booking
from service.usecases import audit, calendar_connect, clients
from tests.admin.conftest import log_in, post

pytestmark = pytest.mark.db_matrix

WED_14 = "2026-03-04T13:00:00+00:00"


def _actions(db) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(e.action, e.actor_kind) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]


def _book(client, token, start=WED_14):
    return client.post("/api/v1/bookings", json={"token": token, "start": start, "name": "Boris",
                                                 "email": "boris@client.example", "agenda": "Clause 4"})


def test_bookings_by_the_client_are_recorded_with_the_client_as_actor(client, db, make_client, frozen):
    client_row, token = make_client()
    manage = _book(client, token).get_json()["manage_url"].rsplit("/", 1)[-1]
    assert client.post(f"/m/{manage}/cancel", data={"form_token": _manage_form_token(client, manage), "confirm": "yes"}).status_code == 303
    rows = [e for e in db.session.scalars(sa.select(AuditEvent)) if e.action.startswith("booking.")]
    assert [(e.action, e.actor_kind, e.actor_id) for e in rows] == [
        ("booking.booked", "client", client_row.id), ("booking.cancelled", "client", client_row.id)]
    assert rows[1].before["status"] == "confirmed" and rows[1].after["status"] == "cancelled"
    text = str([(e.before, e.after) for e in rows])
    assert "Clause 4" not in text and "boris@client.example" not in text


def _manage_form_token(client, manage: str) -> str:
    import re

    page = client.get(f"/m/{manage}").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def test_agreement_change_by_the_lawyer_keeps_terms_before_and_after(app, db, world, frozen):
    http = app.test_client()
    log_in(http, world.lawyer_a.email)
    data = clients.form_data(world.client_a)
    form = {k: ("" if v is None else v) for k, v in data.items() if k != "windows"}
    form.update({"windows-0-weekday": "0", "windows-0-start": "10:00", "windows-0-end": "12:00",
                 "duration_min": "45", "email": "new@secret.example"})
    form = {k: ("y" if v is True else v) for k, v in form.items() if v is not False}
    response = post(http, f"/admin/clients/{world.client_a.id}/edit", form,
                    token_from=f"/admin/clients/{world.client_a.id}/edit")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "agreement.changed"))
    assert (event.actor_kind, event.actor_id, event.lawyer_id) == ("lawyer", world.lawyer_a.id, world.lawyer_a.id)
    assert event.before["duration_min"] == 30 and event.after["duration_min"] == 45
    assert event.after["personal_fields_changed"] == ["email"]
    assert "new@secret.example" not in str(event.after)


def test_assistant_changes_are_recorded_as_the_assistant(app, db, world, frozen):
    http = app.test_client()
    log_in(http, world.assistant_a.email)
    response = post(http, f"/admin/clients/{world.client_a.id}/status", {"status": "paused"},
                    token_from="/admin/clients")
    assert response.status_code == 302
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "client.status"))
    assert (event.actor_kind, event.actor_id) == ("assistant", world.assistant_a.id)
    assert (event.before, event.after) == ({"status": "active"}, {"status": "paused"})


def test_calendar_connections_people_and_exports_are_recorded(app, runner, db, world, frozen, tmp_path):
    calendar_connect.set_choices(world.account_a, set(), world.calendar_a.id)
    calendar_connect.disconnect(world.account_a)
    db.session.commit()
    runner.invoke(args=["user", "invite", "--firm", str(world.firm1.id), "--email", "x@keller.example",
                        "--role", "admin"])
    runner.invoke(args=["client", "export", "--client", str(world.client_a.id), "--out", str(tmp_path / "c.zip")])
    actions = _actions(db)
    for wanted in [("calendar.choices", "system"), ("calendar.disconnected", "system"),
                   ("person.invited", "system"), ("client.exported", "system")]:
        assert wanted in actions
    disconnected = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "calendar.disconnected"))
    assert disconnected.before["label"] == "Anna's feed" and "secret" not in str(disconnected.before)


def test_the_database_refuses_to_change_or_delete_audit_rows(db, world):
    event_id = audit.record(audit.SYSTEM, "test.thing", world.client_a)
    db.session.commit()
    for statement in (sa.update(AuditEvent).values(action="forged"), sa.delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(statement)
            db.session.commit()
        db.session.rollback()
    assert db.session.get(AuditEvent, event_id).action == "test.thing"


def test_the_log_is_shown_to_its_lawyer_and_firm_admin_and_exported_as_csv(app, db, world, frozen):
    audit.record(audit.SYSTEM, "booking.booked", db.session.get(Booking, world.booking_a.id))
    db.session.commit()
    lawyer_b = app.test_client()
    log_in(lawyer_b, world.lawyer_b.email)
    assert 'data-action="booking.booked"' not in lawyer_b.get("/admin/audit").get_data(as_text=True)
    assert lawyer_b.get("/admin/audit?scope=firm").status_code == 404  # not the firm's admin
    lawyer_a = app.test_client()
    log_in(lawyer_a, world.lawyer_a.email)
    assert 'data-action="booking.booked"' in lawyer_a.get("/admin/audit").get_data(as_text=True)
    firm_page = lawyer_a.get("/admin/audit?scope=firm").get_data(as_text=True)
    assert 'data-action="firm.created"' in firm_page
    response = lawyer_a.get("/admin/audit.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert "booking.booked" in {r["action"] for r in rows}
    assert ("audit.exported", "lawyer") in _actions(db)


def test_csv_cells_never_start_a_spreadsheet_formula():
    assert audit._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert audit._cell("plain") == "plain"


def test_lawyer_side_moves_cancels_and_outcomes_are_in_the_audit_log(app, db, make_client, frozen):
    """The lawyer's own calls (#13) are audited like the client's: moved, cancelled, marked."""
    from datetime import timedelta

    import sqlalchemy as sa

    from service.storage.models import AuditEvent, utcnow
    from service.usecases import steer

    client, _ = make_client()
    now = utcnow()
    start = (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking = steer.book_for_client(client, start, "Clause 4", now, steer.Override(terms=True, busy=True))
    steer.move(booking, start + timedelta(hours=2), now, steer.Override(terms=True, busy=True), "court")
    steer.cancel(booking, "hearing moved", now)
    actions = list(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.subject_type == "booking", AuditEvent.subject_id == booking.id).order_by(AuditEvent.id)))
    assert actions == ["booking.booked", "booking.moved", "booking.cancelled"]
    moved = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "booking.moved"))
    assert moved.before["start"] != moved.after["start"] and "court" not in str(moved.after)
