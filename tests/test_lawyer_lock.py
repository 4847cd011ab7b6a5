"""A client's booking takes the lawyer's booking lock with the query that finds its link
(``links.find_client(lock=True)``, ``service.storage.lawyer_lock``): one statement fewer
per booking (#19), the same serialisation as a lock taken in the booking's transaction."""

from __future__ import annotations

import threading

import psycopg
import pytest
import sqlalchemy as sa

from service.storage import lawyer_lock
from service.usecases import links
from tests.test_booking_statements import CONTACT, SLOT, counted
from tests.test_live_check_feed import CountingFeed, connect_synced_feed

pytestmark = [pytest.mark.db_matrix, pytest.mark.postgres_only]


def locking(seen) -> list[str]:
    return [s for s in seen.sql if "FOR UPDATE" in s]


def book(client, token, start=SLOT):
    return client.post("/api/v1/bookings", json={"token": token, "start": start, **CONTACT})


def test_the_links_query_takes_the_lock_and_the_booking_takes_none_again(client, make_client, frozen, db):
    _, token = make_client()
    db.session.remove()
    with counted() as seen:
        assert book(client, token).status_code == 201
    assert len(locking(seen)) == 1, str(seen)
    first = seen.sql[0]
    assert "FOR UPDATE OF lawyer" in first and "nextval" in first and "client.token_hash" in first


def test_with_a_live_check_the_lock_is_taken_again_after_the_calendar_was_asked(client, make_client, frozen, db):
    """The read transaction ends before the calendar server is asked (no lock is held over
    a network call), so the booking's transaction locks anew."""
    feed = CountingFeed()
    try:
        booked, token = make_client()
        connect_synced_feed(db, booked.lawyer, feed)
        db.session.remove()
        with counted() as seen:
            assert book(client, token).status_code == 201
        assert feed.not_modified == 1  # the live check asked
        assert len(locking(seen)) == 2, str(seen)
    finally:
        feed.close()


def test_a_booking_waits_for_the_lawyers_lock_held_elsewhere(app, client, make_client, frozen, db, db_url):
    """The link's query blocks while another transaction holds the lawyer's row, and books
    once it is released (what serialises the cadence and the caps)."""
    booked, token = make_client()
    lawyer_id = booked.lawyer_id
    db.session.remove()
    url = sa.engine.make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    holder = psycopg.connect(url)
    holder.execute("SELECT id FROM lawyer WHERE id = %s FOR UPDATE", (lawyer_id,))
    answers: list[int] = []

    def request() -> None:
        answers.append(book(app.test_client(), token).status_code)

    thread = threading.Thread(target=request)
    thread.start()
    try:
        thread.join(1.0)
        assert thread.is_alive() and not answers  # waiting on the lock
    finally:
        holder.rollback()
        holder.close()
    thread.join(30)
    assert answers == [201]


def test_a_paused_client_is_refused_under_the_lock(client, make_client, frozen, db):
    booked, token = make_client()
    booked.status = "paused"
    db.session.commit()
    db.session.remove()
    response = book(client, token)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"]["code"] == "unknown_client"


def test_a_deactivated_lawyer_takes_no_booking_through_the_locking_query(client, make_client, frozen, db):
    booked, token = make_client()
    booked.lawyer.active = False
    db.session.commit()
    db.session.remove()
    response = book(client, token)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"]["code"] == "unknown_client"
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("booking")))


def test_the_note_holds_for_its_transaction_and_lawyer_only_and_once(make_client, db):
    booked, token = make_client()
    db.session.remove()
    client = links.find_client(token, lock=True)
    assert lawyer_lock.held(client.lawyer_id + 1) is None  # another lawyer: and the note is spent
    links.find_client(token, lock=True)
    key = lawyer_lock.held(client.lawyer_id)
    assert isinstance(key, int)
    assert lawyer_lock.held(client.lawyer_id) is None  # handed out once
    links.find_client(token, lock=True)
    db.session.commit()  # the lock is released with its transaction
    assert lawyer_lock.held(client.lawyer_id) is None


def test_regression_the_locking_query_reads_afresh_what_the_session_had_loaded(make_client, db):
    """populate_existing: a status read earlier in the session is replaced by the one read
    under the lock."""
    booked, token = make_client()
    db.session.remove()
    first = links.find_client(token)
    assert first.status == "active"
    db.session.commit()
    with db.engine.begin() as other:
        other.execute(sa.text("UPDATE client SET status = 'archived' WHERE id = :id"), {"id": first.id})
    assert links.find_client(token, lock=True).status == "archived"
    db.session.rollback()
