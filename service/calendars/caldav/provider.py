"""CalDAV calendars (Nextcloud, iCloud, Fastmail, Baïkal, SOGo, Radicale, Xandikos...).

Config ``{"url": server, principal or calendar URL, "username": ...}``, secret
``{"password": ...}``. A calendar's id is its absolute URL.

Busy time is read with one time-range REPORT per calendar and expanded here (see
``icsread``); sync is incremental (see ``davsync``). Events the service writes go to
``<calendar>/<uid>.ics`` (the href derived from the UID), so a retried PUT overwrites
its first attempt instead of adding a second event.

Every failure leaves as :class:`ProviderError` (or :class:`AuthError` for refused
credentials) with a message for the lawyer: never the password, never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import caldav
import icalendar
import niquests
from caldav.lib import error as dav_error
from flask_babel import lazy_gettext
from lxml import etree

from booking.intervals import Interval, merge
from service.calendars import netguard
from service.calendars.base import (
    AccountSettings,
    AuthError,
    CalendarProvider,
    NotFound,
    OutgoingEvent,
    ProviderError,
    RemoteCalendar,
    SyncResult,
)
from service.calendars.caldav import davsync, timerange

log = logging.getLogger(__name__)

TIMEOUT = 30  # seconds per request
UID_CONFLICT = 1409  # not an HTTP status: "this UID is stored under another href"
CALENDAR_TAG = "{urn:ietf:params:xml:ns:caldav}calendar"
_PROPFIND_SELF = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>'
)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def href_name(uid: str) -> str:
    """The object name a service event is stored under: derived from its UID alone."""
    return _UNSAFE_NAME.sub("_", uid) + ".ics"


class CalDAVProvider(CalendarProvider):
    kind = "caldav"
    title = lazy_gettext("CalDAV")

    @classmethod
    def settings(
        cls, address: str, username: str = "", password: str = "", *, local_files: bool = False
    ) -> AccountSettings:
        url = netguard.check_url(address)
        if not username.strip():
            raise ProviderError("the user name must not be empty")
        return AccountSettings({"url": url, "username": username.strip()}, {"password": password})

    @classmethod
    def label(cls, settings: AccountSettings, found: list[RemoteCalendar]) -> str:
        return f"{settings.config['username']} on {urlsplit(settings.config['url']).hostname}"

    def __init__(
        self,
        config: dict[str, Any],
        secret: dict[str, Any],
        tz: ZoneInfo,
        *,
        allow_private: bool | None = None,
        timeout: float = TIMEOUT,
    ):
        super().__init__(config, secret, tz)
        self.url = netguard.normalise_url(str(config.get("url") or ""))
        self.username = config.get("username") or None
        self.allow_private = (
            netguard.private_hosts_allowed() if allow_private is None else allow_private
        )
        self.timeout = timeout
        self.requests = 0  # HTTP requests made by this provider so far
        self._client: caldav.DAVClient | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    # -- connection ------------------------------------------------------------------

    def client(self) -> caldav.DAVClient:
        if self._client is None:
            url = netguard.check_url(self.url, allow_private=self.allow_private)
            client = caldav.DAVClient(
                url=url,
                username=self.username,
                password=self.secret.get("password"),
                timeout=self.timeout,
                enable_rfc6764=False,
                rate_limit_handle=False,  # a Retry-After of an hour must not hold a worker
            )
            client.session.close()
            client.session = netguard.session(
                allow_private=self.allow_private, subject=f"the CalDAV server {self.host}"
            )
            client.session.hooks["response"].append(self._count)
            self._client = client
        return self._client

    def _count(self, response: niquests.Response, **_: Any) -> niquests.Response:
        self.requests += 1
        return response

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Translate whatever the HTTP and CalDAV layers raise into ProviderError."""
        try:
            yield
        except ProviderError:
            raise
        except dav_error.AuthorizationError as exc:
            if getattr(exc, "status", None) == 403:
                raise AuthError(
                    f"the CalDAV server {self.host} refused access while trying to {doing} "
                    "(HTTP 403): the account may lack permission for this calendar"
                ) from None
            raise AuthError(
                f"the CalDAV server {self.host} refused the username or password"
                f"{f' for {self.username!r}' if self.username else ''} (HTTP 401)"
            ) from None
        except dav_error.NotFoundError:
            raise NotFound(
                f"not found on the CalDAV server {self.host} (while trying to {doing})"
            ) from None
        except niquests.exceptions.RequestException as exc:
            raise netguard.unreachable(
                exc, f"the CalDAV server {self.host}", _reason(exc)
            ) from None
        except dav_error.DAVError as exc:
            status = getattr(exc, "status", None)
            detail = f"HTTP {status}" if status else type(exc).__name__
            raise ProviderError(
                f"the CalDAV server {self.host} failed to {doing} ({detail})"
            ) from None
        except (etree.XMLSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning(
                "unexpected answer from %s while trying to %s", self.host, doing, exc_info=True
            )
            raise ProviderError(
                f"the CalDAV server {self.host} gave an unexpected answer while trying to "
                f"{doing} ({type(exc).__name__})"
            ) from None

    # -- reading ---------------------------------------------------------------------

    def list_calendars(self) -> list[RemoteCalendar]:
        with self.errors("list calendars"):
            client = self.client()
            itself = client.propfind(str(client.url), props=_PROPFIND_SELF, depth=0)
            if itself.status >= 300:
                raise ProviderError(
                    f"the CalDAV server {self.host} answered HTTP {itself.status} for {self.url}"
                )
            for result in itself.results or []:
                if CALENDAR_TAG in (result.properties.get("{DAV:}resourcetype") or []):
                    name = result.properties.get("{DAV:}displayname") or _last_segment(self.url)
                    return [RemoteCalendar(id=_with_slash(str(client.url)), name=str(name))]
            found = []
            for cal in client.get_principal().get_calendars():
                url = _with_slash(str(cal.url))
                name = cal.get_display_name() or _last_segment(url)
                found.append(RemoteCalendar(id=url, name=str(name)))
            return found

    def busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        with self.errors("read busy times"):
            syncer = davsync.CalendarSync(
                self.client(), calendar_id, self.tz, lambda: self.requests
            )
            objects = timerange.time_range(
                self.client(), syncer.url, window.start, window.end, syncer.all_objects
            )
            busy: list[Interval] = []
            for key, data in objects.items():
                spans, _warnings = davsync.read_object(key, data, window, self.tz)
                busy.extend(spans)
            return merge(busy)

    def probe(self, calendar_id: str, state: str | None, window: Interval) -> bool:
        with self.errors("check the calendar for changes"):
            syncer = davsync.CalendarSync(
                self.client(), calendar_id, self.tz, lambda: self.requests
            )
            return syncer.moved(state, window)

    def sync(self, calendar_id: str, state: str | None, window: Interval) -> SyncResult:
        with self.errors("sync the calendar"):
            syncer = davsync.CalendarSync(
                self.client(), calendar_id, self.tz, lambda: self.requests
            )
            return syncer.run(state, window)

    # -- writing ---------------------------------------------------------------------

    def event_url(self, calendar_id: str, uid: str) -> str:
        return urljoin(_with_slash(calendar_id), href_name(uid))

    def put_event(self, calendar_id: str, event: OutgoingEvent) -> None:  # no meeting links
        body = to_ical(event)
        with self.errors("save the event"):
            url = self.event_url(calendar_id, event.uid)
            status = self._put(url, body)
            if status == UID_CONFLICT:
                # The UID already lives under another name (moved there by some client).
                other = self._find_uid(calendar_id, event.uid)
                if other is not None and other != url:
                    status = self._put(other, body)
            if status >= 300:
                raise ProviderError(
                    f"the CalDAV server {self.host} refused to save the event (HTTP {status})"
                )

    def _put(self, url: str, body: str) -> int:
        """PUT, overwriting whatever is there; UID_CONFLICT if the UID is elsewhere."""
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        try:
            response = self.client().put(url, body, headers)
        except dav_error.AuthorizationError as exc:
            if any(p.endswith("no-uid-conflict") for p in exc.preconditions):
                return UID_CONFLICT
            raise
        if response.status >= 300 and "no-uid-conflict" in str(response.raw or ""):
            return UID_CONFLICT
        return response.status

    def delete_event(self, calendar_id: str, uid: str) -> None:
        with self.errors("delete the event"):
            client = self.client()
            url = self.event_url(calendar_id, uid)
            response = client.delete(url)
            if response.status == 404:
                other = self._find_uid(calendar_id, uid)
                if other is None:
                    return  # already gone
                response = client.delete(other)
            if response.status >= 300 and response.status != 404:
                raise ProviderError(
                    f"the CalDAV server {self.host} refused to delete the event (HTTP {response.status})"
                )

    def _find_uid(self, calendar_id: str, uid: str) -> str | None:
        calendar = self.client().calendar(url=calendar_id)
        try:
            found = calendar.get_event_by_uid(uid)
        except dav_error.NotFoundError:
            return None
        return str(found.url)


def to_ical(event: OutgoingEvent, now: datetime | None = None) -> str:
    """The VCALENDAR the service writes for ``event`` (times in UTC).

    The client is an ATTENDEE with ``SCHEDULE-AGENT=CLIENT`` and there is no ORGANIZER,
    so servers with scheduling (RFC 6638) do not mail their own invitation: the service
    already sent one.
    """
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//Counsel Hours//Counsel Hours//EN")
    cal.add("VERSION", "2.0")
    vevent = icalendar.Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))
    vevent.add("DTSTART", event.start.astimezone(UTC))
    vevent.add("DTEND", event.end.astimezone(UTC))
    vevent.add("SUMMARY", event.summary)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.url:
        vevent.add("URL", event.url)
    vevent.add("STATUS", "CONFIRMED")
    vevent.add("TRANSP", "OPAQUE")
    vevent.add("CATEGORIES", ["Counsel Hours"])
    if event.attendee_email:
        attendee = icalendar.vCalAddress(f"mailto:{event.attendee_email}")
        if event.attendee_name:
            attendee.params["CN"] = event.attendee_name
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "ACCEPTED"
        attendee.params["SCHEDULE-AGENT"] = "CLIENT"
        vevent.add("ATTENDEE", attendee)
    cal.add_component(vevent)
    return cal.to_ical().decode("utf-8")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _last_segment(url: str) -> str:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return parts[-1] if parts else urlsplit(url).hostname or url


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "resolution" in text
    ):
        return "host name not found"
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "TLS certificate problem"
    return "connection failed"
