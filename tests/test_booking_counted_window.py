"""A client's booking reads the lawyer's bookings over the call's counted span only (its
week, its month when the agreement caps a month, its blocked time: ``counted_span``), not
over the whole horizon (#19), and the caps still count every booking that matters."""

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


def test_the_booking_reads_the_calls_week_not_the_horizon(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90)
    assert book(client, token, "2026-03-04T13:00:00Z").status_code == 201
    assert windows_read and all(span(w) <= timedelta(days=9) for w in windows_read), windows_read


def test_with_a_monthly_cap_the_booking_reads_the_calls_month(client, make_client, windows_read, frozen):
    _, token = make_client(windows=WINDOWS, horizon_days=90, max_per_month=3)
    assert book(client, token, "2026-03-30T08:00:00Z").status_code == 201  # its week reaches April
    assert windows_read and all(span(w) <= timedelta(days=40) for w in windows_read), windows_read
