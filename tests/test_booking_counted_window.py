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
    """The windows of each read of the lawyer's bookings: ``(lawyer's, client's)``, the
    client's None when the read has none (``window_start``/``window_end``,
    ``client_start``/``client_end``)."""
    seen: list[tuple[tuple, tuple | None]] = []

    def read(_conn, _cursor, statement, _parameters, context, _many):
        values = (getattr(context, "compiled_parameters", None) or [{}])[0]
        if "FROM booking" in statement and "window_start" in values:
            client = (values["client_start"], values["client_end"]) if "client_start" in values else None
            seen.append(((values["window_start"], values["window_end"]), client))

    sa.event.listen(db.engine, "before_cursor_execute", read)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", read)


@pytest.fixture
def rows_read(monkeypatch):
    """How many bookings each booking's read of the counted bookings returned."""
    from service.usecases import availability

    counts: list[int] = []
    read = availability.counted_rows

    def counting(client, span):
        rows = read(client, span)
        counts.append(len(rows))
        return rows

    monkeypatch.setattr(availability, "counted_rows", counting)
    return counts


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


def lawyers(windows_read) -> list[timedelta]:
    return [span(lawyer) for lawyer, _ in windows_read]


def clients(windows_read) -> list[timedelta | None]:
    return [None if client is None else span(client) for _, client in windows_read]


def test_with_no_cap_the_booking_reads_none_and_after_a_refusal_only_its_blocked_time(
        client, make_client, windows_read, frozen):
    """With no cap the bookings weigh only as collisions, which the no-overlap guard
    refuses at the INSERT: none are read; when the guard refuses, the booking reads them
    over its blocked time to say why."""
    _, token = make_client(windows=WINDOWS, horizon_days=90)  # 30 min call, 30 min preparation
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read == []
    assert book(client, token, "2026-03-04T13:30:00Z").status_code == 409  # its preparation from 13:00
    assert windows_read and lawyers(windows_read) == [timedelta(hours=1)] * len(windows_read), windows_read
    assert clients(windows_read) == [None] * len(windows_read)


def test_with_no_cap_a_collision_is_still_refused(client, make_client, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201  # 13:00-13:30 UTC
    refused = book(client, token, "2026-03-04T13:30:00Z")  # its preparation from 13:00
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "slot_busy"
    assert "collides with busy time" in error["message"]  # the check's words, not the guard's


def test_with_a_weekly_cap_the_booking_reads_the_clients_own_week(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90, max_per_week=2)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and lawyers(windows_read) == [timedelta(hours=1)] * len(windows_read), windows_read
    assert all(timedelta(days=7) <= c <= timedelta(days=9) for c in clients(windows_read)), windows_read


def test_a_clients_weekly_cap_reads_none_of_the_other_clients_calls_that_week(
        client, make_lawyer, make_client, rows_read, frozen):
    lawyer = make_lawyer()
    wide = "mon 10:00-16:00,wed 10:00-16:00"  # 09:00-15:00 UTC in March
    _, other = make_client(lawyer=lawyer, windows=wide, horizon_days=90, email="vera@client.example")
    _, token = make_client(lawyer=lawyer, windows=wide, horizon_days=90, max_per_week=2)
    for start in ("2026-03-09T09:00:00Z", "2026-03-09T11:00:00Z", "2026-03-11T14:00:00Z"):
        assert book(client, other, start).status_code == 201  # the other client's week
    assert book(client, token, "2026-03-09T09:00:00Z").get_json()["error"]["code"] == "slot_busy"
    assert book(client, token, "2026-03-11T10:00:00Z").status_code == 201
    assert book(client, token, "2026-03-11T12:00:00Z").status_code == 201
    refused = book(client, token, "2026-03-09T13:00:00Z")  # the week's two are booked
    assert refused.get_json()["error"]["code"] == "slot_client_week_limit"
    # the collision's one row, then only the client's own: never the other's three
    assert rows_read[-4:] == [1, 0, 1, 2], rows_read


def test_with_the_lawyers_weekly_cap_the_booking_reads_the_calls_week(
        client, make_lawyer, make_client, windows_read, frozen):
    _, token = make_client(lawyer=make_lawyer(max_per_week=5), windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(timedelta(days=7) <= w <= timedelta(days=9) for w in lawyers(windows_read))
    assert clients(windows_read) == [None] * len(windows_read)


def test_with_the_lawyers_daily_cap_the_booking_reads_the_calls_day(
        client, make_lawyer, make_client, windows_read, frozen):
    _, token = make_client(lawyer=make_lawyer(max_per_day=1), windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(timedelta(days=1) <= w <= timedelta(days=3) for w in lawyers(windows_read))


def test_the_lawyers_daily_cap_counts_another_clients_call_that_day(client, make_lawyer, make_client, frozen):
    lawyer = make_lawyer(max_per_day=1)
    _, first = make_client(lawyer=lawyer, windows=WINDOWS, horizon_days=90)
    _, second = make_client(lawyer=lawyer, windows=WINDOWS, horizon_days=90, email="vera@client.example")
    assert book(client, first, "2026-03-04T13:00:00Z").status_code == 201  # Wed 14:00 Berlin
    refused = book(client, second, "2026-03-04T14:30:00Z")  # the same day, hours apart
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "slot_lawyer_day_limit"
    assert book(client, second, "2026-03-09T09:00:00Z").status_code == 201  # another day


def test_with_a_monthly_cap_the_booking_reads_the_clients_own_month(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90, max_per_month=3)
    assert book(client, token, "2026-03-30T08:00:00Z").status_code == 201
    assert windows_read and lawyers(windows_read) == [timedelta(hours=1)] * len(windows_read), windows_read
    assert all(timedelta(days=31) <= c <= timedelta(days=40) for c in clients(windows_read)), windows_read
