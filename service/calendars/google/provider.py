"""Google Calendar (API v3) through google-api-python-client.

One provider instance talks to one Google account with the lawyer's authorized-user
credentials (refresh token). Settings, in order: the account's ``config``
(``api_endpoint``, ``token_uri``, ``timeout``), the Flask app's ``GOOGLE_API_ENDPOINT`` /
``GOOGLE_TOKEN_URI`` when an app context exists, then Google's defaults.

Sync state is a small JSON object: the ``nextSyncToken`` and the end of the time range
the mirror covers. A full sync lists ``LOOKAHEAD`` beyond the requested window so the
following incremental syncs (which cannot be limited in time) keep a complete mirror
while the window slides forward; once the window passes that end, a full sync runs again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import google_auth_httplib2
from flask_babel import lazy_gettext
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from booking.intervals import Interval, merge
from service.calendars.base import (
    AuthError,
    CalendarProvider,
    OutgoingEvent,
    ProviderError,
    RemoteCalendar,
    SyncResult,
)
from service.calendars.google.events import (
    busy_interval,
    event_body,
    event_id,
    is_own_event,
    join_link,
    parse_instant,
    read_event,
    rfc3339,
)
from service.calendars.google.http import error_reasons, execute, status_of
from service.calendars.google.transport import BoundedHttp
from service.calendars.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
LOOKAHEAD = timedelta(days=14)
PAGE_SIZE = 2500  # the maximum events.list allows
_WRITER_ROLES = frozenset({"owner", "writer"})


def _setting(config: dict[str, Any], key: str, app_key: str, default: str) -> str:
    from flask import current_app, has_app_context

    if config.get(key):
        return config[key]
    if has_app_context() and current_app.config.get(app_key):
        return current_app.config[app_key]
    return default


class _FullSyncRequired(Exception):
    pass


class GoogleProvider(CalendarProvider):
    kind: ClassVar[str] = "google"
    title: ClassVar[Any] = lazy_gettext("Google Calendar")

    #: Retry policy: at most ``max_attempts`` tries, delays with full jitter from
    #: ``base_delay`` doubling, never more than ``max_total_sleep`` seconds of sleep.
    max_attempts = 5
    base_delay = 1.0
    max_total_sleep = 20.0

    def __init__(
        self,
        config: dict[str, Any],
        secret: dict[str, Any],
        tz: ZoneInfo,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(config, secret, tz)
        self.sleep = sleep
        self.api_endpoint = _setting(
            config, "api_endpoint", "GOOGLE_API_ENDPOINT", DEFAULT_API_ENDPOINT
        )
        self.token_uri = _setting(config, "token_uri", "GOOGLE_TOKEN_URI", DEFAULT_TOKEN_URI)
        self.timeout = float(config.get("timeout", 30))
        self._service = None
        self._http: google_auth_httplib2.AuthorizedHttp | None = None
        self.primary_id: str | None = None  # known after list_calendars()
        self.requests = 0  # API calls made, retries included (for sync summaries)

    # -- plumbing -----------------------------------------------------------------

    def _credentials(self) -> Credentials:
        missing = [
            k for k in ("refresh_token", "client_id", "client_secret") if not self.secret.get(k)
        ]
        if missing:
            raise AuthError(
                "the stored Google authorization is incomplete; reconnect the Google account"
            )
        # from_authorized_user_info always uses Google's token URI; set the configured one.
        return Credentials.from_authorized_user_info(self.secret).with_token_uri(self.token_uri)

    @property
    def service(self):
        if self._service is None:
            self._http = google_auth_httplib2.AuthorizedHttp(
                self._credentials(), http=BoundedHttp(timeout=self.timeout)
            )
            self._service = build(
                "calendar",
                "v3",
                http=self._http,
                static_discovery=True,
                client_options={"api_endpoint": self.api_endpoint},
            )
        return self._service

    def current_secret(self) -> dict[str, Any]:
        """The secret with the latest access token (callers may store it to save a refresh)."""
        if self._http is None:
            return dict(self.secret)
        creds = self._http.credentials
        info = dict(self.secret)
        info["token"] = creds.token
        if creds.expiry is not None:
            info["expiry"] = creds.expiry.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        return info

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._service = self._http = None

    def __enter__(self) -> GoogleProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute(self, request, *, what: str, ok: Callable[[HttpError], bool] | None = None):
        def counted():
            self.requests += 1
            return request.execute(num_retries=0)

        policy = RetryPolicy(self.max_attempts, self.base_delay, self.max_total_sleep)
        return execute(counted, what=what, ok=ok, sleep=self.sleep, policy=policy)

    # -- reading ------------------------------------------------------------------

    def list_calendars(self) -> list[RemoteCalendar]:
        found: list[RemoteCalendar] = []
        page_token = None
        while True:
            page = self._execute(
                self.service.calendarList().list(pageToken=page_token, maxResults=250),
                what="calendar list",
            )
            for item in page.get("items", []):
                if item.get("primary"):
                    self.primary_id = item["id"]
                found.append(
                    RemoteCalendar(
                        id=item["id"],
                        name=item.get("summaryOverride") or item.get("summary") or item["id"],
                        writable=item.get("accessRole") in _WRITER_ROLES,
                    )
                )
            page_token = page.get("nextPageToken")
            if not page_token:
                # The primary calendar first: it is the default conflict source and target.
                return sorted(found, key=lambda cal: cal.id != self.primary_id)

    def busy_many(self, calendar_ids: list[str], window: Interval) -> dict[str, list[Interval]]:
        """Busy time of several calendars: one ``freeBusy.query``, refined when busy.

        Free/busy counts every opaque event, the service's own calls and prep blocks
        included — which would refuse moving a call to an overlapping time, or rebooking
        a cancelled call's slot before its event is deleted. So a calendar that free/busy
        reports busy in ``window`` is listed (``events.list`` over the window) and its
        own events dropped; where listing is not allowed (free/busy-only access), the
        free/busy answer stands.
        """
        if not calendar_ids:
            return {}
        response = self._execute(
            self.service.freebusy().query(
                body={
                    "timeMin": rfc3339(window.start),
                    "timeMax": rfc3339(window.end),
                    "items": [{"id": cal_id} for cal_id in calendar_ids],
                }
            ),
            what="free/busy query",
        )
        calendars = response.get("calendars", {})
        result: dict[str, list[Interval]] = {}
        for cal_id in calendar_ids:
            entry = calendars.get(cal_id)
            if entry is None or entry.get("errors"):
                reasons = ", ".join(e.get("reason", "?") for e in (entry or {}).get("errors", []))
                raise ProviderError(
                    f"Google free/busy for calendar {cal_id!r} failed ({reasons or 'missing'})"
                )
            result[cal_id] = merge(
                Interval(parse_instant(p["start"]), parse_instant(p["end"]))
                for p in entry.get("busy", [])
            )
            if result[cal_id]:
                try:
                    result[cal_id] = self._listed_busy(cal_id, window)
                except AuthError:
                    raise
                except ProviderError as exc:  # 403/404: free/busy access only
                    if exc.retryable:
                        raise
                    log.info("google %s: no event listing (%s); free/busy stands", cal_id, exc)
        return result

    def _listed_busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        busy = []
        params = {
            "singleEvents": True,
            "timeMin": rfc3339(window.start),
            "timeMax": rfc3339(window.end),
            "maxResults": PAGE_SIZE,
        }
        for page in self._list_pages(calendar_id, params):
            for event in page.get("items", []):
                interval = None if is_own_event(event) else busy_interval(event, self.tz, window)
                if interval is not None and interval.overlaps(window):
                    busy.append(
                        Interval(max(interval.start, window.start), min(interval.end, window.end))
                    )
        return merge(busy)

    def busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        """Busy time straight from Google, without the service's own events."""
        return self.busy_many([calendar_id], window)[calendar_id]

    def sync(self, calendar_id: str, state: str | None, window: Interval) -> SyncResult:
        before = self.requests
        parsed = _parse_state(state)
        if parsed and parsed["token"] and window.end <= parsed["until"]:
            try:
                result = self._incremental(calendar_id, parsed, window)
            except _FullSyncRequired:
                log.info("google sync token for %s expired; full sync", calendar_id)
            else:
                result.requests = self.requests - before
                return result
        result = self._full(calendar_id, window)
        result.requests = self.requests - before
        return result

    def _list_pages(self, calendar_id: str, params: dict[str, Any]):
        page_token = None
        while True:
            request = self.service.events().list(
                calendarId=calendar_id, pageToken=page_token, **params
            )
            page = self._execute(request, what="event list", ok=_full_sync_required)
            if page is None:
                raise _FullSyncRequired
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _full(self, calendar_id: str, window: Interval) -> SyncResult:
        until = window.end + LOOKAHEAD
        listed = Interval(window.start, until)
        changed: dict[str, list[Interval]] = {}
        warnings: dict[str, list[dict]] = {}
        token = None
        try:
            for page in self._list_pages(
                calendar_id,
                {
                    "singleEvents": True,
                    "timeMin": rfc3339(window.start),
                    "timeMax": rfc3339(until),
                    "maxResults": PAGE_SIZE,
                },
            ):
                for event in page.get("items", []):
                    if is_own_event(event):
                        continue
                    interval, warning = read_event(event, self.tz, listed)
                    if interval is not None:
                        changed.setdefault(event["id"], []).append(interval)
                    if warning is not None:
                        warnings.setdefault(event["id"], []).append(warning.as_dict())
                token = page.get("nextSyncToken") or token
        except _FullSyncRequired:  # a page token went stale mid-listing
            raise ProviderError("Google Calendar listing was interrupted; will retry") from None
        return SyncResult(state=_dump_state(token, until), full=True, changed=changed, warnings=warnings)

    def _incremental(self, calendar_id: str, state: dict[str, Any], window: Interval) -> SyncResult:
        # Only the token (Google refuses it with timeMin/timeMax/orderBy/q/updatedMin);
        # singleEvents as in the first listing, as the API asks.
        covered = Interval(window.start, state["until"])
        result = SyncResult(state=None, full=False, warnings={})
        token = None
        for page in self._list_pages(
            calendar_id,
            {"singleEvents": True, "syncToken": state["token"], "maxResults": PAGE_SIZE},
        ):
            for event in page.get("items", []):
                key = event["id"]
                if event.get("status") == "cancelled":
                    result.deleted.add(key)
                    result.changed.pop(key, None)
                    continue
                if is_own_event(event):
                    continue
                interval, warning = read_event(event, self.tz, covered)
                # An event moved out of the covered range is free as far as we care.
                keep = interval is not None and interval.overlaps(covered)
                result.changed[key] = [interval] if keep else []
                if warning is not None:
                    result.warnings[key] = [warning.as_dict()]
                result.deleted.discard(key)
            token = page.get("nextSyncToken") or token
        result.state = _dump_state(token, state["until"])
        return result

    # -- writing ------------------------------------------------------------------

    def put_event(self, calendar_id: str, event: OutgoingEvent) -> str | None:
        """Insert under the id derived from ``event.uid``; if it exists, patch it.

        409 "duplicate" means an earlier attempt was stored (its response lost) or the
        booking was rescheduled: the patch brings times and text up to date (and
        restores an event deleted before under the same id). Returns the Meet link when
        ``event.conference_request`` asked Google for one.
        """
        body = event_body(event)
        eid = event_id(event.uid)
        events = self.service.events()
        conference = {"conferenceDataVersion": 1} if event.conference_request else {}
        inserted = self._execute(
            events.insert(calendarId=calendar_id, body={"id": eid, **body}, sendUpdates="none", **conference),
            what="event insert",
            ok=_duplicate,
        )
        if inserted is None:
            inserted = self._execute(
                events.patch(calendarId=calendar_id, eventId=eid, body=body, sendUpdates="none", **conference),
                what="event update",
            )
        return join_link(inserted) if event.conference_request else None

    def delete_event(self, calendar_id: str, uid: str) -> None:
        self._execute(
            self.service.events().delete(
                calendarId=calendar_id, eventId=event_id(uid), sendUpdates="none"
            ),
            what="event delete",
            ok=_gone,
        )

    # -- push notifications -------------------------------------------------------

    def watch(
        self, calendar_id: str, address: str, token: str, ttl: timedelta | None = None
    ) -> tuple[str, str, datetime | None]:
        """Open an ``events.watch`` channel; returns (channel id, resource id, expiry)."""
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "type": "web_hook",
            "address": address,
            "token": token,
        }
        if ttl is not None:
            body["params"] = {"ttl": str(int(ttl.total_seconds()))}
        channel = self._execute(
            self.service.events().watch(calendarId=calendar_id, body=body), what="watch"
        )
        expiration = channel.get("expiration")
        expires = datetime.fromtimestamp(int(expiration) / 1000, UTC) if expiration else None
        return channel["id"], channel["resourceId"], expires

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """Stop a channel; one already gone is not an error."""
        self._execute(
            self.service.channels().stop(body={"id": channel_id, "resourceId": resource_id}),
            what="channel stop",
            ok=lambda exc: status_of(exc) == 404,
        )


def _full_sync_required(exc: HttpError) -> bool:
    return status_of(exc) == 410


def _duplicate(exc: HttpError) -> bool:
    return status_of(exc) == 409 and "duplicate" in error_reasons(exc)


def _gone(exc: HttpError) -> bool:
    return status_of(exc) in (404, 410)


def _parse_state(state: str | None) -> dict[str, Any] | None:
    if not state:
        return None
    try:
        data = json.loads(state)
        return {"token": data.get("token"), "until": datetime.fromisoformat(data["until"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # unknown format: start over with a full sync


def _dump_state(token: str | None, until: datetime) -> str:
    return json.dumps({"token": token, "until": until.astimezone(UTC).isoformat()})
