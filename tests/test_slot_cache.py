"""The slot cache: a cached answer is always exactly what a fresh computation answers.

Every change that can alter slots is made in turn (bookings, cancellations, moves, the
calendar mirror, the agreement, the lawyer's days off and caps, time itself), and after
each one the cached slots, the API's fast path and a computation from scratch must agree.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage.extensions import db as _db
from service.storage.models import (
    Booking,
    BusyBlock,
    BusyMerged,
    Calendar,
    CalendarAccount,
    DayOff,
    EmbedOrigin,
    ExtraWindow,
    new_token,
    token_hash,
)
from service.usecases import bookings
from service.usecases.availability import _offer_for as offer_for
from service.usecases.availability import fresh_slots_for, slots_for
from service.usecases.slot_cache import KEYED_ROWS, SlotCache, fast_path_engine, slot_cache
from tests.conftest import NOW

pytestmark = [pytest.mark.db_matrix, pytest.mark.usefixtures("mirror_always_fresh")]

session = _db.session

WINDOWS = "mon 10:00-12:00,wed 14:00-16:00,thu 09:00-10:30,fri 09:00-11:00"


@pytest.fixture(autouse=True)
def no_live_calendar(monkeypatch):
    """Bookings are checked against the mirror only (no calendar server in these tests)."""
    monkeypatch.setattr(bookings, "_live_busy", lambda *args, **kwargs: [])


@pytest.fixture
def practice(db, make_lawyer, make_client):
    """A lawyer with two clients and one conflict calendar holding a few busy blocks."""
    lawyer = make_lawyer()
    first, first_token = make_client(lawyer=lawyer, windows=WINDOWS, step_min=15)
    second, _ = make_client(lawyer=lawyer, name="Clara", email="clara@client.example",
                            windows="wed 13:00-17:00,fri 10:00-12:00", duration_min=60)
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="court.ics", config={})
    db.session.add(account)
    db.session.flush()
    calendar = Calendar(account_id=account.id, lawyer_id=lawyer.id, remote_id="court",
                        name="Court", conflict=True, synced_at=NOW)
    db.session.add(calendar)
    db.session.flush()
    for day, hour in ((4, 14), (9, 10), (13, 9)):
        start = datetime(2026, 3, day, hour, tzinfo=UTC)
        add_busy(db, calendar, start, start + timedelta(hours=1))
    db.session.commit()
    return {"lawyer": lawyer, "clients": [first, second], "token": first_token,
            "calendar": calendar}


def add_busy(db, calendar, start, end):
    db.session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=calendar.lawyer_id,
                             key=new_token(), start=start, end=end))


def bump_sync(calendar):
    calendar.synced_at = calendar.synced_at + timedelta(seconds=1)


def assert_cache_agrees(db, client, now, rng=None, exclude=None):
    """Cached (computed or hit) == fresh, for the whole horizon and for a random range."""
    db.session.commit()  # a fresh snapshot, as each request has
    expected = fresh_slots_for(client, now, exclude_booking_id=exclude)
    for _ in range(2):  # the first read may compute, the second is a hit
        assert slots_for(client, now, exclude_booking_id=exclude) == expected
    if rng is not None:
        start = now + timedelta(hours=rng.randrange(-48, 24 * 40))
        end = start + timedelta(hours=rng.randrange(1, 24 * 20))
        assert slots_for(client, now, start, end, exclude) == fresh_slots_for(
            client, now, start, end, exclude
        )
    return expected


def api_starts(http, token, params=""):
    # Test requests share the test's app context and session; end its transaction, as
    # the end of every real request does, so the request reads the database afresh.
    session.commit()
    response = http.get(f"/api/v1/slots?token={token}{params}")
    assert response.status_code == 200, response.get_json()
    return [slot["start"] for slot in response.get_json()["slots"]]


# --- one change of every kind, in random order ------------------------------------------


def _book(env, rng, now):
    client = rng.choice(env["clients"])
    offered = fresh_slots_for(client, now)
    if offered:
        contact = bookings.Contact("Boris", "boris@client.example", "Clause 4")
        bookings.book(client, rng.choice(offered).start, contact, now)


def _changeable(env, db, now):
    confirmed = db.session.scalars(sa.select(Booking).where(Booking.status == "confirmed"))
    return [b for b in confirmed if now < bookings.change_deadline(b)]


def _cancel(env, rng, now):
    candidates = _changeable(env, env["db"], now)
    if candidates:
        bookings.cancel(rng.choice(candidates), now)


def _reschedule(env, rng, now):
    candidates = _changeable(env, env["db"], now)
    if candidates:
        booking = rng.choice(candidates)
        offered = fresh_slots_for(booking.client, now, exclude_booking_id=booking.id)
        if offered:
            bookings.reschedule(booking, rng.choice(offered).start, now)


def _busy_insert(env, rng, now):
    start = now + timedelta(minutes=15 * rng.randrange(0, 4 * 24 * 35))
    add_busy(env["db"], env["calendar"], start, start + timedelta(minutes=rng.choice([60, 120, 180])))
    bump_sync(env["calendar"])


def _busy_delete(env, rng, now):
    blocks = env["db"].session.scalars(sa.select(BusyBlock)).all()
    if blocks:
        env["db"].session.delete(rng.choice(blocks))
        bump_sync(env["calendar"])


def _busy_move(env, rng, now):
    blocks = env["db"].session.scalars(sa.select(BusyBlock)).all()
    if blocks:
        block = rng.choice(blocks)
        shift = timedelta(minutes=15 * rng.randrange(-8, 9))
        block.start, block.end = block.start + shift, block.end + shift
        bump_sync(env["calendar"])


def _agreement(env, rng, now):
    client = rng.choice(env["clients"])
    field, values = rng.choice([
        ("notice_hours", [0, 12, 24, 48]),
        ("notice_next_working_day", [False, True]),
        ("prep_min", [0, 15, 30, 60]),
        ("buffer_min", [0, 10]),
        ("duration_min", [30, 45, 60]),
        ("step_min", [None, 15, 30]),
        ("max_per_week", [None, 1, 2]),
        ("max_per_month", [None, 2, 5]),
        ("horizon_days", [7, 14, 30]),
        ("windows", [WINDOWS, "mon 10:00-12:00", "tue 08:00-12:00,thu 15:00-18:00"]),
        ("status", ["active", "active", "paused"]),
    ])
    setattr(client, field, rng.choice(values))


def _day_off(env, rng, now):
    db = env["db"]
    existing = db.session.scalars(sa.select(DayOff)).all()
    if existing and rng.random() < 0.3:
        db.session.delete(rng.choice(existing))
    elif existing and rng.random() < 0.3:
        rng.choice(existing).last_day += timedelta(days=1)
    else:
        first = now.date() + timedelta(days=rng.randrange(0, 30))
        db.session.add(DayOff(lawyer_id=env["lawyer"].id, first_day=first,
                              last_day=first + timedelta(days=rng.randrange(0, 3))))


def _extra_window(env, rng, now):
    day = now.date() + timedelta(days=rng.randrange(1, 30))
    env["db"].session.add(ExtraWindow(client_id=env["clients"][0].id, day=day,
                                      start=time(18, 0), end=time(19, 30)))


def _lawyer_caps(env, rng, now):
    lawyer = env["lawyer"]
    lawyer.max_per_day = rng.choice([None, 1, 2])
    lawyer.max_per_week = rng.choice([None, 3, 5])


def _conflict_toggle(env, rng, now):
    env["calendar"].conflict = not env["calendar"].conflict  # no sync: the flag alone


CHANGES = [_book, _book, _cancel, _reschedule, _busy_insert, _busy_delete, _busy_move,
           _agreement, _day_off, _extra_window, _lawyer_caps, _conflict_toggle]


@pytest.mark.parametrize("seed", range(6))
def test_cached_equals_fresh_after_every_change(app, db, practice, client, frozen, seed):
    rng = random.Random(seed)
    env = {**practice, "db": db}
    now = NOW
    for _ in range(45):
        if rng.random() < 0.3:
            now += timedelta(minutes=rng.choice([1, 7, 60, 5 * 60, 24 * 60, 3 * 24 * 60]))
        else:
            rng.choice(CHANGES)(env, rng, now)
        db.session.commit()
        frozen.move_to(now)
        for each in env["clients"]:
            assert_cache_agrees(db, each, now, rng)
        moved = _changeable(env, db, now)
        if moved:  # the manage page's offer, without the booking being moved
            booking = rng.choice(moved)
            assert_cache_agrees(db, booking.client, now, exclude=booking.id)
        expected = [s.start.isoformat() for s in fresh_slots_for(env["clients"][0], now)]
        assert api_starts(client, env["token"]) == expected
        assert api_starts(client, env["token"]) == expected  # the fast path, on a hit
    cache = slot_cache()
    assert cache.hits and cache.misses


# --- "now" moving ---------------------------------------------------------------------


def test_now_passing_a_slots_notice_drops_it_at_once(app, db, practice, client, frozen):
    first_client = practice["clients"][0]
    tuesday = NOW + timedelta(days=1)
    offered = assert_cache_agrees(db, first_client, tuesday)
    first = offered[0]  # Wednesday
    offer = offer_for(first_client, tuesday)
    last_moment = first.start - timedelta(hours=24)  # notice: 24 h
    assert slots_for(first_client, last_moment)[0] == first
    frozen.move_to(last_moment + timedelta(microseconds=1))
    later = last_moment + timedelta(microseconds=1)
    assert slots_for(first_client, later)[0] != first
    assert slots_for(first_client, later) == fresh_slots_for(first_client, later)
    assert first.start.isoformat() not in api_starts(client, practice["token"])
    assert offer_for(first_client, later) is offer  # served from the cache, not recomputed


def test_horizon_end_moves_with_now(app, db, practice, frozen):
    first_client = practice["clients"][0]
    before = assert_cache_agrees(db, first_client, NOW)
    later = NOW + timedelta(hours=12)  # the same Berlin day: the same cached offer
    after = slots_for(first_client, later)
    assert offer_for(first_client, later) is offer_for(first_client, NOW)
    assert after == fresh_slots_for(first_client, later)
    assert after[-1].start > before[-1].start  # new slots at the horizon end


def test_next_working_day_notice_changes_at_local_midnight(app, db, make_client, frozen):
    # Thursday 5 March 2026: preparation day is Friday, calls from Monday 9 March on.
    client, _ = make_client(windows="mon 10:00-12:00,fri 10:00-12:00", notice_hours=0,
                            notice_next_working_day=True)
    berlin_midnight = datetime(2026, 3, 5, 23, 0, tzinfo=UTC)  # Fri 00:00 in Berlin
    thursday_night = berlin_midnight - timedelta(microseconds=1)
    offered = assert_cache_agrees(db, client, thursday_night)
    assert offered[0].start.date() == date(2026, 3, 9)
    friday = assert_cache_agrees(db, client, berlin_midnight)
    # Friday is now today: Monday becomes the preparation day, calls from Tuesday on.
    assert all(slot.start.date() > date(2026, 3, 9) for slot in friday)


# --- another process writing ------------------------------------------------------------


@pytest.fixture
def other_process(app):
    """A second engine on the same database: what another worker or host would write with."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


