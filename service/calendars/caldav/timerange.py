"""The objects of a CalDAV calendar with occurrences in a time range, page by page.

One calendar-query REPORT for a whole sync window can be more than a server answers or
more than we accept: Radicale refuses an answer of more than ``max_expand_occurrence``
VEVENTs (10,000 by default) with HTTP 400, and every answer is capped in size and time
(``bounded``: ``CALENDAR_MAX_BYTES``, ``CALENDAR_READ_TIMEOUT_SECONDS``), which ends the
whole sync. So the range is asked for in consecutive pages:

- The first page is ``FIRST_PAGE`` long; each next one is sized from the last answer so
  that it holds about ``PAGE_VEVENTS`` VEVENTs and a quarter of the byte cap (at most
  ``GROWTH`` times longer or shorter than the last; an answer that took more than a
  third of the deadline halves the next page).
- A page the server refuses as too large (``TOO_LARGE``) is asked for again at half its
  length. A page still refused at ``MIN_PAGE``, or a server error (Xandikos answers 5xx
  for an object it cannot expand itself), means every object is read instead
  (``everything()``: the ETag listing and calendar-multiget), which the reader clips.
- Pages meet without gaps or overlap; only the outer ends are widened by
  ``QUERY_MARGIN``, because servers place floating and all-day events in UTC and
  Radicale puts recurring instances an hour off across DST. An object with occurrences
  in several pages (a series, a long event) comes back in each and is kept once: it is
  read whole, over the whole window, by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from service.calendars import bounded
from service.calendars.caldav.answers import check, key_of

log = logging.getLogger(__name__)

QUERY_MARGIN = timedelta(days=1)
FIRST_PAGE = timedelta(days=14)
MIN_PAGE = timedelta(hours=1)
#: VEVENTs one answer should hold: well under Radicale's default limit of 10,000, so
#: that a page denser than the one before is rarely refused.
PAGE_VEVENTS = 6_000
GROWTH = 4
#: Answers of a server that refuses to send so much in one REPORT (Radicale: 400).
TOO_LARGE = (400, 413, 507)


def time_range(
    client: Any, url: str, start: datetime, end: datetime, everything: Callable[[], dict[str, str]]
) -> dict[str, str]:
    """The iCalendar text of each object (by key) with occurrences in [start, end)."""
    url = str(client.calendar(url=url).url)  # absolute, as the client resolves it
    at, stop = start - QUERY_MARGIN, end + QUERY_MARGIN
    page = FIRST_PAGE
    objects: dict[str, str] = {}
    while at < stop:
        until = min(at + page, stop)
        started = time.monotonic()
        response = client.report(url, query(at, until), depth=1)
        if response.status in TOO_LARGE and until - at > MIN_PAGE:
            page = max((until - at) / 2, MIN_PAGE)
            log.info("%s refused %s of events (HTTP %s): asking for %s", url, until - at,
                     response.status, page)
            continue
        if response.status in TOO_LARGE or response.status >= 500:
            log.warning("%s refused its time-range REPORT (HTTP %s): reading every object",
                        url, response.status)
            return everything()
        check(response, "list the events in the sync window", url)
        vevents = size = 0
        for item in response.parse_calendar_query():
            if item.calendar_data:
                objects[key_of(item.href)] = item.calendar_data
                vevents += item.calendar_data.count("BEGIN:VEVENT")
                size += len(item.calendar_data)
        page = next_page(until - at, vevents, size, time.monotonic() - started)
        at = until
    return objects


def next_page(length: timedelta, vevents: int, size: int, seconds: float) -> timedelta:
    """The length of the page after one of ``length`` that held ``vevents`` VEVENTs in
    ``size`` characters of iCalendar and took ``seconds``."""
    deadline, cap = bounded.limits()
    factor = float(GROWTH)
    if vevents:
        factor = min(factor, PAGE_VEVENTS / vevents)
    if size:
        factor = min(factor, cap / 4 / size)
    if seconds > deadline / 3:
        factor = min(factor, 0.5)
    return max(length * max(factor, 1 / GROWTH), MIN_PAGE)


def query(start: datetime, end: datetime) -> str:
    """A calendar-query REPORT for the VEVENTs overlapping ``[start, end)``, asking for
    each object's ETag and iCalendar text."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{utc_stamp(start)}" end="{utc_stamp(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
