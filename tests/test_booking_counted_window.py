"""A client's booking reads the lawyer's bookings over the call's counted span only (its
blocked time, and the period of each cap in force: its week, its day, its month;
``counted_span``), not over the whole horizon (#19), and the caps still count every
booking that matters."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.db_matrix

WINDOWS = "mon 10:00-12:00,wed 14:00-16:00"


def book(client, token, start):
    return client.post("/api/v1/bookings", json={
        "token": token, "start": start, "name": "Boris", "email": "boris@client.example",
        "agenda": "Lease"})


@pytest.fixture
def windows_read(db):
    """The window of each read of the lawyer's bookings (``window_start``/``window_end``)."""
    seen: list[tuple[datetime, datetime]] = []

    def read(_conn, _cursor, statement, _parameters, context, _many):
        values = (getattr(context, "compiled_parameters", None) or [{}])[0]
        if "FROM booking" in statement and "window_start" in values:
            seen.append((values["window_start"], values["window_end"]))

    sa.event.listen(db.engine, "before_cursor_execute", read)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", read)


def span(window: tuple) -> timedelta:
    start, end = (datetime.fromisoformat(v) if isinstance(v, str) else v for v in window)
    return end.replace(tzinfo=None) - start.replace(tzinfo=None)


def test_a_monthly_cap_counts_a_booking_weeks_earlier_in_the_month(client, make_client, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=60, max_per_month=1)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201  # Wed 4 March
    refused = book(client, token, "2026-03-30T08:00:00Z")  # Mon 30 March, same month
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "slot_client_month_limit"
    assert book(client, token, "2026-04-06T08:00:00Z").status_code == 201  # April: free again


def test_a_weekly_cap_counts_the_whole_week(client, make_client, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=60, max_per_week=1)
    assert book(client, token, "2026-03-11T13:00:00Z").status_code == 201  # Wed 11 March
    assert book(client, token, "2026-03-09T09:00:00Z").status_code == 409  # Mon of that week
    assert book(client, token, "2026-03-16T09:00:00Z").status_code == 201  # next Monday


def test_with_no_cap_the_booking_reads_only_its_blocked_time(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90)  # 30 min call, 30 min preparation
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(span(w) == timedelta(hours=1) for w in windows_read), windows_read


def test_with_no_cap_a_collision_is_still_refused(client, make_client, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201  # 13:00-13:30 UTC
    refused = book(client, token, "2026-03-04T13:30:00Z")  # its preparation from 13:00
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "slot_busy"


def test_with_a_weekly_cap_the_booking_reads_the_calls_week(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90, max_per_week=2)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(timedelta(days=7) <= span(w) <= timedelta(days=9)
                                for w in windows_read), windows_read


def test_with_the_lawyers_weekly_cap_the_booking_reads_the_calls_week(
        client, make_lawyer, make_client, windows_read, frozen):
    _, token = make_client(lawyer=make_lawyer(max_per_week=5), windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(timedelta(days=7) <= span(w) <= timedelta(days=9)
                                for w in windows_read), windows_read


def test_with_the_lawyers_daily_cap_the_booking_reads_the_calls_day(
        client, make_lawyer, make_client, windows_read, frozen):
    _, token = make_client(lawyer=make_lawyer(max_per_day=1), windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(timedelta(days=1) <= span(w) <= timedelta(days=3)
                                for w in windows_read), windows_read


def test_the_lawyers_daily_cap_counts_another_clients_call_that_day(client, make_lawyer, make_client, frozen):
    lawyer = make_lawyer(max_per_day=1)
    _, first = make_client(lawyer=lawyer, windows=WINDOWS, horizon_days=90)
    _, second = make_client(lawyer=lawyer, windows=WINDOWS, horizon_days=90, email="vera@client.example")
    assert book(client, first, "2026-03-04T13:00:00Z").status_code == 201  # Wed 14:00 Berlin
    refused = book(client, second, "2026-03-04T14:30:00Z")  # the same day, hours apart
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "slot_lawyer_day_limit"
    assert book(client, second, "2026-03-09T09:00:00Z").status_code == 201  # another day


def test_with_a_monthly_cap_the_booking_reads_the_calls_month(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90, max_per_month=3)
    assert book(client, token, "2026-03-30T08:00:00Z").status_code == 201  # its week reaches April
    assert windows_read and all(timedelta(days=31) <= span(w) <= timedelta(days=40)
                                for w in windows_read), windows_read