def test_booking_by_another_process_is_seen_at_the_next_request(
    app, db, practice, client, frozen, other_process
):
    token, first_client = practice["token"], practice["clients"][0]
    before = api_starts(client, token)
    api_starts(client, token)  # cached now
    taken = datetime.fromisoformat(before[0])
    with Session(other_process) as session, session.begin():
        session.add(Booking(
            uid="other-process", lawyer_id=first_client.lawyer_id, client_id=first_client.id,
            start=taken, end=taken + timedelta(minutes=30),
            blocked_start=taken - timedelta(minutes=30), blocked_end=taken + timedelta(minutes=30),
            name="Boris", email="boris@client.example", agenda="x",
            manage_token_hash=token_hash(new_token()), manage_token_enc="x", created_at=NOW,
        ))
    after = api_starts(client, token)
    assert before[0] not in after
    blocked = (taken - timedelta(minutes=30), taken + timedelta(minutes=30))
    assert not [s for s in after
                if blocked[0] < datetime.fromisoformat(s) + timedelta(minutes=30)
                and datetime.fromisoformat(s) - timedelta(minutes=30) < blocked[1]]


def test_calendar_sync_by_another_process_is_seen_at_the_next_request(
    app, db, practice, client, frozen, other_process
):
    token = practice["token"]
    before = api_starts(client, token)
    taken = datetime.fromisoformat(before[-1])
    with Session(other_process) as session, session.begin():
        session.add(BusyBlock(calendar_id=practice["calendar"].id, lawyer_id=practice["lawyer"].id,
                              key="hearing", start=taken, end=taken + timedelta(hours=2)))
        session.get(Calendar, practice["calendar"].id).synced_at = NOW + timedelta(minutes=5)
    assert before[-1] not in api_starts(client, token)
    with Session(other_process) as session, session.begin():
        session.execute(sa.delete(BusyBlock).where(BusyBlock.key == "hearing"))
        session.get(Calendar, practice["calendar"].id).synced_at = NOW + timedelta(minutes=10)
    assert api_starts(client, token) == before


