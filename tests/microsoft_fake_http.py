"""The HTTP side of the fake Microsoft (tests/microsoft_fake.py): routing, faults, paging,
lost answers."""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.fake_server import QuietHandler, Recorded
from tests.fake_server import route as route_of
from tests.microsoft_fake import (
    GRAPH_PREFIX,
    MAX_SUBSCRIPTION,
    FakeMicrosoft,
    GraphError,
    _instant,
    _parse_graph_time,
)

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^me/calendars$"), "calendars.list"),
    ("GET", re.compile(r"^me/calendars/([^/]+)$"), "calendars.get"),
    ("GET", re.compile(r"^me/calendars/([^/]+)/calendarView$"), "calendarView"),
    ("GET", re.compile(r"^me/calendars/([^/]+)/calendarView/delta$"), "calendarView.delta"),
    ("GET", re.compile(r"^me/calendars/([^/]+)/events$"), "events.list"),
    ("POST", re.compile(r"^me/calendars/([^/]+)/events$"), "events.create"),
    ("PATCH", re.compile(r"^me/events/([^/]+)$"), "events.update"),
    ("DELETE", re.compile(r"^me/events/([^/]+)$"), "events.delete"),
    ("POST", re.compile(r"^subscriptions$"), "subscriptions.create"),
    ("PATCH", re.compile(r"^subscriptions/([^/]+)$"), "subscriptions.update"),
    ("DELETE", re.compile(r"^subscriptions/([^/]+)$"), "subscriptions.delete"),
]
_WRITES = {"events.create", "events.update", "events.delete"}
_OPENID = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_TOKEN = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")


def handler_for(fake: FakeMicrosoft) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"fake": fake})


