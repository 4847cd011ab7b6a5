"""Privileged free text (agendas, after-call notes, matters) is encrypted at rest."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade

from service.core import crypto
from service.storage.models import Booking, Client

pytestmark = pytest.mark.db_matrix

WED_14 = "2026-03-04T13:00:00+00:00"
AGENDA = "Settlement offer from Nordbau: accept 40k?"
NOTES = "Client admits the invoice was paid late"
MATTER = "Petrov v. Nordbau GmbH"


def _raw(db, sql: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(sql)]


def _booked(client, db, make_client):
    client_row, token = make_client(matter=MATTER)
    response = client.post("/api/v1/bookings", json={
        "token": token, "start": WED_14, "name": "Boris", "email": "boris@client.example",
        "agenda": AGENDA})
    assert response.status_code == 201, response.get_json()
    booking = db.session.scalar(sa.select(Booking))
    booking.notes = NOTES
    db.session.commit()
    return booking


def test_agenda_notes_and_matter_are_unreadable_in_the_raw_database(client, db, make_client, frozen):
    booking = _booked(client, db, make_client)
    ((agenda, notes),) = _raw(db, "SELECT agenda, notes FROM booking")
    ((matter,),) = _raw(db, "SELECT matter FROM client")
    for stored, plain in ((agenda, AGENDA), (notes, NOTES), (matter, MATTER)):
        assert plain not in stored and stored.startswith("gAAAA")
        assert crypto.decrypt(stored) == plain
    db.session.expire_all()
    assert (booking.agenda, booking.notes, booking.client.matter) == (AGENDA, NOTES, MATTER)


@pytest.mark.sqlite_only
def test_encrypted_text_never_reaches_the_database_file(app, client, db, make_client, frozen):
    """The SQLite file and its WAL, read as bytes, hold no agenda, note or matter."""
    _booked(client, db, make_client)
    path = db.engine.url.database
    db.session.remove()
    db.engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "rb") as file:
        data = file.read()
    for plain in (AGENDA, NOTES, MATTER):
        assert plain.encode() not in data


def test_empty_notes_stay_empty_so_queries_on_them_work(client, db, make_client, frozen):
    _booked(client, db, make_client)
    booking = db.session.scalar(sa.select(Booking))
    booking.notes = ""
    db.session.commit()
    assert _raw(db, "SELECT notes FROM booking") == [("",)]
    assert db.session.scalar(sa.select(sa.func.count()).where(Booking.notes != "")) == 0


def test_secrets_rotate_re_encrypts_agendas_and_notes(app, client, runner, db, make_client, frozen):
    _booked(client, db, make_client)
    old = app.config["ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = f"{new},{old}"
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "booking.agenda 1" in result.output and "booking.notes 1" in result.output
    assert "client.matter 1" in result.output
    app.config["ENCRYPTION_KEY"] = new
    db.session.expire_all()
    booking = db.session.scalar(sa.select(Booking))
    assert (booking.agenda, booking.notes, booking.client.matter) == (AGENDA, NOTES, MATTER)


@pytest.mark.migrations
def test_migration_encrypts_existing_rows_and_downgrade_decrypts_them(app, db):
    downgrade(revision="0007_outcome")
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO lawyer (name, email, timezone, session_version, language, created_at) "
            "VALUES ('A', 'a@x.example', 'UTC', 1, 'en', '2026-01-01 00:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO client (lawyer_id, name, email, matter, language, status, is_new, token_hash, "
            "token_enc, created_at, windows, duration_min, prep_min, buffer_min, notice_hours, "
            "notice_next_working_day, horizon_days, note) VALUES (1, 'B', 'b@x.example', :matter, 'en', "
            "'active', false, 'h', 't', '2026-01-01 00:00:00', 'mon 10:00-12:00', 30, 0, 0, 24, false, 30, '')"),
            {"matter": MATTER})
        connection.execute(sa.text(
            "INSERT INTO booking (uid, lawyer_id, client_id, start, \"end\", blocked_start, blocked_end, "
            "status, name, email, agenda, notes, manage_token_hash, manage_token_enc, sequence, created_at) "
            "VALUES ('u1', 1, 1, '2026-03-04 13:00:00', '2026-03-04 13:30:00', '2026-03-04 13:00:00', "
            "'2026-03-04 13:30:00', 'confirmed', 'B', 'b@x.example', :agenda, :notes, 'mh', 'me', 0, "
            "'2026-01-01 00:00:00')"), {"agenda": AGENDA, "notes": NOTES})
    upgrade()
    ((agenda, notes),) = _raw(db, "SELECT agenda, notes FROM booking")
    assert AGENDA not in agenda and crypto.decrypt(agenda) == AGENDA
    assert crypto.decrypt(notes) == NOTES
    assert db.session.get(Client, 1).matter == MATTER
    db.session.remove()
    downgrade(revision="0007_outcome")
    assert _raw(db, "SELECT agenda, notes FROM booking") == [(AGENDA, NOTES)]