def test_new_busy_row_is_seen_even_without_a_sync_stamp(app, db, practice, client, frozen,
                                                        other_process):
    """A row added by another process moves its calendar's mirror_version."""
    token = practice["token"]
    before = api_starts(client, token)
    taken = datetime.fromisoformat(before[0])
    with Session(other_process) as session, session.begin():
        session.add(BusyBlock(calendar_id=practice["calendar"].id, lawyer_id=practice["lawyer"].id,
                              key="call", start=taken, end=taken + timedelta(hours=1)))
    assert before[0] not in api_starts(client, token)


def _orm_add(session, calendar, lawyer, taken):
    session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=lawyer.id, key="x",
                          start=taken, end=taken + timedelta(hours=1)))


def _bulk_insert(session, calendar, lawyer, taken):
    session.execute(sa.insert(BusyBlock), [dict(calendar_id=calendar.id, lawyer_id=lawyer.id,
                                                key="x", start=taken,
                                                end=taken + timedelta(hours=1))])


def _orm_move_in_place(session, calendar, lawyer, taken):
    row = session.scalars(sa.select(BusyBlock).where(BusyBlock.calendar_id == calendar.id)
                          .order_by(BusyBlock.id)).first()
    row.start, row.end = taken, taken + timedelta(hours=1)


