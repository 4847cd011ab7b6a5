"""The calendar files under ``tests/calendars/`` and the busy time each must give.

Shared by the unit tests of ``icsread`` and the server tests (the same files loaded
into Radicale and Xandikos must give the same intervals).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from booking.intervals import Interval

FILES = Path(__file__).resolve().parent.parent / "calendars"
BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))


def utc(text: str) -> datetime:
    """'03-02 09:00' in 2027, UTC."""
    return datetime.strptime(f"2027-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def spans(*pairs: tuple[str, str]) -> list[Interval]:
    return [Interval(utc(a), utc(b)) for a, b in pairs]


def ics(name: str) -> str:
    return (FILES / f"{name}.ics").read_text(encoding="utf-8")


#: file name -> busy intervals in WINDOW for a lawyer in Berlin (UTC, merged, sorted)
EXPECTED: dict[str, list[Interval]] = {
    # Tuesdays 10:00 Berlin since 2026; 9 March excluded; 08:00 UTC after 28 March.
    "weekly_rrule_with_exdate": spans(
        ("03-02 09:00", "03-02 10:00"),
        ("03-16 09:00", "03-16 10:00"),
        ("03-23 09:00", "03-23 10:00"),
        ("03-30 08:00", "03-30 09:00"),
        ("04-06 08:00", "04-06 09:00"),
        ("04-13 08:00", "04-13 09:00"),
        ("04-20 08:00", "04-20 09:00"),
        ("04-27 08:00", "04-27 09:00"),
    ),
    "rdate_extra_dates": spans(("03-02 13:00", "03-02 15:00"), ("04-12 12:00", "04-12 14:00")),
    # 3 March as planned, 4 March moved to 15:00, 5 March cancelled.
    "moved_instance_recurrence_id": spans(
        ("03-03 08:00", "03-03 08:30"), ("03-04 14:00", "03-04 14:30")
    ),
    "duration_not_dtend": spans(("03-10 13:00", "03-10 13:45")),
    # Whole Berlin days: 15-17 March, 20 March, and the 23-hour 28 March.
    "all_day_multi_day": spans(
        ("03-14 23:00", "03-17 23:00"),
        ("03-19 23:00", "03-20 23:00"),
        ("03-27 23:00", "03-28 22:00"),
    ),
    "floating_time": spans(("03-11 08:00", "03-11 09:00")),
    "utc_times": spans(("03-17 16:30", "03-17 17:30")),
    "transparent_is_free": [],
    "cancelled_is_free": [],
    "tentative_is_busy": spans(("03-16 11:00", "03-16 12:30")),
    "own_event_ignored": spans(("03-18 10:00", "03-18 11:00")),
    "dst_weekly_across_change": spans(
        ("03-04 23:00", "03-05 00:00"),
        ("03-11 23:00", "03-12 00:00"),
        ("03-18 22:00", "03-18 23:00"),
        ("03-19 09:00", "03-19 10:00"),
        ("03-26 09:00", "03-26 10:00"),
        ("04-02 08:00", "04-02 09:00"),
    ),
    "outlook_windows_zone_names": spans(
        ("03-12 12:00", "03-12 13:00"),
        ("03-22 09:00", "03-22 10:00"),
        ("03-29 08:00", "03-29 09:00"),
    ),
    "outlook_zone_name_without_vtimezone": spans(("04-06 06:00", "04-06 07:00")),
    "outlook_busystatus_free": [],
    "x_wr_timezone_feed": spans(
        ("03-19 09:00", "03-19 10:00"),
        ("03-26 09:00", "03-26 10:00"),
        ("04-02 08:00", "04-02 09:00"),
    ),
    "window_edges_clipped": spans(("03-01 00:00", "03-01 02:00"), ("04-30 23:00", "05-01 00:00")),
    "vendor_prefixed_tzid": spans(("04-07 08:00", "04-07 09:00")),
    "unknown_tzid_is_local": spans(("04-08 08:00", "04-08 09:00")),
    "point_in_time_takes_no_time": [],
}

#: Cases whose answer depends on the lawyer's zone: (file, zone) -> busy intervals.
ZONE_DEPENDENT: dict[tuple[str, str], list[Interval]] = {
    ("floating_time", "Asia/Tokyo"): spans(("03-11 00:00", "03-11 01:00")),
    ("all_day_multi_day", "America/New_York"): spans(
        ("03-15 04:00", "03-18 04:00"),
        ("03-20 04:00", "03-21 04:00"),
        ("03-28 04:00", "03-29 04:00"),
    ),
    ("unknown_tzid_is_local", "UTC"): spans(("04-08 10:00", "04-08 11:00")),
    # Explicit zones do not move with the lawyer.
    ("outlook_windows_zone_names", "America/New_York"): spans(
        ("03-12 12:00", "03-12 13:00"),
        ("03-22 09:00", "03-22 10:00"),
        ("03-29 08:00", "03-29 09:00"),
    ),
}
