"""The lawyer's calls through the use cases, on SQLite and PostgreSQL: book inside and
outside the agreement, never over another booking, over busy time only when confirmed,
move and cancel with the client's mail over SMTP, freed time offered at once, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar as ICal

from booking.availability import SlotRefused
from booking.intervals import Interval
from booking.lawyer_calls import check_lawyer_start
from booking.model import Agreement, BookedCall, LawyerRules
from booking.windows import parse_windows
from service.jobs import worker
from service.storage.models import Booking, OutboxTask
from service.usecases import availability, steer
from service.usecases.errors import Refused
from tests.conftest import NOW
from tests.steer.conftest import BUSY_START

pytestmark = pytest.mark.db_matrix

WED_14 = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)  # 14:00 Berlin, in the agreed window
TUE_09 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 Berlin: no window on Tuesday
OVERRIDE = steer.Override(terms=True)


def test_book_inside_the_agreement(frozen, make_client, db):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "Clause 4", NOW)
    assert (booking.start, booking.end) == (WED_14, WED_14 + timedelta(minutes=30))
    assert booking.blocked_start == WED_14 - timedelta(minutes=30)
    assert booking.booked_by == "lawyer" and not booking.outside_terms
    assert booking.email == client.email and booking.agenda == "Clause 4"
    kinds = sorted(db.session.scalars(sa.select(OutboxTask.kind)))
    # The client's invite and the lawyer's copy; the reminders and the prep brief (#14)
    # come with every booking path, the lawyer's too.
    assert kinds == ["mail.booking", "mail.booking", "reminder.client", "reminder.client", "reminder.prep"]


def test_outside_the_windows_needs_the_override(frozen, make_client):
    client, _ = make_client()
    with pytest.raises(Refused) as refused:
        steer.book_for_client(client, TUE_09, "x", NOW)
    assert refused.value.reason == "slot_outside_windows"
    booking = steer.book_for_client(client, TUE_09, "x", NOW, OVERRIDE)
    assert booking.start == TUE_09 and booking.outside_terms


@pytest.mark.parametrize("start", [NOW + timedelta(hours=2), NOW + timedelta(days=200)])
def test_override_lifts_notice_and_horizon(frozen, make_client, start):
    client, _ = make_client()
    with pytest.raises(Refused):
        steer.book_for_client(client, start, "x", NOW)
    assert steer.book_for_client(client, start, "x", NOW, OVERRIDE).start == start


def test_override_lifts_the_cadence(frozen, make_client):
    client, _ = make_client(max_per_week=1)
    steer.book_for_client(client, WED_14, "x", NOW)
    later = WED_14 + timedelta(hours=1)
    with pytest.raises(Refused) as refused:
        steer.book_for_client(client, later, "x", NOW)
    assert refused.value.reason == "slot_client_week_limit"
    assert steer.book_for_client(client, later, "x", NOW, OVERRIDE).start == later


def test_never_in_the_past_even_with_override(frozen, make_client):
    client, _ = make_client()
    with pytest.raises(Refused) as refused:
        steer.book_for_client(client, NOW - timedelta(hours=1), "x", NOW, steer.Override(True, True))
    assert refused.value.reason == "slot_past"


def test_never_over_another_booking_even_with_every_override(frozen, make_client, db):
    client, _ = make_client()
    other, _ = make_client(lawyer=client.lawyer, name="Clara", email="clara@client.example")
    steer.book_for_client(other, WED_14, "x", NOW)
    for start in (WED_14, WED_14 + timedelta(minutes=30)):  # the call; its own prep over the call
        with pytest.raises(Refused) as refused:
            steer.book_for_client(client, start, "x", NOW, steer.Override(terms=True, busy=True))
        assert refused.value.reason == "slot_other_booking"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1


def test_busy_time_only_when_confirmed(frozen, make_client, busy_calendar):
    client, _ = make_client()
    busy_calendar(client.lawyer)
    with pytest.raises(Refused) as refused:
        steer.book_for_client(client, BUSY_START, "x", NOW)
    assert refused.value.reason == "slot_busy" and "busy time in your calendar" in refused.value.message
    booking = steer.book_for_client(client, BUSY_START, "x", NOW, steer.Override(busy=True))
    assert booking.start == BUSY_START


def test_busy_time_is_read_live_from_the_calendar_file(frozen, make_client, busy_calendar, db):
    """The mirror lost the hearing; the live read of the real .ics file still finds it."""
    from service.storage.models import BusyBlock

    client, _ = make_client()
    busy_calendar(client.lawyer)
    db.session.execute(sa.delete(BusyBlock))
    db.session.commit()
    with pytest.raises(Refused) as refused:
        steer.book_for_client(client, BUSY_START, "x", NOW)
    assert refused.value.reason == "slot_busy"


def test_move_sends_the_updated_invite_with_the_reason_in_the_clients_language(frozen, make_client, smtp, db):
    client, _ = make_client(language="ru")
    booking = steer.book_for_client(client, WED_14, "Пункт 4", NOW)
    worker.run_once()
    smtp.messages.clear()
    moved = steer.move(booking, TUE_09, NOW, OVERRIDE, reason="Заседание суда перенесено")
    assert moved.sequence == 1 and moved.start == TUE_09 and moved.changed_by == "lawyer"
    worker.run_once()
    (mail,) = smtp.to(client.email)
    text = mail.get_body(("plain",)).get_content()
    assert "Заседание суда перенесено" in text and "перенесена" in text.lower()
    ics = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    cal = ICal.from_ical(ics.get_content())
    (event,) = cal.walk("VEVENT")
    assert cal["METHOD"] == "REQUEST" and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == TUE_09


def test_cancel_sends_method_cancel_with_the_reason(frozen, make_client, smtp):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "Clause 4", NOW)
    worker.run_once()
    smtp.messages.clear()
    steer.cancel(booking, "A court hearing was set for that afternoon", NOW)
    worker.run_once()
    (mail,) = smtp.to(client.email)
    assert "A court hearing was set for that afternoon" in mail.get_body(("plain",)).get_content()
    ics = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert ICal.from_ical(ics.get_content())["METHOD"] == "CANCEL"


@pytest.mark.parametrize("reason", ["", "  ", "line\r\nBcc: x@evil.example", "a\nb", "x" * 501])
def test_cancel_refuses_a_bad_reason_and_writes_nothing(frozen, make_client, db, reason):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "x", NOW)
    with pytest.raises(Refused) as refused:
        steer.cancel(booking, reason, NOW)
    assert refused.value.reason == "invalid_reason"
    db.session.rollback()
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_cancelled_time_is_offered_again_at_once(frozen, make_client, db):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "x", NOW)
    db.session.commit()
    assert WED_14 not in [s.start for s in availability.slots_for(client, NOW)]  # cached now
    steer.cancel(booking, "court", NOW)
    db.session.commit()
    assert WED_14 in [s.start for s in availability.slots_for(client, NOW)]


def test_inside_the_notice_the_lawyer_still_moves_and_cancels(frozen, make_client):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "x", NOW)
    frozen.move_to(WED_14 - timedelta(hours=2))
    now = WED_14 - timedelta(hours=2)
    steer.move(booking, WED_14 + timedelta(hours=1), now, OVERRIDE)
    steer.cancel(booking, "court", now)


def test_outcomes_only_for_past_calls_and_counted_per_client(frozen, make_client, db):
    client, _ = make_client()
    first = steer.book_for_client(client, WED_14, "x", NOW)
    second = steer.book_for_client(client, WED_14 + timedelta(days=7), "x", NOW, OVERRIDE)
    with pytest.raises(Refused) as refused:
        steer.mark_outcome(first, "held", NOW)
    assert refused.value.reason == "call_ahead"
    later = WED_14 + timedelta(days=8)
    steer.mark_outcome(first, "held", later)
    steer.mark_outcome(second, "no_show", later)
    with pytest.raises(Refused):
        steer.mark_outcome(second, "lost", later)
    assert steer.outcome_counts(client.lawyer_id) == {client.id: {"held": 1, "no_show": 1}}
    steer.mark_outcome(second, None, later)
    assert steer.outcome_counts(client.lawyer_id) == {client.id: {"held": 1}}


def test_a_finished_call_cannot_be_moved(frozen, make_client):
    client, _ = make_client()
    booking = steer.book_for_client(client, WED_14, "x", NOW)
    with pytest.raises(Refused) as refused:
        steer.move(booking, WED_14 + timedelta(days=7), WED_14 + timedelta(hours=1), OVERRIDE)
    assert refused.value.reason == "call_over"


def test_unknown_uid_is_refused(app):
    with pytest.raises(Refused) as refused:
        steer.find_booking("nope")
    assert refused.value.reason == "unknown_booking"


def test_domain_never_overlaps_bookings_of_other_clients():
    """The pure rule: with both overrides, only past starts and other bookings are refused."""
    agreement = Agreement(windows=parse_windows("mon 10:00-12:00"), duration=timedelta(minutes=30),
                          prep=timedelta(minutes=15))
    rules = LawyerRules(timezone=ZoneInfo("Europe/Berlin"))
    other = BookedCall(WED_14, WED_14 + timedelta(minutes=30), Interval(WED_14, WED_14 + timedelta(minutes=30)), 2)
    free = check_lawyer_start(agreement, rules, client=1, now=NOW, bookings=[other],
                              start=WED_14 + timedelta(minutes=45), outside_terms=True, over_busy=True)
    assert free.prep_start == WED_14 + timedelta(minutes=30)
    with pytest.raises(SlotRefused) as refused:
        check_lawyer_start(agreement, rules, client=1, now=NOW, bookings=[other],
                           start=WED_14 + timedelta(minutes=40), outside_terms=True, over_busy=True)
    assert refused.value.reason == "other_booking"