def _bulk_move_in_place(session, calendar, lawyer, taken):
    first = session.scalar(sa.select(sa.func.min(BusyBlock.id))
                           .where(BusyBlock.calendar_id == calendar.id))
    session.execute(sa.update(BusyBlock).where(BusyBlock.id == first)
                    .values(start=taken, end=taken + timedelta(hours=1)))


@pytest.mark.parametrize("write", [_orm_add, _bulk_insert, _orm_move_in_place, _bulk_move_in_place],
                         ids=["orm-add", "bulk-insert", "orm-update", "bulk-update"])
def test_busy_row_written_without_a_sync_stamp_is_seen(app, db, practice, client, frozen,
                                                       other_process, write):
    """Regression: the cache relied on whoever writes busy rows also moving synced_at; a
    row changed in place without it kept a now-busy slot offered. The session itself
    moves the calendar's mirror_version for every way of writing rows."""
    token, calendar, lawyer = practice["token"], practice["calendar"], practice["lawyer"]
    before = api_starts(client, token)
    taken = datetime.fromisoformat(before[0])
    with Session(other_process) as session, session.begin():
        write(session, session.get(Calendar, calendar.id), lawyer, taken)
    assert before[0] not in api_starts(client, token)


@pytest.mark.parametrize("bulk", [False, True], ids=["orm-delete", "bulk-delete"])
def test_busy_row_deleted_without_a_sync_stamp_frees_its_time(app, db, practice, client, frozen,
                                                              other_process, bulk):
    token, calendar = practice["token"], practice["calendar"]
    with Session(other_process) as session, session.begin():
        session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=calendar.lawyer_id,
                              key="hearing", start=NOW, end=NOW + timedelta(days=60)))
    assert api_starts(client, token) == []  # the hearing blocks the whole horizon
    with Session(other_process) as session, session.begin():
        if bulk:
            session.execute(sa.delete(BusyBlock).where(BusyBlock.key == "hearing"))
        else:
            session.delete(session.scalar(sa.select(BusyBlock).where(BusyBlock.key == "hearing")))
    assert api_starts(client, token)


