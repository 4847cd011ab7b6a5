"""A read-only iCal feed: an https URL (Google, Outlook, iCloud publish these) or a file.

Config: ``{"url": path}`` for a local file. A feed URL usually carries a secret (Google's
"secret address", Outlook's published link), so it lives in the encrypted secret
``{"url": "https://..."}`` and config only keeps ``{"display": "https://host/…"}``; a
URL in config is read as well. The account has one calendar, id ``"feed"``.

Sync is a conditional GET (ETag / If-None-Match, Last-Modified / If-Modified-Since) and
a full replace of the mirror when the feed changed. The busy time is computed a week
past the asked window, so that as the window slides forward an unchanged feed can still
answer "304 Not Modified" for a while.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import niquests
from flask_babel import lazy_gettext

from booking.intervals import Interval
from service.calendars import bounded, icsrange, icsread, netguard
from service.calendars.base import (
    AccountSettings,
    AuthError,
    CalendarProvider,
    NotFound,
    ProviderError,
    RemoteCalendar,
    SyncResult,
)

FEED_ID = "feed"
LOOKAHEAD = timedelta(days=7)
TIMEOUT = (10, 60)  # connect, read (seconds); the total deadline is bounded's


@dataclass
class Fetched:
    text: str | None  # None: not modified
    validators: dict[str, Any]


class ICSProvider(CalendarProvider):
    kind = "ics"
    title = lazy_gettext("iCal feed")

    @classmethod
    def settings(
        cls, address: str, username: str = "", password: str = "", *, local_files: bool = False
    ) -> AccountSettings:
        source = address.strip()
        if "://" in source and not source.lower().startswith("file://"):
            url = netguard.check_url(source)
            parts = urlsplit(url)
            return AccountSettings({"display": f"{parts.scheme}://{parts.hostname}/…"}, {"url": url})
        if not local_files:
            raise ProviderError("not a calendar URL: the address must start with https://")
        path = Path(source.removeprefix("file://")).expanduser().resolve()
        if not path.is_file():
            raise ProviderError(f"{source!r}: no such file")
        return AccountSettings({"url": str(path)}, {})

    @classmethod
    def same_account(cls, stored: AccountSettings, new: AccountSettings) -> bool:
        def source(s: AccountSettings) -> object:
            return s.secret.get("url") or s.config.get("url")

        return source(stored) == source(new)

    @classmethod
    def label(cls, settings: AccountSettings, found: list[RemoteCalendar]) -> str:
        where = settings.config.get("display") or settings.config.get("url")
        return f"{found[0].name} ({where})" if found else str(where)
    writable = False

    def __init__(
        self,
        config: dict[str, Any],
        secret: dict[str, Any],
        tz: ZoneInfo,
        *,
        allow_private: bool | None = None,
    ):
        super().__init__(config, secret, tz)
        self.source = str(secret.get("url") or config.get("url") or "").strip()
        if not self.source:
            raise ProviderError("the iCal feed has no URL or file path")
        self.allow_private = (
            netguard.private_hosts_allowed() if allow_private is None else allow_private
        )
        self.requests = 0

    # -- the provider interface ------------------------------------------------------

    def list_calendars(self) -> list[RemoteCalendar]:
        cal = icsread.parse(self._fetch({}).text or "")
        name = str(cal.get("X-WR-CALNAME") or "").strip() or self.describe()
        return [RemoteCalendar(id=FEED_ID, name=name, writable=False)]

    def busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        return icsread.busy_intervals(self._fetch({}).text or "", window, self.tz)

    def busy_since(
        self, calendar_id: str, window: Interval, state: str | None
    ) -> list[Interval] | None:
        """The live check: a conditional GET with the validators the last sync stored.
        Unchanged (304, same file stamp, or same content) -> ``None``: the mirror that
        sync wrote is current. Changed -> busy time of ``window`` only, parsing only the
        events that may touch it (``icsrange``)."""
        previous = _load_state(state)
        covered = previous.get("until")
        still_covered = covered is not None and datetime.fromisoformat(covered) >= window.end
        seen = _UNCHANGED.key(self.source, previous) if still_covered and not self._is_file() else None
        if seen is not None and _UNCHANGED.recent(seen):
            return None  # answered 304 a moment ago: the mirror is current
        fetched = self._fetch(previous if still_covered else {})
        if fetched.text is None:
            if seen is not None:
                _UNCHANGED.note(seen)
            return None
        if still_covered and previous.get("sha256") == _digest(fetched.text):
            return None
        return icsread.busy_intervals(icsrange.near(fetched.text, window), window, self.tz)

    def sync(self, calendar_id: str, state: str | None, window: Interval) -> SyncResult:
        self.requests = 0
        previous = _load_state(state)
        covered = previous.get("until")
        still_covered = covered is not None and datetime.fromisoformat(covered) >= window.end
        fetched = self._fetch(previous if still_covered else {})
        if fetched.text is None:
            return SyncResult(state=state, full=False, requests=self.requests)
        digest = _digest(fetched.text)
        until = window.end + LOOKAHEAD
        if still_covered and digest == previous.get("sha256"):
            new_state = {**previous, **fetched.validators}
            return SyncResult(state=json.dumps(new_state), full=False, requests=self.requests)
        reading = icsread.read(fetched.text, Interval(window.start, until), self.tz)
        new_state = {**fetched.validators, "sha256": digest, "until": until.isoformat()}
        return SyncResult(
            state=json.dumps(new_state),
            full=True,
            changed=reading.busy,
            requests=self.requests,
            warnings=icsread.warnings_by_key(reading.warnings),
        )

    # -- fetching --------------------------------------------------------------------

    def describe(self) -> str:
        """Where the feed is, without any secret part of the URL."""
        if self._is_file():
            return Path(self._path()).name
        parts = urlsplit(netguard.normalise_url(self.source))
        return f"{parts.scheme}://{parts.hostname}/…"

    def _is_file(self) -> bool:
        return self.source.startswith(("/", "file:")) or not urlsplit(self.source).scheme

    def _path(self) -> str:
        if self.source.startswith("file:"):
            return unquote(urlsplit(self.source).path)
        return self.source

    def _fetch(self, validators: dict[str, Any]) -> Fetched:
        if self._is_file():
            return self._read_file(validators)
        return self._get(validators)

    def _read_file(self, validators: dict[str, Any]) -> Fetched:
        path = self._path()
        try:
            stat = os.stat(path)
            if (
                validators.get("mtime_ns") == stat.st_mtime_ns
                and validators.get("size") == stat.st_size
            ):
                return Fetched(None, validators)
            cap = bounded.limits()[1]
            if stat.st_size > cap:
                raise bounded.too_large(f"the calendar file {Path(path).name}", cap)
            text = Path(path).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            raise NotFound(f"the calendar file {path} does not exist") from None
        except IsADirectoryError:
            raise ProviderError(f"{path} is a folder, not a calendar file") from None
        except PermissionError:
            raise ProviderError(
                f"the calendar file {path} cannot be read (permission denied)"
            ) from None
        return Fetched(text, {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size})

    def _get(self, validators: dict[str, Any]) -> Fetched:
        url = netguard.check_url(self.source, allow_private=self.allow_private)
        where = self.describe()
        headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "CounselHours/1"}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        subject = f"the calendar feed at {where}"
        try:
            # one open connection per feed server, reused by the next GET (netguard.POOL)
            with (
                netguard.POOL.lend(url, allow_private=self.allow_private, subject=subject) as http,
                http.get(url, headers=headers, timeout=TIMEOUT, stream=True) as response,
            ):
                self.requests += 1 + len(response.history)
                if response.status_code == 304:
                    return Fetched(None, validators)
                _raise_for_status(response.status_code, where)
                body = response.content  # read within the size cap and deadline (bounded)
        except niquests.exceptions.RequestException as exc:
            raise netguard.unreachable(exc, subject) from None
        found = {
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
        }
        charset = "charset" in response.headers.get("Content-Type", "")
        text = body.decode((charset and response.encoding) or "utf-8", errors="replace")
        return Fetched(text, {k: v for k, v in found.items() if v})


class _RecentlyUnchanged:
    """When each feed (URL and stored validators) last answered a live check with 304, in
    this process: a burst of bookings of one lawyer asks the feed once per
    ``FEED_LIVE_REUSE_SECONDS``. Keyed by a digest (no feed URL, a secret, is kept)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[str, float] = {}

    @staticmethod
    def key(source: str, validators: dict[str, Any]) -> str:
        parts = (source, validators.get("etag"), validators.get("last_modified"), validators.get("sha256"))
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    @staticmethod
    def _window() -> float:
        from flask import current_app, has_app_context

        return float(current_app.config.get("FEED_LIVE_REUSE_SECONDS", 0)) if has_app_context() else 0.0

    def recent(self, key: str) -> bool:
        window = self._window()
        with self._lock:
            at = self._at.get(key)
        return window > 0 and at is not None and 0 <= time.monotonic() - at < window

    def note(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._at) >= self.LIMIT:
                self._at.clear()
            self._at[key] = now


_UNCHANGED = _RecentlyUnchanged()


def _raise_for_status(status: int, where: str) -> None:
    if status in (401, 403):
        raise AuthError(
            f"the calendar feed at {where} refused access (HTTP {status}); "
            "check that the feed link is still valid"
        )
    if status in (404, 410):
        raise NotFound(f"the calendar feed at {where} does not exist (HTTP {status})")
    if status >= 400:
        raise ProviderError(f"the calendar feed at {where} answered HTTP {status}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _load_state(state: str | None) -> dict[str, Any]:
    if not state:
        return {}
    try:
        loaded = json.loads(state)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