class _Handler(QuietHandler):
    fake: FakeMicrosoft

    def _misbehave(self, mode: str) -> None:
        """``huge``: an endless JSON answer without a length; ``drip``: a byte at a time."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if mode == "drip":
            self.send_header("Content-Length", "100000")
        self.send_header("Connection", "close")
        self.end_headers()
        if mode == "huge":
            self.wfile.write(b'{"value": [')
            chunk = b'{"id": "x", "showAs": "busy"},' * 2048
            for _ in range(64 * 1024 * 1024 // len(chunk)):  # 64 MB at most
                self.wfile.write(chunk)
            return
        for _ in range(600):  # a minute at most
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.1)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        openid = _OPENID.match(parts.path)
        if openid and self.command == "GET":
            tenant = openid.group(1)
            base = f"{fake.url}/{tenant}"
            with fake.lock:
                fake.requests.append(Recorded("GET", parts.path, query, None, "openid"))
            self._send(200, {"issuer": fake.issuer(tenant), "token_endpoint": f"{base}/oauth2/v2.0/token",
                             "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                             "response_types_supported": ["code"], "scopes_supported": ["openid"]})
            return
        token = _TOKEN.match(parts.path)
        if token and self.command == "POST":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            with fake.lock:
                fake.requests.append(Recorded("POST", parts.path, {}, form, "token"))
                status, body = fake.token(form, token.group(1))
            self._send(status, body)
            return
        if not parts.path.startswith(GRAPH_PREFIX):
            self._send(404, GraphError(404, "NotFound", "Not Found").body())
            return
        rel = parts.path[len(GRAPH_PREFIX):]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, GraphError(400, "BadRequest", "Unable to read JSON request payload.").body())
            return
        route = route_of(_ROUTES, self.command, rel)
        if route is None:
            self._send(400, GraphError(400, "BadRequest", f"Resource not found for the segment '{rel}'.").body())
            return
        name, args = route
        if fake.delay:
            time.sleep(fake.delay)  # a slow Graph
        if fake.misbehaving.get(name):
            with fake.lock:
                fake.requests.append(Recorded(self.command, rel, query, body, name, dict(self.headers.items())))
            self._misbehave(fake.misbehaving[name])
            return
        headers = {k: v for k, v in self.headers.items()}
        extra: dict[str, str] = {}
        with fake.lock:
            fake.requests.append(Recorded(self.command, rel, query, body, name, headers))
            try:
                fake.authenticate(self.headers.get("Authorization"))
                if fake._faults and fake._faults[0][0] in (None, name):
                    raise fake._faults.popleft()[1]
                status, result = _dispatch(fake, name, args, query, body, headers)
            except GraphError as exc:
                status, result, extra = exc.status, exc.body(), exc.headers
            lose = name in _WRITES and status < 300 and fake._lose > 0
            if lose:
                fake._lose -= 1
        if lose:  # the write is stored; the answer never arrives
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, result, extra)


def _zone_asked(headers: dict[str, str]) -> str | None:
    prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
    match = re.search(r'outlook\.timezone="([^"]+)"', prefer)
    return match.group(1) if match else None


def _page_size(headers: dict[str, str]) -> int:
    prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    return int(match.group(1)) if match else 50


def _calendar(fake: FakeMicrosoft, cal_id: str):
    cal = fake.calendars.get(cal_id)
    if cal is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return cal


def _find_event(fake: FakeMicrosoft, event_id: str):
    for cal in fake.calendars.values():
        if event_id in cal.events:
            return cal, cal.events[event_id]
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _in_range(fake: FakeMicrosoft, event: dict[str, Any], start: datetime, end: datetime) -> bool:
    s, e = fake.span(event)
    return s < end and e > start


def _paged(fake, items: list[dict[str, Any]], size: int, base: str, delta: str | None) -> dict[str, Any]:
    page, rest = items[:size], items[size:]
    out: dict[str, Any] = {"@odata.context": f"{fake.graph_endpoint}$metadata#Collection(event)", "value": page}
    if rest:
        skip = secrets.token_urlsafe(12)
        fake.pages[skip] = (rest, delta or "")
        out["@odata.nextLink"] = f"{base}?$skiptoken={skip}"
    elif delta is not None:
        out["@odata.deltaLink"] = f"{base}?$deltatoken={delta}"
    return out


def _dispatch(fake: FakeMicrosoft, name: str, args: list[str], q: dict[str, str], body: dict,
              headers: dict[str, str]) -> tuple[int, Any]:
    zone = _zone_asked(headers)
    if name == "calendars.list":
        items = [{"id": c.id, "name": c.name, "canEdit": c.can_edit, "isDefaultCalendar": c.default,
                  "allowedOnlineMeetingProviders": ["teamsForBusiness"] if c.teams else [],
                  "owner": {"name": fake.user["name"], "address": fake.user["preferred_username"]}}
                 for c in fake.calendars.values()]
        top, skip = min(int(q.get("$top", 10)), 10), int(q.get("$skip", 0))  # the server may page smaller
        out: dict[str, Any] = {"value": items[skip:skip + top]}
        if skip + top < len(items):
            out["@odata.nextLink"] = f"{fake.graph_endpoint}me/calendars?$top={top}&$skip={skip + top}"
        return 200, out
    if name == "calendars.get":
        cal = _calendar(fake, args[0])
        return 200, {"id": cal.id, "name": cal.name,
                     "allowedOnlineMeetingProviders": ["teamsForBusiness"] if cal.teams else []}
    if name == "calendarView":
        cal = _calendar(fake, args[0])
        start, end = _instant(q.get("startDateTime"), "startDateTime"), _instant(q.get("endDateTime"), "endDateTime")
        expand = "singleValueExtendedProperties" in q.get("$expand", "")
        items = [fake._public(e, zone, expand) for e in fake.expanded(cal) if _in_range(fake, e, start, end)]
        return 200, {"value": items}
    if name == "calendarView.delta":
        return 200, _delta(fake, args[0], q, zone, headers)
    if name == "events.list":
        cal = _calendar(fake, args[0])
        wanted = _property_filter(q.get("$filter", ""))
        items = [fake._public(e, zone, True) for e in cal.events.values()
                 if wanted is not None and any(p.get("value") == wanted[1] and p.get("id", "").casefold() == wanted[0].casefold()
                                               for p in e.get("singleValueExtendedProperties") or ())]
        return 200, {"value": items}
    if name == "events.create":
        return _create(fake, args[0], body, zone)
    if name == "events.update":
        cal, event = _find_event(fake, args[0])
        _apply_body(event, body, cal)
        fake._store(cal, event)
        return 200, fake._public(event, zone, True)
    if name == "events.delete":
        cal, event = _find_event(fake, args[0])
        fake.remove_event(cal.id, event["id"])
        return 204, None
    if name == "subscriptions.create":
        return _subscribe(fake, body)
    if name == "subscriptions.update":
        sub = fake.subscriptions.get(args[0])
        if sub is None:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        expires = _instant(body.get("expirationDateTime"), "expirationDateTime")
        _check_expiry(expires)
        sub["expirationDateTime"] = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        return 200, dict(sub)
    if name == "subscriptions.delete":
        if fake.subscriptions.pop(args[0], None) is None:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return 204, None
    raise GraphError(400, "BadRequest", name)


def _property_filter(text: str) -> tuple[str, str] | None:
    match = re.match(r"^singleValueExtendedProperties/Any\(ep: ep/id eq '(.+?)' and ep/value eq '(.*)'\)$", text)
    if not match:
        if text:
            raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The filter is not supported.")
        return None
    return match.group(1), match.group(2).replace("''", "'")


def _delta(fake: FakeMicrosoft, cal_id: str, q: dict[str, str], zone: str | None, headers) -> dict[str, Any]:
    cal = _calendar(fake, cal_id)
    base = f"{fake.graph_endpoint}me/calendars/{quote(cal_id, safe='')}/calendarView/delta"
    size = _page_size(headers)
    if "$skiptoken" in q:
        rest, delta = fake.pages.pop(q["$skiptoken"], (None, ""))
        if rest is None:
            raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")
        return _paged(fake, rest, size, base, delta or None)
    if "$deltatoken" in q:
        state = fake.delta_states.get(q["$deltatoken"])
        if state is None or state["epoch"] != cal.epoch:
            raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
        start, end, since = state["start"], state["end"], state["seq"]
        items = []
        for event in fake.expanded(cal):
            if event["_seq"] <= since:
                continue
            if _in_range(fake, event, start, end):
                items.append(fake._public(event, zone))
            else:
                items.append({"@odata.type": "#microsoft.graph.event", "id": event["id"], "@removed": {"reason": "deleted"}})
        items += [{"@odata.type": "#microsoft.graph.event", "id": key, "@removed": {"reason": "deleted"}}
                  for key, seq in cal.tombstones.items() if seq > since]
    else:
        start, end = _instant(q.get("startDateTime"), "startDateTime"), _instant(q.get("endDateTime"), "endDateTime")
        items = [fake._public(e, zone) for e in fake.expanded(cal) if _in_range(fake, e, start, end)]
    token = secrets.token_urlsafe(16)
    fake.delta_states[token] = {"start": start, "end": end, "seq": fake.seq, "epoch": cal.epoch}
    return _paged(fake, items, size, base, token)


def _apply_body(event: dict[str, Any], body: dict[str, Any], cal) -> None:
    for key in ("subject", "body", "showAs", "isReminderOn", "singleValueExtendedProperties"):
        if key in body:
            event[key] = body[key]
    for key in ("start", "end"):
        if key in body:
            event["_" + key] = _parse_graph_time(body[key])
    if body.get("isOnlineMeeting") and cal.teams:
        event["isOnlineMeeting"] = True
        event["onlineMeetingProvider"] = "teamsForBusiness"
        event.setdefault("onlineMeeting", {"joinUrl": "https://teams.microsoft.com/l/meetup-join/" + secrets.token_hex(8)})


def _create(fake: FakeMicrosoft, cal_id: str, body: dict[str, Any], zone: str | None) -> tuple[int, Any]:
    cal = _calendar(fake, cal_id)
    if not cal.can_edit:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    transaction = body.get("transactionId")
    if transaction:
        for event in cal.events.values():
            if event.get("transactionId") == transaction:
                return 201, fake._public(event, zone, True)  # the first event, not a second
    event = {"id": fake._next_id(), "showAs": "busy", "isCancelled": False, "type": "singleInstance",
             "_zone": body.get("start", {}).get("timeZone") or "UTC", "isAllDay": False}
    if transaction:
        event["transactionId"] = transaction
    _apply_body(event, body, cal)
    fake._store(cal, event)
    return 201, fake._public(event, zone, True)


def _check_expiry(expires: datetime) -> None:
    now = datetime.now(UTC)
    if expires <= now or expires > now + MAX_SUBSCRIPTION:
        raise GraphError(400, "ExtensionError", "Subscription expiration can only be 4230 minutes in the future.")


def _subscribe(fake: FakeMicrosoft, body: dict[str, Any]) -> tuple[int, Any]:
    resource = body.get("resource", "")
    match = re.match(r"^me/calendars/([^/]+)/events$", resource)
    if not match or unquote(match.group(1)) not in fake.calendars:
        raise GraphError(400, "InvalidRequest", "The resource is not valid.")
    expires = _instant(body.get("expirationDateTime"), "expirationDateTime")
    _check_expiry(expires)
    if len(body.get("clientState") or "") > 128:
        raise GraphError(400, "InvalidRequest", "clientState is longer than 128 characters.")
    for url in filter(None, (body.get("notificationUrl"), body.get("lifecycleNotificationUrl"))):
        if not url.startswith("https://"):
            raise GraphError(400, "InvalidRequest", "The notification URL must use https.")
        token = "Validation: Testing client application reachability " + secrets.token_hex(8)
        answer = fake.deliver(url, token) if fake.deliver else None
        if not answer or answer[0] != 200 or not answer[1].startswith("text/plain") or answer[2] != token:
            raise GraphError(400, "ValidationError", "Subscription validation request failed. "
                             "Response must exactly match validationToken query parameter.")
    sub_id = secrets.token_hex(16)
    sub = {"id": sub_id, "resource": resource, "changeType": body.get("changeType"),
           "clientState": body.get("clientState"), "notificationUrl": body.get("notificationUrl"),
           "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
           "expirationDateTime": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
           "applicationId": fake.client_id}
    fake.subscriptions[sub_id] = sub
    return 201, dict(sub)
