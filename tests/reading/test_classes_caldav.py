"""Every class of tests/reading/variants.py on the CalDAV path, on real Radicale and
Xandikos: the event in one object, the good event in another (RFC 4791: one UID per
object), read by the live check (``busy``) and by a full sync.

Radicale refuses over HTTP what its own parser cannot read (HTTP 400), and an object of
that kind put into its storage folder is left out of every answer, so no client can
read it there: those variants are not read on Radicale (``RADICALE_REFUSES``, pinned by
``test_which_variants_each_server_refuses``).
Xandikos takes every variant but fails a time-range REPORT over some (HTTP 500): the
reader then asks for every object, so the rest of the calendar is still read.
"""

from __future__ import annotations

import niquests
import pytest

from booking.intervals import Interval, merge
from tests.calendar_servers import USER, unique

from .variants import CLASSES, GOOD, GOOD_EVENT, WINDOW, Variant, vcalendar

SERVERS = ("radicale", "xandikos")

#: Variants no server can answer a time-range REPORT over: Radicale expands the rule
#: itself to match the range and never finishes (one core busy until it is killed).
#: Our reader is bounded; the server is not, so only the read deadline bounds that.
SERVER_HANGS = {"secondly_without_end", "secondly_filtered_to_once_a_day"}


#: Radicale's parser (vobject) refuses these over HTTP; Xandikos takes them all.
RADICALE_REFUSES = [
    "cancelled_unreadable_event_blocks_nothing",
    "daily_count_100000_since_1900",
    "event_without_dtstart",
    "iso_dates_and_minutes_without_seconds",
    "minutely_count_100000",
    "spaces_after_commas_in_byday",
    "spaces_around_rule_parts",
    "trailing_space_in_duration",
    "unknown_frequency",
    "unreadable_end",
    "unreadable_rule_with_a_moved_instance",
]


def by_server_and_class() -> list:
    """Each server with each variant it takes (none refused is collected, none skipped)."""
    return [
        pytest.param(kind, variant, id=f"{kind}-{cls}-{variant.name}")
        for kind in SERVERS
        for cls, variants in CLASSES.items()
        for variant in variants
        if variant.name not in SERVER_HANGS and not (kind == "radicale" and variant.name in RADICALE_REFUSES)
    ]


def _put(url: str, text: str, password: str) -> int:
    return niquests.put(
        url, data=text.encode(), auth=(USER, password), timeout=10,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    ).status_code


@pytest.fixture(scope="module")
def loaded(request) -> dict[tuple[str, str], str | None]:
    """(server, variant) -> calendar URL holding the case and the good event, or None
    when the server refused the case object."""
    urls: dict[tuple[str, str], str | None] = {}
    for kind in SERVERS:
        server = request.getfixturevalue(kind)
        for variants in CLASSES.values():
            for variant in variants:
                if variant.name in SERVER_HANGS:
                    continue
                url = server.make_calendar(unique(variant.name.replace("_", "-")[:40]))
                assert _put(url + "good.ics", vcalendar(GOOD_EVENT), server.password()) in (201, 204)
                text = vcalendar(*variant.events)
                status = _put(url + "case.ics", text, server.password())
                REFUSED[kind].discard(variant.name)
                if status not in (201, 204):
                    REFUSED[kind].add(variant.name)
                    url = None
                urls[(kind, variant.name)] = url
    return urls


#: server -> the variants it refused over HTTP (filled by ``loaded``)
REFUSED: dict[str, set[str]] = {k: set() for k in SERVERS}


def calendar_of(loaded, kind: str, variant: Variant) -> str:
    url = loaded[(kind, variant.name)]
    assert url is not None, f"{kind} refused {variant.name} over HTTP, which it took before"
    return url


@pytest.mark.parametrize(("kind", "variant"), by_server_and_class())
def test_live_check_gives_exact_busy_time(kind, variant, loaded, request, connect):
    url = calendar_of(loaded, kind, variant)
    provider = connect(request.getfixturevalue(kind))
    assert provider.busy(url, WINDOW) == variant.expected


@pytest.mark.parametrize(("kind", "variant"), by_server_and_class())
def test_sync_keeps_the_rest_and_names_the_object(kind, variant, loaded, request, connect):
    url = calendar_of(loaded, kind, variant)
    provider = connect(request.getfixturevalue(kind))
    result = provider.sync(url, None, WINDOW)
    assert result.full
    keys = {key.rsplit("/", 1)[-1]: key for key in result.changed}
    assert result.changed[keys["good.ics"]] == [GOOD]
    got = merge(
        Interval(max(i.start, WINDOW.start), min(i.end, WINDOW.end))
        for spans in result.changed.values()
        for i in spans
        if i.start < WINDOW.end
    )
    assert got == variant.expected
    if variant.warning == "no_start" and not result.warnings:
        return  # a server leaves an object without a start out of a time range: it blocks nothing
    if variant.warning:
        [(key, warnings)] = result.warnings.items()
        assert key.endswith("/case.ics")
        assert [w["reason"] for w in warnings] == [variant.warning]
    else:
        assert result.warnings == {}


def test_which_variants_each_server_refuses(loaded):
    """Pinned, so that a change in either server is noticed."""
    assert sorted(REFUSED["xandikos"]) == []
    assert sorted(REFUSED["radicale"]) == RADICALE_REFUSES

