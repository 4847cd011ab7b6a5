"""Microsoft 365 / Outlook calendars through Microsoft Graph (v1.0).

One provider instance talks to one Microsoft account with the MSAL token cache stored
for it (``oauth.TokenSource``). Settings, in order: the account's ``config``
(``graph_endpoint``, ``authority``, ``tenant``, ``timeout``, ``free_show_as``), the
Flask app's ``MICROSOFT_*`` settings when an app context exists, then Microsoft's
defaults.

Reading is ``calendarView/delta`` per calendar: the first listing covers the sync window
plus ``LOOKAHEAD`` (the range is fixed into the delta link), following
``@odata.nextLink`` pages to the ``@odata.deltaLink`` kept as the sync state; later
syncs ask the delta link for changes (``@removed`` entries are deletions). Once the
window passes the covered end, or Graph says the sync state is gone, a full listing
runs again. Every request asks for UTC (``Prefer: outlook.timezone="UTC"``).

Free: ``showAs`` free, cancelled events; tentative, busy, oof, workingElsewhere and
unknown are busy unless the account's ``free_show_as`` names them for that calendar.
The service's own events (see ``events.py``) are never counted: their bookings are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import lazy_gettext

from booking.intervals import Interval, merge
from service.calendars import bounded
from service.calendars.base import (
    CalendarProvider,
    OutgoingEvent,
    ProviderError,
    RemoteCalendar,
    SyncResult,
)
from service.calendars.microsoft.events import (
    UID_PROPERTY,
    busy_interval,
    event_body,
    is_own_event,
    iso_utc,
    transaction_id,
)
from service.calendars.microsoft.http import GraphError, GraphSession
from service.calendars.microsoft.oauth import TokenSource, setting
from service.calendars.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0/"
LOOKAHEAD = timedelta(days=14)
PAGE_SIZE = 200
PREFER_UTC = 'outlook.timezone="UTC"'
#: Seconds the live check before a booking may take in all (retries included).
LIVE_BUDGET = 10.0
_RESYNC_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired", "invaliddeltatoken"})
_TEAMS = "teamsForBusiness"


def _resync_required(exc: GraphError) -> bool:
    return exc.status == 410 or exc.code.casefold() in _RESYNC_CODES


def _gone(exc: GraphError) -> bool:
    return exc.status in (404, 410)


class _FullSyncRequired(Exception):
    pass


def _app_setting(key: str, default: float) -> float:
    if has_app_context() and current_app.config.get(key):
        return float(current_app.config[key])
    return default


class MicrosoftProvider(CalendarProvider):
    kind: ClassVar[str] = "microsoft"
    title: ClassVar[Any] = lazy_gettext("Microsoft 365 / Outlook")

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
        self.endpoint = setting(config, "graph_endpoint", "MICROSOFT_GRAPH_ENDPOINT", DEFAULT_GRAPH_ENDPOINT)
        self.timeout = float(config.get("timeout") or _app_setting("CALENDAR_READ_TIMEOUT_SECONDS", 30))
        self.live_budget = float(config.get("live_budget") or LIVE_BUDGET)
        # Sign-in requests get the live check's budget at most: a booking never waits longer.
        self.tokens = TokenSource(secret, config, timeout=min(self.timeout, self.live_budget),
                                  on_change=self._secret_changed)
        self.graph = GraphSession(
            self.endpoint,
            self.tokens,
            timeout=self.timeout,
            policy=RetryPolicy(self.max_attempts, self.base_delay, self.max_total_sleep),
            sleep=sleep,
        )
        self.default_id: str | None = None  # known after list_calendars()
        self._teams: dict[str, bool] = {}
        #: Called with the new secret when MSAL refreshed it (``sync.provider_for`` stores it).
        self.store_secret: Callable[[dict[str, Any]], None] | None = None

    @property
    def requests(self) -> int:
        return self.graph.requests

    def _secret_changed(self, secret: dict[str, Any]) -> None:
        self.secret = secret
        if self.store_secret is not None:
            try:
                self.store_secret(secret)
            except Exception:  # noqa: BLE001 - the old refresh token still works meanwhile
                log.warning("microsoft token cache for account not stored", exc_info=True)

    def current_secret(self) -> dict[str, Any]:
        return dict(self.tokens.secret)

    def close(self) -> None:
        self.graph.close()
        self.tokens.close()

    def __enter__(self) -> MicrosoftProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _free_show_as(self, calendar_id: str) -> frozenset[str]:
        chosen = (self.config.get("free_show_as") or {}).get(calendar_id) or ()
        return frozenset(str(v) for v in chosen)

    # -- reading ------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, Any] | None, *, what: str,
               ok: Callable[[GraphError], bool] | None = None,
               prefer: str = PREFER_UTC) -> Iterator[dict[str, Any]]:
        """Each page of a listing, following ``@odata.nextLink`` (within the budget in
        force: ``bounded.budget``)."""
        url: str | None = path
        headers = {"Prefer": prefer}
        while url:
            page = self.graph.call("GET", url, what=what, params=params, headers=headers, ok=ok)
            if page is None:
                raise _FullSyncRequired
            yield page
            url, params = page.get("@odata.nextLink"), None

    def list_calendars(self) -> list[RemoteCalendar]:
        found: list[RemoteCalendar] = []
        for page in self._pages("me/calendars", {"$top": 100}, what="calendar list"):
            for item in page.get("value", []):
                if item.get("isDefaultCalendar"):
                    self.default_id = item["id"]
                allowed = item.get("allowedOnlineMeetingProviders") or []
                self._teams[item["id"]] = _TEAMS in allowed
                found.append(
                    RemoteCalendar(
                        id=item["id"],
                        name=item.get("name") or item["id"],
                        writable=bool(item.get("canEdit", True)),
                    )
                )
        # The default calendar first: it is the default conflict source and target.
        return sorted(found, key=lambda cal: cal.id != self.default_id)

    def _cal(self, calendar_id: str) -> str:
        return f"me/calendars/{quote(calendar_id, safe='')}"

    def busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        """Busy time straight from Graph (``calendarView`` over ``window``), without the
        service's own events; the whole check stays within ``live_budget`` seconds."""
        busy: list[Interval] = []
        free_as = self._free_show_as(calendar_id)
        params = {
            "startDateTime": iso_utc(window.start),
            "endDateTime": iso_utc(window.end),
            "$select": "showAs,isCancelled,isAllDay,start,end,type,transactionId",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{UID_PROPERTY}')",
            "$top": PAGE_SIZE,
        }
        with bounded.budget(self.live_budget):
            for page in self._pages(f"{self._cal(calendar_id)}/calendarView", params, what="calendar view"):
                for event in page.get("value", []):
                    interval = None if is_own_event(event) else busy_interval(event, self.tz, free_as)
                    if interval is not None and interval.overlaps(window):
                        busy.append(Interval(max(interval.start, window.start), min(interval.end, window.end)))
        return merge(busy)

    def sync(self, calendar_id: str, state: str | None, window: Interval) -> SyncResult:
        before = self.requests
        parsed = _parse_state(state)
        if parsed and parsed["delta"] and window.end <= parsed["until"]:
            try:
                result = self._incremental(calendar_id, parsed, window)
            except _FullSyncRequired:
                log.info("microsoft sync state for a calendar is gone; full sync")
            else:
                result.requests = self.requests - before
                return result
        result = self._full(calendar_id, window)
        result.requests = self.requests - before
        return result

    def _full(self, calendar_id: str, window: Interval) -> SyncResult:
        until = window.end + LOOKAHEAD
        free_as = self._free_show_as(calendar_id)
        changed: dict[str, list[Interval]] = {}
        delta = None
        params = {"startDateTime": iso_utc(window.start), "endDateTime": iso_utc(until)}
        try:
            for page in self._pages(f"{self._cal(calendar_id)}/calendarView/delta", params,
                                    what="event list", ok=_resync_required,
                                    prefer=f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"):
                for event in page.get("value", []):
                    if "@removed" in event or is_own_event(event):
                        continue
                    interval = busy_interval(event, self.tz, free_as)
                    if interval is not None:
                        changed.setdefault(event["id"], []).append(interval)
                delta = page.get("@odata.deltaLink") or delta
        except _FullSyncRequired:  # a page link went stale mid-listing
            raise ProviderError("the Outlook calendar listing was interrupted; will retry") from None
        return SyncResult(state=_dump_state(delta, until), full=True, changed=changed)

    def _incremental(self, calendar_id: str, state: dict[str, Any], window: Interval) -> SyncResult:
        covered = Interval(window.start, state["until"])
        free_as = self._free_show_as(calendar_id)
        result = SyncResult(state=None, full=False)
        delta = None
        for page in self._pages(state["delta"], None, what="event changes", ok=_resync_required,
                                prefer=f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"):
            for event in page.get("value", []):
                key = event.get("id")
                if not key:
                    continue
                if "@removed" in event:
                    result.deleted.add(key)
                    result.changed.pop(key, None)
                    continue
                if is_own_event(event):
                    continue
                interval = busy_interval(event, self.tz, free_as)
                keep = interval is not None and interval.overlaps(covered)
                result.changed[key] = [interval] if keep else []
                result.deleted.discard(key)
            delta = page.get("@odata.deltaLink") or delta
        result.state = _dump_state(delta, state["until"])
        return result

    # -- writing ------------------------------------------------------------------

    def find_event(self, calendar_id: str, uid: str) -> str | None:
        """The Graph id of our event for ``uid`` in the calendar, found by its extended
        property (how a write whose answer was lost is found again)."""
        value = uid.replace("'", "''")
        page = self.graph.call(
            "GET",
            f"{self._cal(calendar_id)}/events",
            what="event lookup",
            params={
                "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROPERTY}' and ep/value eq '{value}')",
                "$select": "id",
                "$top": 5,
            },
        )
        found = [e["id"] for e in (page or {}).get("value", []) if e.get("id")]
        return found[0] if found else None

    def _teams_allowed(self, calendar_id: str) -> bool:
        if calendar_id not in self._teams:
            data = self.graph.call("GET", self._cal(calendar_id), what="calendar",
                                   params={"$select": "id,allowedOnlineMeetingProviders"}) or {}
            self._teams[calendar_id] = _TEAMS in (data.get("allowedOnlineMeetingProviders") or [])
        return self._teams[calendar_id]

    def put_event(self, calendar_id: str, event: OutgoingEvent) -> None:
        """Update our event for ``event.uid`` if it is there, else create it.

        The create carries a ``transactionId`` derived from the uid: if an earlier
        create was stored but its answer lost, Graph answers with that first event.
        """
        teams = bool(getattr(event, "online_meeting", False)) and self._teams_allowed(calendar_id)
        body = event_body(event, teams=teams)
        existing = self.find_event(calendar_id, event.uid)
        if existing is None:
            self.graph.call("POST", f"{self._cal(calendar_id)}/events", what="event create",
                            body={**body, "transactionId": transaction_id(event.uid)},
                            headers={"Prefer": PREFER_UTC})
            return
        patch = {k: v for k, v in body.items() if k != "singleValueExtendedProperties"}
        if teams:  # a Teams meeting, once made, stays: Graph refuses to turn it off again
            patch.pop("onlineMeetingProvider", None)
        self.graph.call("PATCH", f"me/events/{quote(existing, safe='')}", what="event update",
                        body=patch, headers={"Prefer": PREFER_UTC})

    def delete_event(self, calendar_id: str, uid: str) -> None:
        existing = self.find_event(calendar_id, uid)
        if existing is None:
            return
        self.graph.call("DELETE", f"me/events/{quote(existing, safe='')}", what="event delete", ok=_gone)

    # -- change notifications -----------------------------------------------------

    def subscribe(self, calendar_id: str, address: str, lifecycle_address: str, client_state: str,
                  expires: datetime) -> tuple[str, datetime]:
        """``POST /subscriptions`` on the calendar's events; (subscription id, expiry).

        Graph first posts a ``validationToken`` to ``address`` and creates nothing
        unless the answer echoes it within 10 seconds (``service.web.microsoft``).
        """
        created = self.graph.call("POST", "subscriptions", what="subscription", body={
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": lifecycle_address,
            "resource": f"{self._cal(calendar_id)}/events",
            "expirationDateTime": iso_utc(expires),
            "clientState": client_state,
        }, deadline=self.timeout + 15)
        return created["id"], _parse_expiry(created.get("expirationDateTime"), expires)

    def renew(self, subscription_id: str, expires: datetime) -> datetime | None:
        """Move a subscription's expiry; None if Graph no longer knows it."""
        renewed = self.graph.call("PATCH", f"subscriptions/{quote(subscription_id, safe='')}",
                                  what="subscription renewal",
                                  body={"expirationDateTime": iso_utc(expires)}, ok=_gone)
        if renewed is None:
            return None
        return _parse_expiry(renewed.get("expirationDateTime"), expires)

    def unsubscribe(self, subscription_id: str) -> None:
        self.graph.call("DELETE", f"subscriptions/{quote(subscription_id, safe='')}",
                        what="subscription delete", ok=_gone)


def _parse_expiry(value: Any, default: datetime) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return default
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_state(state: str | None) -> dict[str, Any] | None:
    if not state:
        return None
    try:
        data = json.loads(state)
        return {"delta": data.get("delta"), "until": datetime.fromisoformat(data["until"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # unknown format: start over with a full sync


def _dump_state(delta: str | None, until: datetime) -> str:
    return json.dumps({"delta": delta, "until": until.astimezone(UTC).isoformat()})
