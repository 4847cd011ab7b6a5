"""Every class of tests/reading/variants.py on the feed path: icsread on the text, and
the iCal feed provider's sync and live check on a file.

Per variant: the busy time is exact (never less than the event, never more than its
fail-closed span), the rest of the calendar is still read, and an event read
inexactly is named with the reason the calendars page shows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval, merge
from service.calendars import icsread
from service.calendars.ics.provider import ICSProvider

from .variants import ALL, CLASSES, GOOD, WINDOW, Variant

BERLIN = ZoneInfo("Europe/Berlin")


def by_class() -> list:
    return [
        pytest.param(variant, id=f"{cls}-{variant.name}")
        for cls, variants in CLASSES.items()
        for variant in variants
    ]


def feed(tmp_path, variant: Variant) -> ICSProvider:
    path = tmp_path / f"{variant.name}.ics"
    path.write_text(variant.text, encoding="utf-8")
    return ICSProvider({"url": str(path)}, {}, BERLIN)


def clipped(changed: dict) -> list[Interval]:
    """The busy time of a sync result inside WINDOW (syncs read a little beyond it)."""
    return merge(
        Interval(max(i.start, WINDOW.start), min(i.end, WINDOW.end))
        for spans in changed.values()
        for i in spans
        if i.start < WINDOW.end
    )


def test_every_variant_has_a_unique_name():
    names = [v.name for v in ALL]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("variant", by_class())
def test_reader_gives_exact_busy_time(variant):
    assert icsread.busy_intervals(variant.text, WINDOW, BERLIN) == variant.expected


@pytest.mark.parametrize("variant", by_class())
def test_reader_names_the_event_it_could_not_read_exactly(variant):
    reading = icsread.read(variant.text, WINDOW, BERLIN)
    assert [(w.uid, w.reason) for w in reading.warnings] == (
        [("case@example.com", variant.warning)] if variant.warning else []
    )
    for warning in reading.warnings:
        assert warning.summary and warning.detail
        if warning.reason != "no_start":
            assert (warning.start, warning.end) == (variant.busy[0].start, variant.busy[-1].end)


@pytest.mark.parametrize("variant", by_class())
def test_reversed_component_order_gives_the_same(variant):
    """Overrides before their master, the good event first: same answer."""
    cal = icsread.parse(variant.text)
    cal.subcomponents.reverse()
    assert icsread.busy_intervals(cal, WINDOW, BERLIN) == variant.expected


@pytest.mark.parametrize("variant", by_class())
def test_reading_twice_gives_the_same(variant):
    """The reader repairs copies: the caller's calendar reads the same a second time."""
    cal = icsread.parse(variant.text)
    assert icsread.busy_intervals(cal, WINDOW, BERLIN) == variant.expected
    assert icsread.busy_intervals(cal, WINDOW, BERLIN) == variant.expected


@pytest.mark.parametrize("variant", by_class())
def test_feed_sync_keeps_the_rest_of_the_calendar_and_keys_by_uid(tmp_path, variant):
    provider = feed(tmp_path, variant)
    result = provider.sync("feed", None, WINDOW)
    assert result.full
    assert result.changed["good@example.com"] == [GOOD]
    assert clipped(result.changed) == variant.expected
    assert sorted(result.warnings) == (["case@example.com"] if variant.warning else [])


@pytest.mark.parametrize("variant", by_class())
def test_feed_live_check_sees_the_same(tmp_path, variant):
    assert feed(tmp_path, variant).busy("feed", WINDOW) == variant.expected


def test_components_of_one_event_in_two_calendars_of_a_file_are_one_event():
    """A file with two VCALENDARs (a master in one, its override in the other)."""
    from .variants import APPLE, vcalendar

    master, override = APPLE[0].events
    text = vcalendar(master) + vcalendar(override)
    assert icsread.busy_intervals(text, WINDOW, BERLIN) == list(APPLE[0].busy)
