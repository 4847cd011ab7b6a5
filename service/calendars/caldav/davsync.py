"""Incremental sync of one CalDAV calendar into busy intervals keyed by object href.

How a sync goes, cheapest first:

- **sync-collection** (RFC 6578) when the server gives the calendar a ``DAV:sync-token``:
  one REPORT lists the hrefs changed or removed since the stored token, then the
  changed objects are loaded with calendar-multiget REPORTs, ``BATCH`` hrefs at a time
  (never one GET per object). An invalid or expired token (Radicale 403, Xandikos 412,
  both with ``DAV:valid-sync-token``) means a full resync.
- **ctag/etag** otherwise: an unchanged ``CS:getctag`` means nothing changed; else one
  depth-1 PROPFIND lists every href's ETag, and the difference to the stored ETags is
  loaded with calendar-multiget.
- **full**: the objects with occurrences in the window, with their data, by time-range
  REPORTs page by page (``timerange``: each page sized to stay within the server's
  limits and ours, halved when the server refuses one as too large), after reading the
  token or ctag, so that nothing changed in between is missed (at worst it is fetched
  again next time). Where even a small page is refused, the objects are listed by ETag
  and loaded by calendar-multiget, ``BATCH`` at a time, as an incremental sync does.

The window slides forward with time. Busy time is computed a day beyond it; when the
asked window reaches past what was computed, the objects in the new stretch are fetched
with time-range REPORTs too. Every object is read whole over the busy window, once,
however many pages it came back in; the exact clipping happens client-side.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from caldav.lib import error as dav_error

from booking.intervals import Interval, merge
from service.calendars import icsread
from service.calendars.base import SyncResult
from service.calendars.caldav import timerange
from service.calendars.caldav.answers import check, key_of

log = logging.getLogger(__name__)

BATCH = 100  # hrefs per calendar-multiget
MAX_PAGES = 50  # truncated sync-collection replies followed (RFC 6578 section 3.6)
LOOKAHEAD = timedelta(days=1)
STATE_VERSION = 1

VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"  # noqa: S105 - an XML element name
SUPPORTED_REPORT = "{DAV:}supported-report"
SYNC_TOKEN = "{DAV:}sync-token"  # noqa: S105 - an XML element name
GETCTAG = "{http://calendarserver.org/ns/}getctag"
GETETAG = "{DAV:}getetag"

_PROPFIND_STATE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
    "<D:prop><D:sync-token/><CS:getctag/></D:prop></D:propfind>"
)
_PROPFIND_ETAGS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>'
)


class InvalidToken(Exception):
    """The server no longer accepts the stored sync token."""


class SyncUnsupported(Exception):
    """The server refused the sync-collection REPORT itself."""


@dataclass
class State:
    mode: str = "full"  # "sync" (sync-collection), "etag" (ctag/etag), "full"
    token: str | None = None
    ctag: str | None = None
    etags: dict[str, str] = field(default_factory=dict)
    until: datetime | None = None

    @classmethod
    def load(cls, text: str | None) -> State | None:
        if not text:
            return None
        try:
            raw = json.loads(text)
            if raw.get("v") != STATE_VERSION:
                return None
            until = datetime.fromisoformat(raw["until"]) if raw.get("until") else None
            return cls(
                raw["mode"], raw.get("token"), raw.get("ctag"), raw.get("etags") or {}, until
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def dump(self) -> str:
        return json.dumps(
            {
                "v": STATE_VERSION,
                "mode": self.mode,
                "token": self.token,
                "ctag": self.ctag,
                "etags": self.etags if self.mode == "etag" else {},
                "until": self.until.isoformat() if self.until else None,
            }
        )


class CalendarSync:
    """One sync of one calendar. ``client`` is a ``caldav.DAVClient``; ``url`` the
    calendar's absolute URL; ``counter()`` returns the HTTP requests made so far."""

    def __init__(self, client: Any, url: str, tz: ZoneInfo, counter: Any):
        self.client = client
        self.url = url if url.endswith("/") else url + "/"
        self.tz = tz
        self.counter = counter

    # -- entry point -----------------------------------------------------------------

    def run(self, state_text: str | None, window: Interval) -> SyncResult:
        start = self.counter()
        state = State.load(state_text)
        result = None
        if state is not None and state.until is not None and state.mode in ("sync", "etag"):
            try:
                result = self._incremental(state, window)
            except InvalidToken:
                log.info("sync token of %s no longer valid: full resync", self.url)
            except SyncUnsupported:
                log.info("%s refused sync-collection: using ctag/etag", self.url)
                result = self._full(window, prefer="etag")
        if result is None:
            result = self._full(window, prefer="sync")
        result.requests = self.counter() - start
        return result

    def moved(self, state_text: str | None, window: Interval) -> bool:
        """The cheap probe: whether a sync from ``state_text`` may find anything. One
        depth-0 PROPFIND of ``sync-token`` and ``getctag``; no request at all when a
        sync is needed anyway (no usable state, or the window reaches past the busy time
        computed; the regular sync keeps that a ``LOOKAHEAD`` ahead)."""
        state = State.load(state_text)
        if state is None or state.until is None or state.mode not in ("sync", "etag"):
            return True
        if window.end > state.until:  # busy time was computed a LOOKAHEAD beyond
            return True
        token, ctag = self._collection_state()
        if state.mode == "sync":
            return not token or token != state.token
        return not ctag or ctag != state.ctag

    # -- full ------------------------------------------------------------------------

    def _full(self, window: Interval, prefer: str) -> SyncResult:
        token, ctag = self._collection_state()
        state = State(until=window.end + LOOKAHEAD)
        if token and prefer == "sync":
            state.mode, state.token = "sync", token
        elif ctag:
            state.mode, state.ctag = "etag", ctag
            state.etags = self._list_etags()
        objects = self._time_range(window.start, state.until)
        busy_window = Interval(window.start, state.until)
        changed, warnings = self._read_all(objects, busy_window)
        return SyncResult(state=state.dump(), full=True, changed=changed, warnings=warnings)

    # -- incremental -----------------------------------------------------------------

    def _incremental(self, state: State, window: Interval) -> SyncResult:
        assert state.until is not None
        until = max(state.until, window.end + LOOKAHEAD)
        busy_window = Interval(window.start, until)
        if state.mode == "sync":
            token, changed_keys, deleted = self._sync_collection(state.token or "")
            state.token = token
        else:
            changed_keys, deleted = self._etag_changes(state)
        loaded, missing = self._multiget(changed_keys)
        deleted |= missing
        objects = dict(loaded)
        if window.end + LOOKAHEAD > state.until:
            # The window moved on: objects with occurrences in the new stretch.
            objects.update(self._time_range(state.until, until))
        state.until = until
        changed, warnings = self._read_all(objects, busy_window)
        return SyncResult(
            state=state.dump(),
            full=False,
            changed=changed,
            deleted=deleted - set(changed),
            warnings=warnings,
        )

    def _sync_collection(self, token: str) -> tuple[str, list[str], set[str]]:
        changed: dict[str, None] = {}
        deleted: set[str] = set()
        for _page in range(MAX_PAGES):
            body = (
                '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
                f"<D:sync-token>{escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
                "<D:prop><D:getetag/></D:prop></D:sync-collection>"
            )
            try:
                response = self.client.report(self.url, body, depth=0)
            except dav_error.AuthorizationError as exc:
                if VALID_SYNC_TOKEN in exc.preconditions:
                    raise InvalidToken from None
                if SUPPORTED_REPORT in exc.preconditions:
                    raise SyncUnsupported from None
                raise
            if response.status in (403, 409, 412) and "valid-sync-token" in str(response.raw):
                raise InvalidToken
            if response.status in (400, 403, 405, 501):
                raise SyncUnsupported
            if response.status >= 300:
                check(response, "sync", self.url)
            result = response.parse_sync_collection()
            for item in result.changed:
                if not item.href.endswith("/"):  # iCloud lists the collection itself
                    key = key_of(item.href)
                    changed[key] = None
                    deleted.discard(key)
            for href in result.deleted:
                key = key_of(href)
                deleted.add(key)
                changed.pop(key, None)
            if not result.sync_token:
                raise SyncUnsupported
            again = result.truncated and result.sync_token != token
            token = result.sync_token
            if not again:
                break
        return token, list(changed), deleted

    def _etag_changes(self, state: State) -> tuple[list[str], set[str]]:
        _token, ctag = self._collection_state()
        if ctag and ctag == state.ctag:
            return [], set()
        current = self._list_etags()
        changed = [key for key, etag in current.items() if state.etags.get(key) != etag]
        deleted = set(state.etags) - set(current)
        state.ctag, state.etags = ctag, current
        return changed, deleted

    # -- requests --------------------------------------------------------------------

    def _collection_state(self) -> tuple[str | None, str | None]:
        response = self.client.propfind(self.url, props=_PROPFIND_STATE, depth=0)
        check(response, "read the calendar's sync state", self.url)
        for result in response.results or []:
            if key_of(result.href).rstrip("/") == key_of(self.url).rstrip("/"):
                props = result.properties
                return _text(props.get(SYNC_TOKEN)), _text(props.get(GETCTAG))
        return None, None

    def _list_etags(self) -> dict[str, str]:
        response = self.client.propfind(self.url, props=_PROPFIND_ETAGS, depth=1)
        check(response, "list the calendar's events", self.url)
        etags = {}
        for result in response.results or []:
            if result.href.endswith("/") or result.properties.get("{DAV:}resourcetype"):
                continue
            etags[key_of(result.href)] = _text(result.properties.get(GETETAG)) or ""
        return etags

    def _time_range(self, start: datetime, end: datetime) -> dict[str, str]:
        return timerange.time_range(self.client, self.url, start, end, self.all_objects)

    def all_objects(self) -> dict[str, str]:
        loaded, _missing = self._multiget(sorted(self._list_etags()))
        return loaded

    def _multiget(self, keys: Iterable[str]) -> tuple[dict[str, str], set[str]]:
        keys = list(keys)
        loaded: dict[str, str] = {}
        missing: set[str] = set()
        for offset in range(0, len(keys), BATCH):
            batch = keys[offset : offset + BATCH]
            hrefs = "".join(f"<D:href>{escape(quote(k))}</D:href>" for k in batch)
            body = (
                '<?xml version="1.0" encoding="utf-8"?>'
                '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
            )
            response = self.client.report(self.url, body, depth=None)
            check(response, "load changed events", self.url)
            for item in response.parse_calendar_query():
                key = key_of(item.href)
                if item.status == 404 or not item.calendar_data:
                    missing.add(key)
                else:
                    loaded[key] = item.calendar_data
            missing |= {k for k in batch if k not in loaded}
        return loaded, missing

    def _read_all(
        self, objects: dict[str, str], window: Interval
    ) -> tuple[dict[str, list[Interval]], dict[str, list[dict]]]:
        changed: dict[str, list[Interval]] = {}
        warnings: dict[str, list[dict]] = {}
        for key, data in objects.items():
            changed[key], found = read_object(key, data, window, self.tz)
            warnings.update(icsread.warnings_by_key(found, key))
        return changed, warnings


def read_object(
    key: str, data: str, window: Interval, tz: ZoneInfo
) -> tuple[list[Interval], list[icsread.ReadWarning]]:
    """The busy time of one CalDAV object and what could not be read in it. Whatever
    goes wrong stays with this object: the rest of the calendar is still read."""
    try:
        reading = icsread.read(data, window, tz)
    except Exception as exc:  # noqa: BLE001 - one object never makes the calendar unreadable
        log.warning("unreadable object %s: %s", key, type(exc).__name__)
        name = key.rstrip("/").rsplit("/", 1)[-1]
        return [], [icsread.ReadWarning(name, name, "unreadable", str(exc)[:300])]
    busy = merge(i for spans in reading.busy.values() for i in spans)
    return busy, reading.warnings


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
