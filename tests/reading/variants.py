"""The classes of calendar data the readers once got wrong, each in several variants.

Every variant is one calendar: the event of the class (UID ``case@example.com``) and a
plain event on 20 April (``GOOD``) that must stay busy whatever happens to the other:
one broken component never costs the rest of the calendar. ``busy`` is the exact busy
time in ``WINDOW`` for a lawyer in Berlin (UTC, merged, sorted, the good event
included); ``warning`` the reason the calendars page gives for the case event, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from booking.intervals import Interval, merge

WINDOW = Interval(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))
GOOD = Interval(datetime(2027, 4, 20, 10, tzinfo=UTC), datetime(2027, 4, 20, 11, tzinfo=UTC))


def utc(text: str) -> datetime:
    """'03-02 09:00' in 2027, UTC."""
    return datetime.strptime(f"2027-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def spans(*pairs: tuple[str, str]) -> list[Interval]:
    return [Interval(utc(a), utc(b)) for a, b in pairs]


def vcalendar(*events: str) -> str:
    body = "".join(
        "BEGIN:VEVENT\r\n" + "\r\n".join(line for line in e.strip().splitlines()) + "\r\nEND:VEVENT\r\n"
        for e in events
    )
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Counsel Hours//reading tests//EN\r\n" + body + "END:VCALENDAR\r\n"


GOOD_EVENT = """UID:good@example.com
DTSTAMP:20260101T000000Z
SUMMARY:Court hearing
DTSTART:20270420T100000Z
DTEND:20270420T110000Z"""


@dataclass(frozen=True)
class Variant:
    name: str
    events: tuple[str, ...]  # the case's components (same UID), before the good event
    busy: tuple[Interval, ...]  # the case's own busy time
    warning: str | None = None  # "unreadable" / "no_start" / "too_frequent"

    @property
    def text(self) -> str:
        return vcalendar(*self.events, GOOD_EVENT)

    @property
    def expected(self) -> list[Interval]:
        return merge([*self.busy, GOOD])


def case(summary: str, *lines: str) -> str:
    return "\n".join(
        ["UID:case@example.com", "DTSTAMP:20260101T000000Z", f"SUMMARY:{summary}", *lines]
    )


BERLIN_MONDAYS = spans(("03-01 09:00", "03-01 10:00"), ("03-08 09:00", "03-08 10:00"),
                       ("03-15 09:00", "03-15 10:00"))

# -- sloppy but readable: repaired, read exactly ---------------------------------------
SLOPPY = [
    Variant("spaces_after_commas_in_byday", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO, WE;COUNT=4"),),
        tuple(spans(("03-01 09:00", "03-01 10:00"), ("03-03 09:00", "03-03 10:00"),
                    ("03-08 09:00", "03-08 10:00"), ("03-10 09:00", "03-10 10:00")))),
    Variant("spaces_around_rule_parts", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
        "RRULE:FREQ = WEEKLY ; COUNT = 3 "),), tuple(BERLIN_MONDAYS)),
    Variant("trailing_space_in_duration", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DURATION:PT1H ",
        "RRULE:FREQ=WEEKLY;COUNT=3"),), tuple(BERLIN_MONDAYS)),
    Variant("lower_case_duration_and_until", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DURATION:pt1h",
        "RRULE:freq=weekly;until=20270315t235959z"),), tuple(BERLIN_MONDAYS)),
    Variant("iso_dates_and_minutes_without_seconds", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:2027-03-01T10:00:00", "DTEND;TZID=Europe/Berlin:20270301T1100",
        "RRULE:FREQ=WEEKLY;COUNT=3"),), tuple(BERLIN_MONDAYS)),
    Variant("exdate_list_with_spaces", (case(
        "Team", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
        "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20270308T100000, 20270315T100000"),),
        tuple(spans(("03-01 09:00", "03-01 10:00"), ("03-22 09:00", "03-22 10:00")))),
    Variant("date_without_value_date", (case(
        "Holiday", "DTSTART:20270301", "DTEND:20270302", "RRULE:FREQ=WEEKLY;COUNT=2"),),
        tuple(spans(("03-01 00:00", "03-01 23:00"), ("03-07 23:00", "03-08 23:00")))),
    Variant("value_date_with_a_time", (case(
        "Holiday", "DTSTART;VALUE=DATE:20270301T000000", "DTEND;VALUE=DATE:20270302T000000"),),
        tuple(spans(("03-01 00:00", "03-01 23:00")))),
    Variant("quoted_tzid", (case(
        "Call NY", 'DTSTART;TZID="America/New_York":20270301T100000',
        'DTEND;TZID="America/New_York":20270301T110000'),),
        tuple(spans(("03-01 15:00", "03-01 16:00")))),
    Variant("lower_case_tzid", (case(
        "Call NY", "DTSTART;TZID=america/new_york:20270301T100000",
        "DTEND;TZID=america/new_york:20270301T110000"),),
        tuple(spans(("03-01 15:00", "03-01 16:00")))),
    Variant("outlook_display_name_tzid", (case(
        "Call Tokyo", 'DTSTART;TZID="(UTC+09:00) Osaka, Sapporo, Tokyo":20270302T100000',
        'DTEND;TZID="(UTC+09:00) Osaka, Sapporo, Tokyo":20270302T110000'),),
        tuple(spans(("03-02 01:00", "03-02 02:00")))),
]

# -- what cannot be read fails closed, for that event only -----------------------------
BROKEN = [
    Variant("event_without_dtstart", (case(
        "Board meeting", "DTEND:20270302T110000Z", "RRULE:FREQ=WEEKLY;COUNT=3"),), (), "no_start"),
    Variant("unknown_frequency", (case(
        "Board meeting", "DTSTART:20270302T100000Z", "DTEND:20270302T110000Z",
        "RRULE:FREQ=FORTNIGHTLY;COUNT=3"),),
        tuple(spans(("03-02 10:00", "03-02 11:00"))), "unreadable"),
    Variant("unreadable_end", (case(
        "Board meeting", "DTSTART:20270302T100000Z", "DTEND:tomorrow"),),
        tuple(spans(("03-01 23:00", "03-02 23:00"))), "unreadable"),
    Variant("unreadable_rule_with_a_moved_instance", (
        case("Board meeting", "DTSTART:20270302T100000Z", "DTEND:20270302T110000Z",
             "RRULE:FREQ=WEEKLY;BYDAY=XX"),
        case("Board meeting", "RECURRENCE-ID:20270309T100000Z", "DTSTART:20270310T140000Z",
             "DTEND:20270310T150000Z")),
        tuple(spans(("03-02 10:00", "03-02 11:00"), ("03-10 14:00", "03-10 15:00"))), "unreadable"),
    Variant("cancelled_unreadable_event_blocks_nothing", (case(
        "Board meeting", "STATUS:CANCELLED", "DTSTART:20270302T100000Z", "DTEND:20270302T110000Z",
        "RRULE:FREQ=FORTNIGHTLY;COUNT=3"),), ()),
]

# -- Apple: EXDATE of the original time plus the override of it -------------------------
APPLE = [
    Variant("apple_moved_instance", (
        case("Weekly", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
             "RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE;TZID=Europe/Berlin:20270308T100000"),
        case("Weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20270308T100000",
             "DTSTART;TZID=Europe/Berlin:20270309T150000", "DTEND;TZID=Europe/Berlin:20270309T160000")),
        tuple(spans(("03-01 09:00", "03-01 10:00"), ("03-09 14:00", "03-09 15:00"),
                    ("03-15 09:00", "03-15 10:00")))),
    Variant("apple_exdate_in_utc_override_in_zone", (
        case("Weekly", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
             "RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20270308T090000Z"),
        case("Weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20270308T100000",
             "DTSTART;TZID=Europe/Berlin:20270308T170000", "DTEND;TZID=Europe/Berlin:20270308T180000")),
        tuple(spans(("03-01 09:00", "03-01 10:00"), ("03-08 16:00", "03-08 17:00"),
                    ("03-15 09:00", "03-15 10:00")))),
    Variant("apple_moved_and_a_real_exdate", (
        case("Weekly", "DTSTART;TZID=Europe/Berlin:20270301T100000", "DTEND;TZID=Europe/Berlin:20270301T110000",
             "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20270308T100000,20270315T100000"),
        case("Weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20270315T100000",
             "DTSTART;TZID=Europe/Berlin:20270316T080000", "DTEND;TZID=Europe/Berlin:20270316T090000")),
        tuple(spans(("03-01 09:00", "03-01 10:00"), ("03-16 07:00", "03-16 08:00"),
                    ("03-22 09:00", "03-22 10:00")))),
    Variant("apple_all_day_moved", (
        case("Away", "DTSTART;VALUE=DATE:20270302", "DTEND;VALUE=DATE:20270303",
             "RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE;VALUE=DATE:20270309"),
        case("Away", "RECURRENCE-ID;VALUE=DATE:20270309", "DTSTART;VALUE=DATE:20270311",
             "DTEND;VALUE=DATE:20270312")),
        tuple(spans(("03-01 23:00", "03-02 23:00"), ("03-10 23:00", "03-11 23:00")))),
]

# -- a floating UNTIL beside a zoned DTSTART: DTSTART's local time ----------------------
FLOATING_UNTIL = [
    Variant("floating_until_new_york", (case(
        "Evening call", "DTSTART;TZID=America/New_York:20270301T200000",
        "DTEND;TZID=America/New_York:20270301T210000", "RRULE:FREQ=DAILY;UNTIL=20270303T200000"),),
        tuple(spans(("03-02 01:00", "03-02 02:00"), ("03-03 01:00", "03-03 02:00"),
                    ("03-04 01:00", "03-04 02:00")))),
    Variant("floating_until_los_angeles_weekly", (case(
        "Evening call", "DTSTART;TZID=America/Los_Angeles:20270302T180000",
        "DTEND;TZID=America/Los_Angeles:20270302T190000", "RRULE:FREQ=WEEKLY;UNTIL=20270316T180000"),),
        # 14 March: US summer time, 18:00 PDT = 01:00 UTC.
        tuple(spans(("03-03 02:00", "03-03 03:00"), ("03-10 02:00", "03-10 03:00"),
                    ("03-17 01:00", "03-17 02:00")))),
    Variant("floating_until_tokyo", (case(
        "Morning call", "DTSTART;TZID=Asia/Tokyo:20270301T200000",
        "DTEND;TZID=Asia/Tokyo:20270301T210000", "RRULE:FREQ=DAILY;UNTIL=20270303T200000"),),
        tuple(spans(("03-01 11:00", "03-01 12:00"), ("03-02 11:00", "03-02 12:00"),
                    ("03-03 11:00", "03-03 12:00")))),
]

# -- DTSTART/DTEND: the exact duration on the night of a DST change ---------------------
EXACT_DURATION = [
    Variant("night_duty_berlin_first_night_spans_the_change", (case(
        "Night duty", "DTSTART;TZID=Europe/Berlin:20270327T230000",
        "DTEND;TZID=Europe/Berlin:20270328T040000", "RRULE:FREQ=DAILY;COUNT=2"),),
        # The first night lasts 4 hours exactly; the next one is busy to 04:00 all the same.
        tuple(spans(("03-27 22:00", "03-28 02:00"), ("03-28 21:00", "03-29 02:00")))),
    Variant("night_duty_berlin_spring_from_before", (case(
        "Night duty", "DTSTART;TZID=Europe/Berlin:20270326T230000",
        "DTEND;TZID=Europe/Berlin:20270327T040000", "RRULE:FREQ=DAILY;COUNT=3"),),
        tuple(spans(("03-26 22:00", "03-27 03:00"), ("03-27 22:00", "03-28 03:00"),
                    ("03-28 21:00", "03-29 02:00")))),
    Variant("night_duty_duration_hours", (case(
        "Night duty", "DTSTART;TZID=Europe/Berlin:20270326T230000", "DURATION:PT5H",
        "RRULE:FREQ=DAILY;COUNT=3"),),
        tuple(spans(("03-26 22:00", "03-27 03:00"), ("03-27 22:00", "03-28 03:00"),
                    ("03-28 21:00", "03-29 02:00")))),
    Variant("night_duty_new_york_spring", (case(
        "Night duty", "DTSTART;TZID=America/New_York:20270312T220000",
        "DTEND;TZID=America/New_York:20270313T030000", "RRULE:FREQ=DAILY;COUNT=3"),),
        # 14 March 02:00 -> 03:00 in New York.
        tuple(spans(("03-13 03:00", "03-13 08:00"), ("03-14 03:00", "03-14 08:00"),
                    ("03-15 02:00", "03-15 07:00")))),
    Variant("night_duty_sydney_autumn", (case(
        "Night duty", "DTSTART;TZID=Australia/Sydney:20270402T230000",
        "DTEND;TZID=Australia/Sydney:20270403T040000", "RRULE:FREQ=DAILY;COUNT=3"),),
        # 4 April 03:00 AEDT -> 02:00 AEST: that night is busy to 04:00 on the wall clock
        # (six hours), the later of the exact and the wall-clock end.
        tuple(spans(("04-02 12:00", "04-02 17:00"), ("04-03 12:00", "04-03 18:00"),
                    ("04-04 13:00", "04-04 18:00")))),
]

# -- #12: recurrence expansion bounded in time and count --------------------------------
BOUNDED = [
    Variant("secondly_without_end", (case(
        "Ping", "DTSTART:20200101T000000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY"),),
        (WINDOW,), "too_frequent"),
    Variant("secondly_filtered_to_once_a_day", (case(
        "Ping", "DTSTART:20200101T090000Z", "DURATION:PT10M",
        "RRULE:FREQ=SECONDLY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"),),
        # The library would walk every second of the window to find nine o'clock.
        (WINDOW,), "too_frequent"),
    Variant("minutely_count_100000", (case(
        "Ping", "DTSTART:20270310T000000Z", "DURATION:PT1M", "RRULE:FREQ=MINUTELY;INTERVAL=2;COUNT=100000"),),
        (Interval(utc("03-10 00:00"), WINDOW.end),), "too_frequent"),
    Variant("every_ten_minutes_until", (case(
        "Ping", "DTSTART:20270310T000000Z", "DURATION:PT1M",
        "RRULE:FREQ=HOURLY;BYMINUTE=0,10,20,30,40,50;UNTIL=20270312T000000Z"),),
        (Interval(utc("03-10 00:00"), utc("03-12 00:01")),), "too_frequent"),
    Variant("daily_count_100000_since_1900", (case(
        "Daily", "DTSTART:19000101T090000Z", "DURATION:PT30M", "RRULE:FREQ=DAILY;COUNT=100000"),),
        tuple(Interval(utc(f"{d.strftime('%m-%d')} 09:00"), utc(f"{d.strftime('%m-%d')} 09:30"))
              for d in (datetime(2027, 3, 1) + (datetime(2027, 3, 2) - datetime(2027, 3, 1)) * n
                        for n in range(61)))),
    Variant("hourly_since_1990", (case(
        "Hourly", "DTSTART:19900101T000000Z", "DURATION:PT15M", "RRULE:FREQ=HOURLY;INTERVAL=6"),),
        tuple(Interval(WINDOW.start.replace(hour=0) + (utc("03-01 06:00") - utc("03-01 00:00")) * n,
                       WINDOW.start.replace(hour=0) + (utc("03-01 06:00") - utc("03-01 00:00")) * n
                       + (utc("03-01 00:15") - utc("03-01 00:00")))
              for n in range(61 * 4))),
]

CLASSES: dict[str, list[Variant]] = {
    "sloppy_but_readable_data_is_read": SLOPPY,
    "unreadable_event_fails_closed_alone": BROKEN,
    "apple_exdate_plus_detached_override": APPLE,
    "floating_until_beside_zoned_dtstart": FLOATING_UNTIL,
    "dtstart_dtend_exact_duration_across_dst": EXACT_DURATION,
    "recurrence_expansion_is_bounded": BOUNDED,
}

ALL = [v for variants in CLASSES.values() for v in variants]
BY_NAME = {v.name: v for v in ALL}
