"""Privacy: the notice and consent on every booking form, the client's export archive,
erasure (searched for afterwards in the whole database, its files and the outbox),
retention under a frozen clock, calendar events without the agenda."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import time
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.calendars import writeback
from service.jobs import worker
from service.storage import outbox
from service.storage.models import (
    AuditEvent,
    Booking,
    Client,
    Consent,
    Firm,
    Intake,
    OutboxTask,
)
from service.usecases import bookings, compaction, privacy
from tests.admin.conftest import log_in, post
from tests.conftest import NOW

WED_14 = "2026-03-04T13:00:00+00:00"
NAME, EMAIL, AGENDA = "Zinaida Secretclient", "zinaida@secret.example", "Hidden merger of Vostok and Zapad"
NOTICE_EN = "Keller and Partner processes your data to prepare the consultation (GDPR art. 6(1)(b))."
NOTICE_RU = "Мы обрабатываем ваши персональные данные для подготовки консультации (152-ФЗ)."


def _firm_with_notice(db, lawyer, required=True) -> Firm:
    firm = db.session.get(Firm, lawyer.firm_id)
    firm.privacy_text_en, firm.privacy_text_ru, firm.privacy_url = NOTICE_EN, NOTICE_RU, "https://keller.example/p"
    firm.privacy_version, firm.consent_required = 3, required
    db.session.commit()
    return firm


def _form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


# -- notice and consent ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/b/", "/embed/b/"])
def test_booking_without_consent_is_refused_and_with_it_the_text_is_stored(client, db, make_client, frozen, prefix):
    row, token = make_client(language="ru")
    _firm_with_notice(db, row.lawyer)
    page = client.get(f"{prefix}{token}").get_data(as_text=True)
    assert NOTICE_RU in page and 'name="consent"' in page and "https://keller.example/p" in page
    form = {"form_token": _form_token(page), "start": WED_14, "name": NAME, "email": EMAIL, "agenda": AGENDA}
    refused = client.post(f"{prefix}{token}", data=form)
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    booked = client.post(f"{prefix}{token}", data={**form, "consent": "on"})
    assert booked.status_code == 303
    (consent,) = db.session.scalars(sa.select(Consent))
    assert (consent.client_id, consent.version, consent.language) == (row.id, 3, "ru")
    assert consent.text == NOTICE_RU and consent.url == "https://keller.example/p"
    assert consent.given_at == NOW


def test_intake_form_shows_the_notice_and_stores_consent_with_the_new_client(client, db, make_lawyer, frozen):
    lawyer = make_lawyer()
    _firm_with_notice(db, lawyer)
    db.session.add(Intake(lawyer_id=lawyer.id, slug="first", title="First talk", windows="wed 14:00-16:00",
                          duration_min=30, language="en"))
    db.session.commit()
    page = client.get("/i/first").get_data(as_text=True)
    assert NOTICE_EN in page
    form = {"form_token": _form_token(page), "start": WED_14, "name": NAME, "email": EMAIL, "agenda": AGENDA,
            "consent": "on"}
    assert client.post("/i/first", data=form).status_code == 303
    (consent,) = db.session.scalars(sa.select(Consent))
    assert consent.text == NOTICE_EN and db.session.get(Client, consent.client_id).email == EMAIL


def test_api_booking_needs_consent_when_the_firm_requires_it(client, db, make_client, frozen):
    row, token = make_client()
    _firm_with_notice(db, row.lawyer)
    body = {"token": token, "start": WED_14, "name": NAME, "email": EMAIL, "agenda": AGENDA}
    refused = client.post("/api/v1/bookings", json=body)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "consent_required"
    assert client.post("/api/v1/bookings", json={**body, "consent": True}).status_code == 201
    assert db.session.scalar(sa.select(Consent.version)) == 3


def test_notice_without_required_consent_is_shown_and_booking_works_without_it(client, db, make_client, frozen):
    row, token = make_client()
    _firm_with_notice(db, row.lawyer, required=False)
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert NOTICE_EN in page and 'name="consent"' not in page
    assert client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": NAME, "email": EMAIL,
                                                 "agenda": AGENDA}).status_code == 201


def test_firm_settings_bump_the_notice_version_only_when_the_text_changes(app, db, world, frozen):
    http = app.test_client()
    log_in(http, world.lawyer_a.email)
    form = {"name": "Keller & Partner", "privacy_text_en": "v1 text", "privacy_text_ru": "", "privacy_url": "",
            "consent_required": "on", "retention_days": ""}
    assert post(http, "/admin/firm/settings", form, token_from="/admin/firm/settings").status_code == 302
    assert post(http, "/admin/firm/settings", form, token_from="/admin/firm/settings").status_code == 302
    db.session.expire_all()
    firm = db.session.get(Firm, world.firm1.id)
    assert (firm.privacy_version, firm.consent_required) == (1, True)
    bad = post(http, "/admin/firm/settings", {**form, "privacy_url": "javascript:alert(1)"},
               token_from="/admin/firm/settings")
    assert bad.status_code == 422


# -- export ---------------------------------------------------------------------------


def run_compaction(payload: dict, patience: float = 60) -> None:
    """The worker's compaction task, retried as the outbox would while a transaction older
    than the erasure is open somewhere on the (shared) server."""
    deadline = time.monotonic() + patience
    while True:
        try:
            compaction.compact_task(payload)
            return
        except compaction.ErasureStillVisible:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _booked(client, db, make_client, **params):
    row, token = make_client(name=NAME, email=EMAIL, matter="Merger", **params)
    response = client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": NAME, "email": EMAIL,
                                                     "agenda": AGENDA})
    assert response.status_code == 201, response.get_json()
    booking = db.session.scalar(sa.select(Booking))
    booking.notes = "After the call: send the draft"
    db.session.commit()
    return row, booking


def test_export_archive_holds_the_json_the_calls_as_ics_and_is_audited(client, runner, db, make_client, frozen,
                                                                       tmp_path):
    row, booking = _booked(client, db, make_client)
    out = tmp_path / "client.zip"
    result = runner.invoke(args=["client", "export", "--client", str(row.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("client.json"))
        ics = archive.read(f"calls/{booking.uid}.ics").decode()
    assert names == {"client.json", f"calls/{booking.uid}.ics"}
    assert (data["client"]["name"], data["client"]["email"], data["client"]["matter"]) == (NAME, EMAIL, "Merger")
    (call,) = data["calls"]
    assert (call["agenda"], call["notes"], call["start"]) == (AGENDA, "After the call: send the draft", WED_14)
    assert "booking.booked" in {h["action"] for h in data["history"]}
    assert "BEGIN:VEVENT" in ics and "Hidden merger" in ics
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "client.exported"))
    missing = runner.invoke(args=["client", "export", "--client", "999", "--out", str(out)])
    assert missing.exit_code != 0 and "no client with id 999" in missing.output
    unwritable = runner.invoke(args=["client", "export", "--client", str(row.id), "--out", str(tmp_path / "no/x.zip")])
    assert unwritable.exit_code != 0 and len(unwritable.output.strip().splitlines()) == 1


def test_admin_downloads_the_export(app, db, world, frozen):
    http = app.test_client()
    log_in(http, world.assistant_a.email)
    response = http.get(f"/admin/clients/{world.client_a.id}/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert json.loads(archive.read("client.json"))["client"]["email"] == world.client_a.email


# -- erasure --------------------------------------------------------------------------


def all_stored_text(db) -> str:
    """Every value of every row of every table (encrypted columns decrypted), as one string."""
    db.session.rollback()
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


def raw_database(db) -> bytes:
    """The database as stored: the SQLite file and its WAL; pg_dump of PostgreSQL."""
    url = db.engine.url
    db.session.remove()
    if url.get_backend_name() == "sqlite":
        data = b""
        for suffix in ("", "-wal"):
            try:
                with open(url.database + suffix, "rb") as file:
                    data += file.read()
            except FileNotFoundError:
                pass
        return data
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", dsn], check=True, capture_output=True, timeout=60).stdout


@pytest.mark.db_matrix
def test_erase_leaves_nothing_of_the_client_in_the_database_files_or_outbox(app, client, runner, db, make_client,
                                                                             frozen):
    row, booking = _booked(client, db, make_client)
    row_id = row.id
    db.session.add(Consent(client_id=row.id, firm_id=row.lawyer.firm_id, version=1, language="en",
                           text=f"consent of {NAME}", url="", given_at=NOW))
    db.session.commit()
    assert EMAIL in all_stored_text(db)
    before_pages = None
    if db.engine.dialect.name == "postgresql":
        before_pages = db.session.scalar(sa.text("SELECT pg_relation_filenode('client')"))
    result = runner.invoke(args=["client", "erase", "--client", str(row_id), "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 calls anonymised" in result.output
    if db.engine.dialect.name == "postgresql":  # VACUUM FULL is the worker's, off the request
        (task,) = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == compaction.KIND))
        assert task.due_at == NOW + compaction.COALESCE and isinstance(task.payload["xid"], int)
        run_compaction(task.payload)
        db.session.execute(sa.delete(OutboxTask).where(OutboxTask.kind == compaction.KIND))
        db.session.commit()

    stored = all_stored_text(db)
    raw = raw_database(db)
    for secret in (NAME, EMAIL, AGENDA, "Merger", "send the draft", "Zinaida", "secret.example"):
        assert secret not in stored, secret
        assert secret.encode() not in raw, secret
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1  # the lawyer's counts stay
    erased = db.session.get(Client, row_id)
    assert erased.erased_at == NOW and erased.status == "archived"
    assert db.session.scalar(sa.select(sa.func.count(Consent.id))) == 0
    assert db.session.scalars(sa.select(OutboxTask.kind)).all() == []  # no destination: nothing to delete
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "client.erased"))
    assert (event.subject_id, event.after) == (row_id, {"calls": 1})
    if before_pages is not None:  # VACUUM FULL rewrote the table's file
        assert db.session.scalar(sa.text("SELECT pg_relation_filenode('client')")) != before_pages


def test_sqlite_erasure_zeroes_freed_space_and_empties_the_wal(app, client, db, make_client, frozen):
    """Regression guard: without secure_delete and VACUUM the old rows stay in free pages."""
    row, _booking = _booked(client, db, make_client)
    path = db.engine.url.database
    privacy.erase_client(db.session.get(Client, row.id), NOW)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA freelist_count").fetchone()[0] == 0
    with open(path + "-wal", "rb") as wal:
        assert wal.read() == b""


def test_erase_asks_for_confirmation_on_the_cli(runner, db, make_client):
    row, _ = make_client(name=NAME, email=EMAIL)
    result = runner.invoke(args=["client", "erase", "--client", str(row.id)], input="n\n")
    assert result.exit_code != 0
    db.session.expire_all()
    assert db.session.get(Client, row.id).email == EMAIL
    again = runner.invoke(args=["client", "erase", "--client", str(row.id), "--yes"])
    assert again.exit_code == 0
    twice = runner.invoke(args=["client", "erase", "--client", str(row.id), "--yes"])
    assert twice.exit_code != 0 and "already erased" in twice.output


def test_admin_erase_button_needs_the_name_typed_again(app, db, world, frozen):
    http = app.test_client()
    log_in(http, world.lawyer_a.email)
    url = f"/admin/clients/{world.client_a.id}/erase"
    assert "Zinaida" in http.get(url).get_data(as_text=True)
    assert post(http, url, {"confirm": "someone else"}, token_from=url).status_code == 422
    db.session.expire_all()
    assert db.session.get(Client, world.client_a.id).erased_at is None
    assert post(http, url, {"confirm": world.client_a.name}, token_from=url).status_code == 303
    db.session.expire_all()
    assert db.session.get(Client, world.client_a.id).email == ""
    assert http.get(url).status_code == 404


# -- retention ------------------------------------------------------------------------


def test_retention_preview_then_the_worker_erases_under_a_frozen_clock(app, client, db, world, make_client,
                                                                       frozen, monkeypatch):
    firm = db.session.get(Firm, world.firm1.id)
    firm.retention_days = 365
    db.session.commit()
    old, _ = make_client(lawyer=world.lawyer_b, name="Old Client", email="old@client.example")
    recent, _ = make_client(lawyer=world.lawyer_b, name="Recent Client", email="recent@client.example")
    for row in (old, recent):
        row.created_at = NOW - timedelta(days=800)
    db.session.add(Booking(uid="old-1", lawyer_id=old.lawyer_id, client_id=old.id,
                           start=NOW - timedelta(days=400), end=NOW - timedelta(days=400, minutes=-30),
                           blocked_start=NOW - timedelta(days=400), blocked_end=NOW - timedelta(days=400, minutes=-30),
                           name="Old Client", email="old@client.example", agenda="old matter",
                           manage_token_hash="h-old", manage_token_enc="x"))
    db.session.add(Booking(uid="recent-1", lawyer_id=recent.lawyer_id, client_id=recent.id,
                           start=NOW - timedelta(days=100), end=NOW - timedelta(days=100, minutes=-30),
                           blocked_start=NOW - timedelta(days=100), blocked_end=NOW - timedelta(days=100, minutes=-30),
                           name="Recent Client", email="recent@client.example", agenda="recent matter",
                           manage_token_hash="h-recent", manage_token_enc="y"))
    db.session.commit()
    # world.client_a was created "now" (its booking is ahead): never due.
    http = app.test_client()
    log_in(http, world.lawyer_a.email)
    preview = http.get("/admin/firm/settings").get_data(as_text=True)
    assert f'data-client-id="{old.id}"' in preview
    assert f'data-client-id="{recent.id}"' not in preview and f'data-client-id="{world.client_a.id}"' not in preview

    monkeypatch.setattr(worker, "_retention_checked_at", None)
    monkeypatch.setattr(worker, "sync_due", lambda now: {"synced": 0, "failed": 0})
    assert worker.run_once()["erased"] == 1
    db.session.expire_all()
    assert db.session.get(Client, old.id).erased_at == NOW
    assert db.session.get(Client, recent.id).erased_at is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "client.erased"))
    assert (event.actor_kind, event.actor_label) == ("system", "retention")

    frozen.move_to(NOW + timedelta(days=266))  # the recent client's last call is now 366 days ago
    assert worker.run_once()["erased"] == 1
    db.session.expire_all()
    assert db.session.get(Client, recent.id).erased_at is not None


# -- what calendar events carry -------------------------------------------------------


def test_lawyer_can_keep_the_agenda_out_of_calendar_events(app, client, db, make_client, frozen):
    row, booking = _booked(client, db, make_client)
    full = writeback.events_for(booking, admin_url="http://counsel.test/admin/clients/1")
    assert AGENDA in full[0].description and full[0].attendee_email == EMAIL
    http = app.test_client()
    row.lawyer.password_hash = _hash()
    db.session.commit()
    log_in(http, row.lawyer.email)
    assert post(http, "/admin/privacy", {}, token_from="/admin/privacy").status_code == 302  # unchecked: off
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    events = writeback.events_for(booking)
    assert [e.summary for e in events] == [f"Call: {NAME}", f"Prep: {NAME}"]
    for event in events:
        assert event.description == "" and event.attendee_email is None and event.attendee_name is None
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "lawyer.calendar_agenda"))


def _hash() -> str:
    from werkzeug.security import generate_password_hash

    from tests.admin.conftest import PASSWORD

    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def test_contact_validation_still_applies_with_a_notice(db, make_client, frozen):
    row, _ = make_client()
    _firm_with_notice(db, row.lawyer)
    with pytest.raises(bookings.Refused):
        privacy.consent_for_booking(row.lawyer, "en", None)
    assert privacy.consent_for_booking(row.lawyer, "en", "on").version == 3


def test_erase_leaves_a_task_a_worker_is_running_to_finish(client, db, make_client, frozen):
    """Regression: deleting the row of a task under its worker made the worker crash when
    it recorded the outcome; a leased task is left to finish (on scrubbed data)."""

    row, booking = _booked(client, db, make_client)
    task = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == "mail.booking"))
    lease = NOW + outbox.LEASE
    task.locked_until = lease
    db.session.commit()
    task_id = task.id
    privacy.erase_client(db.session.get(Client, row.id), NOW)
    assert db.session.get(OutboxTask, task_id) is not None
    assert worker.run_once and outbox.run_task(task_id, lease=lease) is True
    assert db.session.scalar(sa.select(sa.func.count(OutboxTask.id))) == 1  # the others are gone


def test_letters_documents_and_requests_are_exported_and_erased_with_the_client(
        app, client, runner, db, make_client, frozen, tmp_path):
    """Regression: the status letters (#15), documents (#14), urgent requests (#15) and
    requests for a change (#13) hold the client's words; export and erasure missed them."""
    from service.storage.models import BookingFile, ChangeRequest, StatusLetter, UrgentRequest
    from service.usecases import readiness

    row, booking = _booked(client, db, make_client)
    db.session.add(StatusLetter(client_id=row.id, lawyer_id=row.lawyer_id, subject="Status",
                                body=f"Dear {NAME}: {AGENDA}", sent_at=NOW))
    db.session.add(UrgentRequest(client_id=row.id, deadline=NOW + timedelta(days=2), reason=AGENDA))
    db.session.add(ChangeRequest(booking_id=booking.id, lawyer_id=row.lawyer_id, message=AGENDA))
    db.session.commit()
    with app.test_request_context():
        document = readiness.add_file(booking, "contract.pdf", PDF_BYTES, NOW)
        stored = readiness.folder() / document.stored_as
    assert stored.exists()

    out = tmp_path / "client.zip"
    assert runner.invoke(args=["client", "export", "--client", str(row.id), "--out", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        letter = next(n for n in names if n.startswith("letters/"))
        assert AGENDA in archive.read(letter).decode()
        (pdf,) = [n for n in names if n.startswith(f"files/{booking.uid}/")]
        assert archive.read(pdf) == PDF_BYTES

    result = runner.invoke(args=["client", "erase", "--client", str(row.id), "--yes"])
    assert result.exit_code == 0, result.output
    for model in (StatusLetter, UrgentRequest, ChangeRequest, BookingFile):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert not stored.exists()


PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