def test_rows_inserted_or_moved_by_statement_values_move_both_calendars(db, practice):
    """Calendars named in a statement's own VALUES/SET count as written, and a row moved
    to another calendar moves the versions of both."""
    first = practice["calendar"]
    second = Calendar(account_id=first.account_id, lawyer_id=first.lawyer_id, remote_id="home",
                      name="Home", conflict=True, synced_at=NOW)
    db.session.add(second)
    db.session.commit()
    before = (first.mirror_version, second.mirror_version)
    db.session.execute(sa.insert(BusyBlock).values(calendar_id=second.id, lawyer_id=second.lawyer_id,
                                                   key="v", start=NOW, end=NOW + timedelta(hours=1)))
    db.session.commit()
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.mirror_version, second.mirror_version) == (before[0], before[1] + 1)
    db.session.execute(sa.update(BusyBlock).where(BusyBlock.calendar_id == first.id)
                       .values(calendar_id=second.id))
    db.session.commit()
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.mirror_version, second.mirror_version) == (before[0] + 1, before[1] + 2)


def test_every_busy_write_moves_the_mirror_version(db, practice):
    calendar = practice["calendar"]
    versions = [calendar.mirror_version]
    for write in (
        lambda: add_busy(db, calendar, NOW, NOW + timedelta(hours=1)),
        lambda: db.session.execute(sa.update(BusyBlock).where(BusyBlock.calendar_id == calendar.id)
                                   .values(key="k")),
        lambda: db.session.execute(sa.delete(BusyBlock).where(BusyBlock.key == "k")),
    ):
        write()
        db.session.commit()
        db.session.refresh(calendar)
        versions.append(calendar.mirror_version)
    assert versions == sorted(set(versions)) and len(versions) == 4
    db.session.execute(sa.delete(BusyBlock).where(BusyBlock.key == "nothing-matches"))
    db.session.commit()
    db.session.refresh(calendar)
    assert calendar.mirror_version == versions[-1]  # touching no row moves nothing


def test_second_calendar_of_a_sync_round_is_seen(app, db, practice, client, frozen):
    """A sync round stamps every calendar with the same instant; the calendar applied
    second changes the mirror without moving the latest stamp, and still counts."""
    token, first = practice["token"], practice["calendar"]
    second = Calendar(account_id=first.account_id, lawyer_id=first.lawyer_id, remote_id="home",
                      name="Home", conflict=True, synced_at=NOW)
    db.session.add(second)
    db.session.flush()
    before = api_starts(client, token)
    taken = datetime.fromisoformat(before[0])
    add_busy(db, second, taken, taken + timedelta(hours=1))
    db.session.flush()
    far = NOW + timedelta(days=400)  # a later row elsewhere: the highest id stays put below
    add_busy(db, first, far, far + timedelta(hours=1))
    assert before[0] not in api_starts(client, token)
    round_started = NOW + timedelta(minutes=5)
    first.synced_at = round_started  # the first calendar is applied: nothing changed
    assert before[0] not in api_starts(client, token)
    db.session.execute(sa.delete(BusyBlock).where(BusyBlock.calendar_id == second.id))
    second.synced_at = round_started  # the second one: its event is gone
    assert api_starts(client, token) == before


# --- the pieces -------------------------------------------------------------------------


def test_keyed_rows_cover_every_column_that_matters():
    """A new column on these tables must be added to the key (or declared inert here)."""
    inert = {
        DayOff: {"id", "lawyer_id", "note"},
        ExtraWindow: {"id", "client_id"},
        # Which rows a calendar has is what matters (mirror_version moves with them);
        # synced_at is freshness, read by the same query outside the key (trusted_until).
        Calendar: {"account_id", "lawyer_id", "remote_id", "name", "write_to", "sync_state",
                   "last_error", "synced_at", "read_warnings"},
    }
    for model, columns in KEYED_ROWS.items():
        assert set(model.__table__.c.keys()) == set(columns) | inert[model]


