"""Property tests: whatever the data, offered slots obey every rule, checked by brute force."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.availability import SlotRefused, check_shape, check_start, counted_span, free_slots
from booking.intervals import Interval
from booking.model import Agreement, BookedCall, DateWindow, LawyerRules, Slot, Window

ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Berlin",
        "America/New_York",
        "Europe/Moscow",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Australia/Lord_Howe",
        "America/Santiago",
        "UTC",
    )
]
# Days around the 2026 DST changes of the zones above, and a quiet one.
AROUND = [
    date(2026, 3, 5),
    date(2026, 3, 26),
    date(2026, 4, 2),
    date(2026, 9, 3),
    date(2026, 10, 1),
    date(2026, 10, 22),
    date(2026, 10, 29),
    date(2026, 6, 10),
]
MINUTES = st.sampled_from([0, 5, 10, 15, 20, 30, 45, 60, 90])
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Scenario:
    agreement: Agreement
    lawyer: LawyerRules
    now: datetime
    busy: list[Interval]
    bookings: list[BookedCall]

    def free(self, **kw) -> list:
        kw = {"busy": self.busy, "bookings": self.bookings} | kw
        return free_slots(self.agreement, self.lawyer, client="me", now=self.now, **kw)

    def check(self, start: datetime):
        return check_start(
            self.agreement,
            self.lawyer,
            client="me",
            now=self.now,
            busy=self.busy,
            bookings=self.bookings,
            start=start,
        )


def wall(minutes: int) -> time:
    return time(*divmod(minutes, 60))


@st.composite
def windows(draw) -> tuple[Window, ...]:
    out = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1, max_size=4)):
        edges = sorted(draw(st.sets(st.integers(0, 24 * 4 - 1), min_size=2, max_size=4)))
        for start, end in zip(edges[::2], edges[1::2], strict=False):
            out.append(Window(weekday, wall(start * 15), wall(end * 15)))
    return tuple(out)


@st.composite
def scenarios(draw) -> Scenario:
    tz = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(AROUND))
    now = datetime.combine(base, time(), tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 3 * 24 * 60))
    )
    horizon = draw(st.integers(1, 12))
    duration = timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90])))
    days = [now.date() + timedelta(days=n) for n in range(-1, horizon + 2)]
    extra = tuple(
        DateWindow(day, wall(a * 15), wall(b * 15))
        for day, a, b in draw(
            st.lists(
                st.tuples(st.sampled_from(days), st.integers(0, 40), st.integers(41, 95)),
                max_size=2,
            )
        )
    )
    agreement = Agreement(
        windows=draw(windows()),
        duration=duration,
        prep=timedelta(minutes=draw(MINUTES)),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 5, 10, 15]))),
        notice=timedelta(minutes=draw(st.sampled_from([0, 30, 60 * 24, 60 * 50]))),
        notice_next_working_day=draw(st.booleans()),
        horizon_days=horizon,
        max_per_week=draw(st.none() | st.integers(0, 3)),
        max_per_month=draw(st.none() | st.integers(0, 4)),
        step=draw(st.none() | st.sampled_from([timedelta(minutes=m) for m in (10, 15, 20, 25)])),
        extra_windows=extra,
    )
    lawyer = LawyerRules(
        timezone=tz,
        days_off=frozenset(draw(st.sets(st.sampled_from(days), max_size=3))),
        max_per_day=draw(st.none() | st.integers(1, 3)),
        max_per_week=draw(st.none() | st.integers(1, 6)),
        working_days=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
    )
    span = (horizon + 3) * 24 * 60
    start_of = now - timedelta(days=1)

    def instant(minute: int) -> datetime:
        moment = start_of + timedelta(minutes=minute)
        # Busy time arrives in all kinds of zones; it is compared as instants.
        return moment.astimezone(tz) if minute % 2 else moment

    busy = [
        Interval(instant(m), instant(m) + timedelta(minutes=length))
        for m, length in draw(
            st.lists(
                st.tuples(st.integers(0, span), st.integers(5, 6 * 60)),
                max_size=25,
            )
        )
    ]
    bookings = []
    for m, client, prep in draw(
        st.lists(
            st.tuples(st.integers(0, span // 15), st.sampled_from(["me", "other"]), MINUTES),
            max_size=6,
        )
    ):
        begins = instant(m * 15)
        bookings.append(
            BookedCall(
                start=begins,
                end=begins + duration,
                blocked=Interval(begins - timedelta(minutes=prep), begins + duration),
                client=client,
            )
        )
    return Scenario(agreement, lawyer, now, busy, bookings)


def local_wall(moment: datetime, tz: ZoneInfo) -> tuple[date, time]:
    local = moment.astimezone(tz)
    return local.date(), local.time().replace(tzinfo=None)


def inside_a_window(s: Scenario, start: datetime, end: datetime) -> bool:
    """Brute force: the call's wall-clock start and end lie in one window of its date."""
    tz = s.lawyer.timezone
    day, first = local_wall(start, tz)
    end_day, last = local_wall(end, tz)
    walls = [(w.start, w.end) for w in s.agreement.windows if w.weekday == day.weekday()]
    walls += [(x.start, x.end) for x in s.agreement.extra_windows if x.day == day]
    return end_day == day and any(a <= first and last <= b for a, b in walls)


