"""Reserved urgent time through real requests: invisible to ordinary links, bookable by
callback links, released exactly RESERVE_RELEASE_HOURS before it starts (frozen clock, a
DST week), with the slot cache on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from booking import reserve
from booking.windows import parse_windows
from service.storage.extensions import db as _db
from service.usecases import clients as client_cases

pytestmark = pytest.mark.db_matrix

BERLIN = ZoneInfo("Europe/Berlin")
DAY = timedelta(hours=24)

SUNDAY_17 = "2026-03-29T15:00:00+00:00"  # 17:00 CEST, the first Sunday of summer time
RELEASED = datetime(2026, 3, 28, 15, tzinfo=UTC)  # 24 real hours before: Saturday 16:00 CET


def starts(http, token, day="2026-03-29"):
    _db.session.commit()
    response = http.get(f"/api/v1/slots?token={token}&from={day}&to={day}")
    assert response.status_code == 200, response.get_json()
    return [s["start"] for s in response.get_json()["slots"]]


@pytest.fixture
def sunday_practice(db, make_lawyer, make_client):
    lawyer = make_lawyer(reserve_windows="sun 17:00-17:30")
    _client, token = make_client(lawyer=lawyer, windows="sun 16:00-19:00", duration_min=30, prep_min=0,
                                 notice_hours=1, horizon_days=60)
    return lawyer, token


def test_reserve_hidden_from_ordinary_link_until_released_exactly(client, sunday_practice):
    _lawyer, token = sunday_practice
    with freeze_time(RELEASED - timedelta(hours=5)) as clock:
        before = starts(client, token)
        assert SUNDAY_17 not in before and "2026-03-29T14:30:00+00:00" in before
        clock.move_to(RELEASED - timedelta(seconds=1))
        assert SUNDAY_17 not in starts(client, token)  # the cached offer is still right
        clock.move_to(RELEASED)
        assert SUNDAY_17 in starts(client, token)  # released to everyone, the cache notices


def test_callback_link_sees_and_books_the_reserve(client, db, sunday_practice):
    lawyer, token = sunday_practice
    from service.storage.models import Client

    boris = db.session.query(Client).one()
    with freeze_time("2026-03-26 09:00:00"):
        _link, callback = client_cases.create_callback(boris, 72, datetime(2026, 3, 26, 9, tzinfo=UTC))
        db.session.commit()
        assert SUNDAY_17 in starts(client, callback)
        assert SUNDAY_17 not in starts(client, token)
        refused = client.post("/api/v1/bookings", json={"token": token, "start": SUNDAY_17, "name": "B",
                                                        "email": "b@client.example", "agenda": "x"})
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "slot_busy"
        booked = client.post("/api/v1/bookings", json={"token": callback, "start": SUNDAY_17, "name": "B",
                                                       "email": "b@client.example", "agenda": "urgent"})
        assert booked.status_code == 201, booked.get_json()


def test_callback_link_may_book_reserve_outside_the_agreed_windows(client, db, make_lawyer, make_client):
    lawyer = make_lawyer(reserve_windows="tue 17:00-17:30")
    boris, token = make_client(lawyer=lawyer, windows="mon 10:00-12:00", notice_hours=1, prep_min=0)
    with freeze_time("2026-03-02 08:00:00"):
        _link, callback = client_cases.create_callback(boris, 48, datetime(2026, 3, 2, 8, tzinfo=UTC))
        db.session.commit()
        assert starts(client, callback, "2026-03-03") == ["2026-03-03T16:00:00+00:00"]
        assert starts(client, token, "2026-03-03") == []


def test_week_picture_shows_reserves(client, db, make_lawyer):
    from werkzeug.security import generate_password_hash

    from tests.admin.conftest import PASSWORD, log_in

    lawyer = make_lawyer(reserve_windows="tue 17:00-17:30,thu 17:00-17:30",
                         password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    with freeze_time("2026-03-02 08:00:00"):
        assert log_in(client, lawyer.email).status_code == 302
        page = client.get("/admin/week?date=2026-03-02").get_data(as_text=True)
    assert page.count('data-kind="reserve"') == 2
    assert "released to every link Mon 2 Mar" in page  # Tuesday's, 24 h before


@given(st.lists(st.datetimes(min_value=datetime(2026, 3, 20), max_value=datetime(2026, 4, 10),
                             timezones=st.just(UTC)), min_size=1, max_size=20))
def test_memoised_next_release_answers_like_the_domain(instants):
    """Regression guard for the slot cache's memo: any order of reads, the same answers."""
    from service.usecases.slot_cache import _NEXT_RELEASE, next_reserve_release

    _NEXT_RELEASE.clear()
    windows = parse_windows("sun 17:00-17:30,tue 09:00-09:30")
    for now in instants:
        assert next_reserve_release("sun 17:00-17:30,tue 09:00-09:30", BERLIN, now, DAY) == \
            reserve.next_release(windows, BERLIN, now, DAY)