def test_paused_client_gets_no_slots_and_archived_link_is_404(app, db, practice, client, frozen):
    token, first_client = practice["token"], practice["clients"][0]
    assert api_starts(client, token)
    first_client.status = "paused"
    db.session.commit()
    assert api_starts(client, token) == []
    first_client.status = "archived"
    db.session.commit()
    assert client.get(f"/api/v1/slots?token={token}").status_code == 404


def test_api_range_and_zone_match_the_engine(app, db, practice, client, frozen):
    token, first_client = practice["token"], practice["clients"][0]
    api_starts(client, token)  # cache the offer
    body = client.get(f"/api/v1/slots?token={token}&from=2026-03-09&to=2026-03-12"
                      "&tz=Asia/Kolkata").get_json()
    from zoneinfo import ZoneInfo

    kolkata = ZoneInfo("Asia/Kolkata")
    expected = fresh_slots_for(first_client, NOW, datetime(2026, 3, 9, tzinfo=kolkata),
                               datetime(2026, 3, 13, tzinfo=kolkata))
    assert body["slots"] == [
        {"start": s.start.astimezone(kolkata).isoformat(),
         "end": s.end.astimezone(kolkata).isoformat()} for s in expected
    ]


def test_fast_path_reads_on_the_pools_connections(app, db, practice, client, frozen):
    """A cache hit reads its one query on a connection checked out of a pool (the fast
    path's own autocommit pool) and gives it back: no connection lives outside a pool."""
    token = practice["token"]
    expected = api_starts(client, token)
    pool_engine = fast_path_engine(db.engine)
    events = []

    def checkout(*_args):
        events.append("out")

    def checkin(*_args):
        events.append("in")

    sa.event.listen(pool_engine, "checkout", checkout)
    sa.event.listen(pool_engine, "checkin", checkin)
    try:
        hits = slot_cache().hits
        assert api_starts(client, token) == expected
    finally:
        sa.event.remove(pool_engine, "checkout", checkout)
        sa.event.remove(pool_engine, "checkin", checkin)
    assert slot_cache().hits == hits + 1
    assert events.count("out") == 1  # the hit read on one connection out of the pool
    db.session.remove()
    assert db.engine.pool.checkedout() == 0 and pool_engine.pool.checkedout() == 0


def test_dead_fast_path_connection_is_answered_the_ordinary_way(app, db, practice, client,
                                                                frozen, caplog):
    """When the server has dropped the fast path's connections (a restart), the request is
    still answered, and the next one reads on a new connection."""
    token = practice["token"]
    expected = api_starts(client, token)
    assert api_starts(client, token) == expected  # a hit: the pool now holds a connection
    pool_engine = fast_path_engine(db.engine)
    if db.engine.dialect.name == "postgresql":
        with pool_engine.connect() as conn:
            mine = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with db.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(mine)})")
    else:
        pool_engine.pool.dispose()  # SQLite has no server: a pool emptied stands in for it
    assert api_starts(client, token) == expected
    failed = [r for r in caplog.records if "fast path failed" in r.getMessage()]
    assert len(failed) == (1 if db.engine.dialect.name == "postgresql" else 0)
    assert api_starts(client, token) == expected
    assert len([r for r in caplog.records if "fast path failed" in r.getMessage()]) == len(failed)


def test_cors_headers_on_a_cache_hit(app, db, practice, client, frozen):
    """The fast path skips the ORM link lookup; the CORS decision still knows the lawyer."""
    site = "https://anna-keller.example"
    practice["lawyer"].embed_origins.append(EmbedOrigin(origin=site))
    db.session.commit()
    token = practice["token"]
    url = f"/api/v1/slots?token={token}"
    for _ in range(2):  # a miss, then a hit
        session.commit()
        assert client.get(url, headers={"Origin": site}).headers["Access-Control-Allow-Origin"] == site
        session.commit()
        assert "Access-Control-Allow-Origin" not in client.get(
            url, headers={"Origin": "https://evil.example"}).headers
    session.commit()
    bad = client.get(url + "&from=nope", headers={"Origin": site})
    assert bad.status_code == 422 and bad.headers["Access-Control-Allow-Origin"] == site