@SETTINGS
@given(scenarios())
def test_offered_slots_obey_every_rule(s: Scenario):
    slots = s.free()
    tz = s.lawyer.timezone
    blocks = s.busy + [b.blocked for b in s.bookings]
    assert slots == sorted(slots) and len({x.start for x in slots}) == len(slots)
    for slot in slots:
        assert slot.start.tzinfo is UTC
        assert slot.end - slot.start == s.agreement.duration
        blocked = s.agreement.blocked(slot.start)
        assert (slot.prep_start, slot.blocked_end) == tuple(blocked)
        assert not any(blocked.overlaps(b) for b in blocks)
        assert inside_a_window(s, slot.start, slot.end)
        assert s.now + s.agreement.notice <= slot.start
        assert slot.start < s.now + timedelta(days=s.agreement.horizon_days)
        assert slot.start.astimezone(tz).date() not in s.lawyer.days_off
        mine = [b for b in s.bookings if b.client == "me"]
        if s.agreement.max_per_week is not None:
            week = slot.start.astimezone(tz).isocalendar()[:2]
            same_week = [b for b in mine if b.start.astimezone(tz).isocalendar()[:2] == week]
            assert len(same_week) < s.agreement.max_per_week
        if s.lawyer.max_per_day is not None:
            day = slot.start.astimezone(tz).date()
            same_day = [b for b in s.bookings if b.start.astimezone(tz).date() == day]
            assert len(same_day) < s.lawyer.max_per_day


@SETTINGS
@given(scenarios(), st.data())
def test_adding_busy_time_never_adds_a_slot(s: Scenario, data):
    before = {x.start for x in s.free()}
    start = data.draw(st.sampled_from(sorted(before))) if before else s.now
    extra = Interval(
        start - timedelta(minutes=data.draw(st.integers(-60, 60))),
        start + timedelta(minutes=data.draw(st.integers(1, 240))),
    )
    after = {x.start for x in s.free(busy=[*s.busy, extra])}
    assert after <= before
    booking = BookedCall(start=extra.start, end=extra.end, blocked=extra, client="other")
    assert {x.start for x in s.free(bookings=[*s.bookings, booking])} <= before


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(s: Scenario, rnd):
    busy, bookings = list(s.busy), list(s.bookings)
    rnd.shuffle(busy)
    rnd.shuffle(bookings)
    windows = list(s.agreement.windows)
    rnd.shuffle(windows)
    shuffled = replace(s.agreement, windows=tuple(windows))
    expected = s.free()
    assert (
        free_slots(
            shuffled, s.lawyer, client="me", now=s.now, busy=iter(busy), bookings=iter(bookings)
        )
        == expected
    )
    assert s.free(busy=busy[::-1], bookings=bookings[::-1]) == expected


@SETTINGS
@given(scenarios(), st.data())
def test_a_range_is_a_filter_of_the_whole(s: Scenario, data):
    whole = s.free()
    horizon = s.agreement.horizon_days * 24 * 60
    a, b = sorted(data.draw(st.lists(st.integers(-600, horizon + 600), min_size=2, max_size=2)))
    start, end = s.now + timedelta(minutes=a), s.now + timedelta(minutes=b)
    assert s.free(start=start, end=end) == [x for x in whole if start <= x.start < end]


def grid(s: Scenario) -> list[datetime]:
    """Every start on a window's step grid, whatever is busy or booked."""
    relaxed = replace(
        s.agreement,
        notice=timedelta(0),
        notice_next_working_day=False,
        max_per_week=None,
        max_per_month=None,
        horizon_days=s.agreement.horizon_days + 1,
    )
    lawyer = LawyerRules(timezone=s.lawyer.timezone)
    return [x.start for x in free_slots(relaxed, lawyer, client="me", now=s.now)]


