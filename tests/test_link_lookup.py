"""Resolving a link loads the client, its lawyer, the extra windows and the days off
without joining two collections in one query (``links.with_agreement``); no days off and
no extra windows cost no query for them."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from service.storage.models import DayOff, ExtraWindow
from service.usecases import links
from tests.test_booking_statements import counted

pytestmark = pytest.mark.db_matrix


def test_regression_days_off_and_extra_windows_are_not_read_as_their_product(db, make_client):
    """Both collections were joined into the link's query: a lawyer's 100 runs of days off
    and a client's 10 extra windows came back as 1,000 rows (22 ms instead of 0.3 ms) for
    every page, slot list and booking."""
    client, token = make_client()
    for i in range(100):
        day = date(2021, 3, 3) + timedelta(days=15 * i)
        db.session.add(DayOff(lawyer_id=client.lawyer_id, first_day=day, last_day=day))
    for i in range(10):
        db.session.add(ExtraWindow(client_id=client.id, day=date(2026, 3, 3) + timedelta(days=i),
                                   start=time(9), end=time(10)))
    db.session.commit()
    db.session.expunge_all()
    with counted() as seen:
        found = links.find_client(token)
        assert len(found.lawyer.rules().days_off) == 100 and len(found.agreement().extra_windows) == 10
    assert len(seen.sql) == 3, str(seen)  # the link's query, the days off, the windows
    joined = [" ".join(sql.split()) for sql in seen.sql]
    assert not any("JOIN day_off" in sql and "JOIN extra_window" in sql for sql in joined), str(seen)


def test_no_days_off_and_no_extra_windows_cost_no_query_for_them(db, make_client):
    _, token = make_client()
    db.session.expunge_all()
    with counted() as seen:
        found = links.find_client(token)
        rules, agreement = found.lawyer.rules(), found.agreement()
    assert rules.days_off == frozenset() and agreement.extra_windows == ()
    assert len(seen.sql) == 1, str(seen)


SECRETS = ("client.matter", "password_hash", "letter_template_en", "letter_template_ru", "client.token_enc")


def test_a_booking_reads_no_matter_and_none_of_the_lawyers_secrets(client, db, make_client, frozen, monkeypatch):
    """The booking's link query leaves out what a booking never reads: the matter is
    privileged and decrypted at every read, and the password hash and the letter
    templates have no business in a client's request."""
    from service.storage import encrypted

    booked, token = make_client()
    booked.matter = "Lease dispute with Arbat Estates"
    booked.lawyer.password_hash = "scrypt:not-for-the-public"
    db.session.commit()
    db.session.remove()
    decrypted: list[str] = []
    real = encrypted.decrypt
    monkeypatch.setattr(encrypted, "decrypt", lambda token: decrypted.append(token) or real(token))
    with counted() as seen:
        response = client.post("/api/v1/bookings", json={
            "token": token, "start": "2026-03-04T13:00:00+00:00", "name": "Boris",
            "email": "boris@client.example", "agenda": "Clause 4"})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    selects = [s for s in seen.sql if s.lstrip().upper().startswith("SELECT")]
    assert not [c for c in SECRETS if any(c in s for s in selects)], selects
    assert decrypted == []


def test_the_locking_query_reads_the_matter_when_asked(db, make_client):
    booked, token = make_client()
    booked.matter = "Lease dispute with Arbat Estates"
    db.session.commit()
    db.session.remove()
    assert links.find_client(token, lock=True).matter == "Lease dispute with Arbat Estates"
    db.session.rollback()


def test_regression_a_remembered_agreement_follows_an_edit_of_its_terms(db, make_client):
    """``Client.agreement`` and ``Lawyer.rules`` are remembered per their settings: an
    edit is a new key, never the answer before it."""
    client, _ = make_client(windows="mon 10:00-12:00", duration_min=30)
    first = client.agreement()
    assert client.agreement() is first  # remembered
    client.duration_min, client.windows, client.max_per_week = 45, "tue 09:00-11:00", 2
    edited = client.agreement()
    assert (edited.duration, edited.max_per_week) == (timedelta(minutes=45), 2)
    assert [(w.weekday, w.start) for w in edited.windows] == [(1, time(9))]
    lawyer = client.lawyer
    assert lawyer.rules().days_off == frozenset()
    db.session.add(DayOff(lawyer_id=lawyer.id, first_day=date(2026, 3, 9), last_day=date(2026, 3, 11)))
    db.session.commit()
    db.session.expire(lawyer)
    assert lawyer.rules().days_off == {date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)}
    lawyer.max_per_day, lawyer.timezone = 3, "Asia/Kathmandu"
    assert (lawyer.rules().max_per_day, str(lawyer.rules().timezone)) == (3, "Asia/Kathmandu")
