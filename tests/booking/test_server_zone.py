"""The engine never uses the server's own zone (``TZ``): only UTC and the lawyer's zone.

Each test runs under several process zones (set with ``process_zone``), chosen so that the
server's date differs from the lawyer's at the instants in play for at least one of them.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from booking_testkit import NOW, at, book, local_starts, make_agreement, make_lawyer, process_zone

from booking.availability import SlotRefused, check_start, free_slots

SERVERS = [
    "UTC",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "America/Sao_Paulo",
    "Asia/Kathmandu",
    "Pacific/Chatham",
]
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

pytestmark = pytest.mark.parametrize("server", SERVERS)


def test_a_range_starting_late_in_the_lawyers_day_keeps_that_day(server):
    """Monday 23:00 in Pago Pago is already Wednesday in Kiritimati: Monday is still searched."""
    agreement = make_agreement("mon 23:00-23:59", notice=timedelta(0))
    lawyer = make_lawyer(PAGO_PAGO)
    with process_zone(server):
        slots = free_slots(
            agreement,
            lawyer,
            client="me",
            now=at("2026-05-30 00:00", PAGO_PAGO),
            start=at("2026-06-01 23:00", PAGO_PAGO),
            end=at("2026-06-02 23:00", PAGO_PAGO),
        )
    assert local_starts(slots, PAGO_PAGO) == ["2026-06-01 23:00"]


def test_a_range_ending_early_in_the_lawyers_day_keeps_that_day(server):
    """Wednesday 00:30 in Kiritimati is still Monday in Pago Pago: Wednesday is still searched."""
    agreement = make_agreement("wed 00:00-00:30", notice=timedelta(0))
    lawyer = make_lawyer(KIRITIMATI)
    with process_zone(server):
        slots = free_slots(
            agreement,
            lawyer,
            client="me",
            now=at("2026-05-30 00:00", KIRITIMATI),
            start=at("2026-06-02 00:00", KIRITIMATI),
            end=at("2026-06-03 00:30", KIRITIMATI),
        )
    assert local_starts(slots, KIRITIMATI) == ["2026-06-03 00:00"]


def test_check_start_counts_the_daily_cap_on_the_lawyers_date(server):
    """23:30 Tuesday in New York is Wednesday in UTC; it fills the New York Tuesday."""
    lawyer = make_lawyer(NEW_YORK, max_per_day=1)
    late = book("2026-06-02 23:30", client="other", tz=NEW_YORK)
    with process_zone(server), pytest.raises(SlotRefused) as info:
        check_start(
            make_agreement(),
            lawyer,
            client="me",
            now=NOW,
            bookings=[late],
            start=at("2026-06-02 10:00", NEW_YORK),
        )
    assert info.value.reason == "lawyer_day_limit"


def test_check_start_finds_the_preparation_day_on_the_lawyers_date(server):
    """Wednesday 08:00 in Tokyo (Tuesday 23:00 UTC) is after Tuesday's preparation day."""
    agreement = make_agreement(
        "wed 08:00-09:00", notice=timedelta(hours=1), notice_next_working_day=True
    )
    lawyer = make_lawyer(TOKYO)  # NOW is Monday 15:00 in Tokyo: Tuesday prepares
    start = at("2026-06-03 08:00", TOKYO)
    with process_zone(server):
        slot = check_start(agreement, lawyer, client="me", now=NOW, start=start)
        assert slot in free_slots(agreement, lawyer, client="me", now=NOW)
        with pytest.raises(SlotRefused) as info:
            check_start(agreement, lawyer, client="me", now=NOW, start=start - timedelta(days=1))
    assert info.value.reason == "too_soon"


def test_a_refusal_message_shows_the_lawyers_wall_time(server):
    """'In the past' names the start as the lawyer's clock shows it, with the lawyer's offset."""
    with process_zone(server), pytest.raises(SlotRefused) as info:
        check_start(
            make_agreement(), make_lawyer(), client="me", now=NOW, start=at("2026-05-26 10:00")
        )
    assert info.value.message == "2026-05-26T10:00+02:00 is in the past"