@SETTINGS
@given(scenarios(), st.lists(st.integers(-24 * 60, 14 * 24 * 60), max_size=10))
def test_free_slots_and_check_start_agree(s: Scenario, offsets):
    offered = {x.start: x for x in s.free()}
    tz = s.lawyer.timezone
    candidates = set(offered) | set(grid(s))
    candidates |= {s.now + timedelta(minutes=m) for m in offsets}
    candidates |= {c + timedelta(minutes=5) for c in list(candidates)[:20]}
    blocks = s.busy + [b.blocked for b in s.bookings]
    for start in candidates:
        try:
            slot = s.check(start.astimezone(tz))
        except SlotRefused as refused:
            assert start not in offered, refused
            reason = refused.reason
            if reason == "busy":
                blocked = s.agreement.blocked(start)
                assert any(blocked.overlaps(b) for b in blocks)
            elif reason == "day_off":
                assert start.astimezone(tz).date() in s.lawyer.days_off
            elif reason == "past":
                assert start < s.now
            elif reason == "outside_windows":
                assert not inside_a_window(s, start, start + s.agreement.duration)
        else:
            assert offered.get(start) == slot, start


def outcome(s: Scenario, start: datetime, bookings: list[BookedCall]) -> object:
    try:
        return check_start(s.agreement, s.lawyer, client="me", now=s.now, busy=s.busy,
                           bookings=bookings, start=start)
    except SlotRefused as refused:
        return refused.reason


@SETTINGS
@given(scenarios(), st.data())
def test_check_start_needs_only_the_bookings_over_its_counted_span(s: Scenario, data):
    """``counted_span``: the bookings it does not weigh (another client's outside its
    lawyer's part, the client's own outside both parts) never change what ``check_start``
    says (a booking reads only the others, #19). Bookings of the client and of another
    spread over months on both sides, with every cap drawn, the starts offered and a grid
    of others."""
    tz = s.lawyer.timezone
    far = [
        BookedCall(start=moment, end=moment + s.agreement.duration,
                   blocked=Interval(moment - timedelta(minutes=prep), moment + s.agreement.duration),
                   client=client)
        for moment, client, prep in (
            (s.now + timedelta(minutes=15 * m), client, prep)
            for m, client, prep in data.draw(st.lists(
                st.tuples(st.integers(-60 * 96, 60 * 96), st.sampled_from(["me", "other"]), MINUTES),
                max_size=40)))
    ]
    bookings = s.bookings + far
    candidates = [x.start for x in s.free(bookings=bookings)][:15] + grid(s)[:25]
    for start in candidates:
        start = start.astimezone(tz)
        span = counted_span(s.agreement, s.lawyer, start)
        inside = [b for b in bookings if span.weighs(b, "me")]
        assert outcome(s, start, inside) == outcome(s, start, bookings), start


@SETTINGS
@given(scenarios())
def test_with_no_cap_the_bookings_matter_only_as_collisions(s: Scenario):
    """``CountedSpan.caps`` False (no cap of the agreement's or the lawyer's in force): a
    check without the bookings says what the check with them says, unless a booking's
    blocked time overlaps the call's, and then the check with them says "busy". So a
    booking may skip reading them and leave collisions to the no-overlap guard on held
    time, reading them only when it refuses (#19). Caps stripped from the drawn scenario;
    a scenario with one is said to have caps."""
    tz = s.lawyer.timezone
    capped = counted_span(s.agreement, s.lawyer, s.now + timedelta(days=1)).caps
    assert capped == any(v is not None for v in (s.agreement.max_per_week, s.agreement.max_per_month,
                                                 s.lawyer.max_per_day, s.lawyer.max_per_week))
    s = replace(s, agreement=replace(s.agreement, max_per_week=None, max_per_month=None),
                lawyer=replace(s.lawyer, max_per_day=None, max_per_week=None))
    for start in [x.start for x in s.free(bookings=[])][:15] + grid(s)[:25]:
        start = start.astimezone(tz)
        assert not counted_span(s.agreement, s.lawyer, start).caps
        alone, weighed = outcome(s, start, []), outcome(s, start, s.bookings)
        slot = check_shape(s.agreement, s.lawyer, now=s.now, start=start) if isinstance(alone, Slot) else None
        collides = slot is not None and any(
            b.blocked.overlaps(Interval(slot.prep_start, slot.blocked_end)) for b in s.bookings)
        assert weighed == ("busy" if collides else alone), start