def test_lru_is_bounded_by_entries_and_by_slots():
    from service.usecases.slot_cache import Offer

    def offer(count):
        return Offer(slots=[object()] * count, starts=[], lawyer_id=1, timezone=None, notice=timedelta(0),
                     horizon=timedelta(0), computed_at=NOW)

    cache = SlotCache(max_entries=3, max_slots=10)
    for key in "abc":
        cache.put(key, offer(2))
    assert cache.get("a") is not None  # now the most recently used
    cache.put("d", offer(2))
    assert cache.get("b") is None and len(cache) == 3
    cache.put("e", offer(7))
    assert len(cache) == 2 and cache.get("e") is not None and cache.get("d") is not None


def test_cache_is_sized_by_its_settings(app):
    """SLOT_CACHE_ENTRIES / SLOT_CACHE_SLOTS size each process's cache (#19: 256 entries
    made a second pass over 2,000 clients all misses)."""
    app.config.update(SLOT_CACHE_ENTRIES=5000, SLOT_CACHE_SLOTS=123_456)
    app.extensions.pop("slot_cache", None)
    with app.app_context():
        cache = slot_cache()
        assert (cache.max_entries, cache.max_slots) == (5000, 123_456)
        assert slot_cache() is cache


def test_clients_of_a_lawyer_share_one_busy_list(app, db, practice, frozen, monkeypatch):
    """#19: each client of a lawyer read the same busy rows again. One list per lawyer and
    state of the mirror now serves every client; a change of the mirror reads it anew."""
    from service.usecases.slot_cache import busy_lists

    first, second = practice["clients"]
    lists = busy_lists()
    lists.clear()
    loads = lists.loads
    assert_cache_agrees(db, first, NOW)
    assert_cache_agrees(db, second, NOW)
    assert lists.loads == loads + 1
    hearing = datetime(2026, 3, 11, 13, tzinfo=UTC)
    add_busy(db, practice["calendar"], hearing, hearing + timedelta(hours=3))
    assert_cache_agrees(db, first, NOW)
    assert_cache_agrees(db, second, NOW)
    assert lists.loads == loads + 2
    # The list held is the lawyer's whole merged busy time: time moving on reads nothing.
    get, spans = lists.get, []
    monkeypatch.setattr(lists, "get", lambda key, window, load, whole: get(
        key, window, lambda span: spans.append(span) or load(span), whole))
    assert_cache_agrees(db, first, NOW + timedelta(hours=30))
    assert spans == [] and lists.loads == loads + 2
    # Without a current merged form, the rows of the range read; time moving on reads only
    # the rows beyond what was read, once for both clients.
    db.session.commit()
    with db.engine.begin() as connection:
        connection.execute(sa.update(BusyMerged.__table__).values(stamp=None))
    lists.clear()
    slot_cache().clear()
    assert_cache_agrees(db, first, NOW)
    assert spans
    spans.clear()
    held = next(iter(lists._entries.values())).span
    assert_cache_agrees(db, first, NOW + timedelta(hours=30))
    assert_cache_agrees(db, second, NOW + timedelta(hours=30))
    assert len(spans) == 1 and spans[0].start == held.end
    assert spans[0].end - spans[0].start < timedelta(days=3)


def test_busy_list_answers_exactly_the_window_asked():
    from booking.intervals import Interval
    from service.usecases.slot_cache import BusyList

    def at(hour):
        return datetime(2026, 3, 2, hour, tzinfo=UTC)

    merged = [Interval(at(1), at(2)), Interval(at(4), at(6)), Interval(at(8), at(9))]
    held = BusyList.of(Interval(at(0), at(12)), merged)
    assert held.within(Interval(at(2), at(4))) == []  # touching ends do not overlap
    assert held.within(Interval(at(5), at(8))) == [merged[1]]
    assert held.within(Interval(at(0), at(12))) == merged
    assert held.covers(Interval(at(0), at(12))) and not held.covers(Interval(at(0), at(13)))
