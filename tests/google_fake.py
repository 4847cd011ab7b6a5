"""A small, honest Google Calendar v3 + OAuth token endpoint, over real HTTP.

It implements the documented behaviour the service relies on (see the method and
parameter descriptions in googleapiclient's bundled ``calendar.v3.json``, which this
module also reads for the OAuth scopes each method accepts):

- ``calendarList.list``, ``events.list`` (singleEvents, timeMin/timeMax, paging,
  sync tokens, 400 when ``syncToken`` is combined with a forbidden parameter, 410
  ``fullSyncRequired`` for an expired token), ``events.get/insert/patch/delete``
  (client-chosen ids: base32hex, 5-1024 chars; 409 ``duplicate``; 410 ``deleted``),
  ``events.watch``, ``channels.stop``, ``freeBusy.query``;
- the token endpoint: ``refresh_token`` and ``authorization_code`` grants (PKCE S256);
  a revoked refresh token answers 400 ``{"error": "invalid_grant"}``;
- errors in Google's JSON shape ``{"error": {"code", "message", "errors": [...], "status"}}``.

Fault injection: ``fail_next(n, status, reason)`` answers the next ``n`` API requests
with an error; ``lose_responses(n)`` stores the next ``n`` writes and then drops the
connection without answering. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.fake_server import FakeServer

API_PREFIX = "/calendar/v3/"
_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "GONE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_SYNC_FORBIDDEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def _method_scopes() -> dict[str, frozenset[str]]:
    doc = json.loads(
        files("googleapiclient")
        .joinpath("discovery_cache/documents/calendar.v3.json")
        .read_text(encoding="utf-8")
    )
    scopes = {}
    for resource, body in doc["resources"].items():
        for name, method in body.get("methods", {}).items():
            scopes[f"{resource}.{name}"] = frozenset(method.get("scopes", ()))
    return scopes


SCOPES = _method_scopes()


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, **extra: Any):
        super().__init__(message)
        self.code, self.reason, self.message, self.extra = code, reason, message, extra

    def body(self) -> dict[str, Any]:
        detail = {"domain": "global", "reason": self.reason, "message": self.message, **self.extra}
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [detail],
                "status": _STATUS_NAMES.get(self.code, "UNKNOWN"),
            }
        }


@dataclass
class FakeCalendar:
    id: str
    summary: str
    primary: bool = False
    access_role: str = "owner"
    time_zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    epoch: int = 0  # bumped to expire every sync token issued before

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass
class Grant:
    client_id: str
    scopes: frozenset[str]
    revoked: bool = False


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(value: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid", f"Invalid value for: {what}") from None
    if parsed.tzinfo is None:
        raise ApiError(400, "invalid", f"Invalid value for: {what} (offset required)")
    return parsed


class FakeGoogle(FakeServer):
    """State of one fake Google: calendars, OAuth grants, channels, faults."""

    def __init__(self, client_id: str = "client-1", client_secret: str = "s3cret"):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.calendars: dict[str, FakeCalendar] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.access: dict[str, str] = {}  # access token -> refresh token
        self.codes: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._faults: deque[tuple[str | None, ApiError]] = deque()
        self._lose = 0
        self.meetings_made = 0  # Meet conferences made by createRequest
        self._seq = itertools.count(1)
        self.seq = 0

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> FakeGoogle:
        from tests.google_fake_http import handler_for

        return self.serve(handler_for(self))

    @property
    def api_endpoint(self) -> str:
        return self.url + API_PREFIX

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    # -- test set-up --------------------------------------------------------------

    def add_calendar(self, cal_id: str, summary: str | None = None, **kw: Any) -> FakeCalendar:
        with self.lock:
            cal = FakeCalendar(cal_id, summary or cal_id, **kw)
            self.calendars[cal_id] = cal
            return cal

    def authorize(self, scopes: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A grant as after the consent screen: the authorized-user info of the lawyer."""
        refresh = "1//" + secrets.token_urlsafe(16)
        with self.lock:
            self.grants[refresh] = Grant(self.client_id, frozenset(scopes or _ALL_SCOPES))
        return {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": refresh,
        }

    def revoke(self, refresh_token: str) -> None:
        with self.lock:
            self.grants[refresh_token].revoked = True
            for token in [t for t, r in self.access.items() if r == refresh_token]:
                del self.access[token]

    def consent(self, auth_url: str, scopes: tuple[str, ...] | None = None) -> tuple[str, str]:
        """The user clicks "Allow" on ``auth_url``: returns (code, state) as redirected."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
        assert query["client_id"] == self.client_id and query["response_type"] == "code"
        code = "4/" + secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = {
                "redirect_uri": query["redirect_uri"],
                "scopes": frozenset(scopes or query["scope"].split()),
                "challenge": query.get("code_challenge"),
            }
        return code, query["state"]

    def add_event(self, calendar_id: str, **fields: Any) -> dict[str, Any]:
        """An event created by the lawyer in Google (not through the API under test)."""
        with self.lock:
            cal = self.calendars[calendar_id]
            event = {"id": fields.pop("id", None) or secrets.token_hex(10), "status": "confirmed"}
            event.update(fields)
            self._store(cal, event, created=True)
            return event

    def change_event(self, calendar_id: str, event_id: str, **fields: Any) -> None:
        with self.lock:
            event = self.calendars[calendar_id].events[event_id]
            event.update(fields)
            self._store(self.calendars[calendar_id], event)

    def remove_event(self, calendar_id: str, event_id: str) -> None:
        self.change_event(calendar_id, event_id, status="cancelled")

    def expire_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self.calendars[calendar_id].epoch += 1

    def fail_next(
        self, n: int, status: int, reason: str = "backendError", method: str | None = None
    ) -> None:
        """Answer the next ``n`` API requests (of ``method`` only, if given) with an error."""
        messages = {429: "Rate Limit Exceeded", 403: "Rate Limit Exceeded", 503: "Backend Error"}
        with self.lock:
            for _ in range(n):
                error = ApiError(status, reason, messages.get(status, reason))
                self._faults.append((method, error))

    def lose_responses(self, n: int) -> None:
        """Commit the next ``n`` writes, then drop the connection instead of answering."""
        with self.lock:
            self._lose += n

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self._lose = 0
        self.meetings_made = 0  # Meet conferences made by createRequest

    def live_events(self, calendar_id: str) -> list[dict[str, Any]]:
        cal = self.calendars[calendar_id]
        return [_public(e) for e in cal.events.values() if e["status"] != "cancelled"]

    def notification(self, channel_id: str, state: str = "exists") -> dict[str, str]:
        """The headers Google sends to a channel's address."""
        channel = self.channels[channel_id]
        channel["messages"] += 1
        return {
            "X-Goog-Channel-ID": channel_id,
            "X-Goog-Channel-Token": channel.get("token", ""),
            "X-Goog-Channel-Expiration": channel["expiration_http"],
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-URI": channel["resourceUri"],
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel["messages"]),
        }

    # -- storage ------------------------------------------------------------------

    def _store(self, cal: FakeCalendar, event: dict[str, Any], created: bool = False) -> None:
        now = _rfc3339(datetime.now(UTC))
        self.seq = next(self._seq)
        event["_seq"] = self.seq
        event["updated"] = now
        event["etag"] = f'"{self.seq}"'
        event.setdefault("kind", "calendar#event")
        event.setdefault("iCalUID", event["id"] + "@google.com")
        event.setdefault("sequence", 0)
        if created:
            event["created"] = now
        cal.events[event["id"]] = event

    def _calendar(self, cal_id: str) -> FakeCalendar:
        if cal_id == "primary":
            for cal in self.calendars.values():
                if cal.primary:
                    return cal
        cal = self.calendars.get(cal_id)
        if cal is None:
            raise ApiError(404, "notFound", "Not Found")
        return cal

    def _span(self, cal: FakeCalendar, event: dict[str, Any]) -> tuple[datetime, datetime]:
        if "_span" in event:  # a malformed resource: where Google itself has it
            return event["_span"]

        def edge(value: dict[str, Any]) -> datetime:
            if "dateTime" in value:
                return datetime.fromisoformat(value["dateTime"])
            return datetime.combine(date.fromisoformat(value["date"]), dtime(0), cal.zone)

        return edge(event["start"]), edge(event["end"])

    # -- API ----------------------------------------------------------------------

    def calendar_list(self, q: dict[str, str]) -> dict[str, Any]:
        items = [
            {
                "kind": "calendar#calendarListEntry",
                "id": cal.id,
                "summary": cal.summary,
                "timeZone": cal.time_zone,
                "accessRole": cal.access_role,
                **({"primary": True} if cal.primary else {}),
            }
            for cal in self.calendars.values()
        ]
        page, token = _page(items, q, default=100, maximum=250)
        return {"kind": "calendar#calendarList", "items": page, **token}

    def events_list(self, cal_id: str, q: dict[str, str]) -> dict[str, Any]:
        cal = self._calendar(cal_id)
        if "syncToken" in q:
            bad = [name for name in _SYNC_FORBIDDEN if name in q]
            if bad or q.get("showDeleted") == "false":
                raise ApiError(400, "invalid", f"syncToken cannot be combined with {bad}")
        if q.get("orderBy") == "startTime" and q.get("singleEvents") != "true":
            raise ApiError(400, "invalid", "The requested ordering is not available.")
        start = _instant(q["timeMin"], "timeMin") if "timeMin" in q else None
        end = _instant(q["timeMax"], "timeMax") if "timeMax" in q else None
        if start and end and start >= end:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        cursor = _decode(q["pageToken"]) if "pageToken" in q else {"offset": 0, "snap": self.seq}
        since = 0
        if "syncToken" in q:
            token = _decode(q["syncToken"])
            if token.get("cal") != cal.id or token.get("epoch") != cal.epoch:
                raise ApiError(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                )
            since = token["seq"]
        show_deleted = "syncToken" in q or q.get("showDeleted") == "true"
        selected = []
        for event in sorted(cal.events.values(), key=lambda e: e["_seq"]):
            if not since < event["_seq"] <= cursor["snap"]:
                continue
            if event["status"] == "cancelled":
                if show_deleted:
                    selected.append({k: event[k] for k in ("kind", "etag", "id", "status")})
                continue
            ev_start, ev_end = self._span(cal, event)
            if (start and ev_end <= start) or (end and ev_start >= end):
                continue
            selected.append(_public(event))
        size = min(int(q.get("maxResults", 250)), 2500)
        offset = cursor["offset"]
        response: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": cal.summary,
            "timeZone": cal.time_zone,
            "accessRole": cal.access_role,
            "items": selected[offset : offset + size],
        }
        if offset + size < len(selected):
            response["nextPageToken"] = _encode({"offset": offset + size, "snap": cursor["snap"]})
        else:
            response["nextSyncToken"] = _encode(
                {"cal": cal.id, "epoch": cal.epoch, "seq": cursor["snap"]}
            )
        return response

    def events_get(self, cal_id: str, event_id: str) -> dict[str, Any]:
        event = self._calendar(cal_id).events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return _public(event)

    def _conference(self, event: dict[str, Any], previous: dict[str, Any] | None, q: dict[str, str]) -> None:
        """``conferenceData`` as Google handles it: a request body's conference data is
        read only with ``conferenceDataVersion=1`` (else ignored, and an existing meeting
        kept); a ``createRequest`` makes a Meet meeting (entry point + ``hangoutLink``),
        the same ``requestId`` again keeps the same meeting."""
        asked = event.pop("conferenceData", None)
        kept = (previous or {}).get("conferenceData")
        if int(q.get("conferenceDataVersion", "0") or 0) < 1 or not isinstance(asked, dict):
            if kept:
                event["conferenceData"], event["hangoutLink"] = kept, previous["hangoutLink"]
            return
        create = asked.get("createRequest")
        if not isinstance(create, dict):
            if kept:
                event["conferenceData"], event["hangoutLink"] = kept, previous["hangoutLink"]
            return
        key = (create.get("conferenceSolutionKey") or {}).get("type")
        if key != "hangoutsMeet" or not create.get("requestId"):
            raise ApiError(400, "invalid", "Invalid conference type value.")
        if kept and kept["createRequest"]["requestId"] == create["requestId"]:
            event["conferenceData"], event["hangoutLink"] = kept, previous["hangoutLink"]
            return
        letters = "abcdefghijklmnopqrstuvwxyz"
        code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
        link = f"https://meet.google.com/{code}"
        self.meetings_made += 1
        event["conferenceData"] = {
            "createRequest": {**create, "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": link, "label": link[8:]}],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": code,
        }
        event["hangoutLink"] = link

    def events_insert(self, cal_id: str, body: dict[str, Any], q: dict[str, str] | None = None) -> dict[str, Any]:
        cal = self._calendar(cal_id)
        _require_writer(cal)
        event_id = body.get("id")
        if event_id is not None and not _EVENT_ID.match(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in cal.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        event = {k: v for k, v in body.items() if not k.startswith("_")}
        event["id"] = event_id or secrets.token_hex(13)
        event.setdefault("status", "confirmed")
        self._check_times(cal, event)
        self._conference(event, None, q or {})
        self._store(cal, event, created=True)
        return _public(event)

    def events_patch(
        self, cal_id: str, event_id: str, body: dict[str, Any], q: dict[str, str] | None = None
    ) -> dict[str, Any]:
        cal = self._calendar(cal_id)
        _require_writer(cal)
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        updated = dict(event)
        for key, value in body.items():
            if key == "extendedProperties" and isinstance(value, dict):
                merged = dict(updated.get(key) or {})
                for scope, props in value.items():
                    merged[scope] = {**merged.get(scope, {}), **props}
                updated[key] = merged
            elif key not in ("id", "iCalUID", "_seq"):
                updated[key] = value
        self._check_times(cal, updated)
        if "conferenceData" not in body:
            updated.pop("conferenceData", None)
        self._conference(updated, event, q or {})
        updated["sequence"] = event.get("sequence", 0) + 1
        self._store(cal, updated)
        return _public(updated)

    def events_delete(self, cal_id: str, event_id: str) -> None:
        cal = self._calendar(cal_id)
        _require_writer(cal)
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        if event["status"] == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        self._store(cal, event)

    def _check_times(self, cal: FakeCalendar, event: dict[str, Any]) -> None:
        if "start" not in event or "end" not in event:
            raise ApiError(
                400, "required", "Missing end time." if "start" in event else "Missing start time."
            )
        try:
            start, end = self._span(cal, event)
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "invalid", "Invalid start or end time.") from None
        if start.tzinfo is None or end.tzinfo is None:
            raise ApiError(400, "invalid", "Missing time zone definition for start time.")
        if end < start:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")

    def events_watch(self, cal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        cal = self._calendar(cal_id)
        if body.get("type") not in ("web_hook", "webhook"):
            raise ApiError(400, "invalid", "Invalid channel type")
        if not str(body.get("address", "")).startswith("https://"):
            raise ApiError(
                400,
                "push.webhookUrlNotHttps",
                f"WebHook callback must be HTTPS: {body.get('address')}",
            )
        if not body.get("id") or body["id"] in self.channels:
            raise ApiError(400, "channelIdNotUnique", "Channel id not unique")
        ttl = int((body.get("params") or {}).get("ttl", 604800))
        expires = datetime.now(UTC) + timedelta(seconds=ttl)
        channel = {
            "kind": "api#channel",
            "id": body["id"],
            "resourceId": hashlib.sha1(cal.id.encode()).hexdigest()[:27],
            "resourceUri": f"{self.api_endpoint}calendars/{cal.id}/events?alt=json",
            "expiration": str(int(expires.timestamp() * 1000)),
        }
        if body.get("token"):
            channel["token"] = body["token"]
        self.channels[body["id"]] = {
            **channel,
            "calendar": cal.id,
            "address": body["address"],
            "messages": 0,
            "expiration_http": expires.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        return channel

    def channels_stop(self, body: dict[str, Any]) -> None:
        channel = self.channels.get(body.get("id", ""))
        if channel is None or channel["resourceId"] != body.get("resourceId"):
            raise ApiError(404, "notFound", f"Channel '{body.get('id')}' not found for project")
        del self.channels[body["id"]]

    def freebusy(self, body: dict[str, Any]) -> dict[str, Any]:
        if "timeMin" not in body or "timeMax" not in body:
            raise ApiError(400, "required", "Missing timeMin or timeMax.")
        start, end = _instant(body["timeMin"], "timeMin"), _instant(body["timeMax"], "timeMax")
        result: dict[str, Any] = {}
        for item in body.get("items", []):
            cal_id = item.get("id", "")
            cal = self.calendars.get(cal_id) if cal_id != "primary" else None
            if cal_id == "primary":
                cal = next((c for c in self.calendars.values() if c.primary), None)
            if cal is None:
                result[cal_id] = {
                    "errors": [{"domain": "global", "reason": "notFound"}],
                    "busy": [],
                }
                continue
            spans = []
            for event in cal.events.values():
                if event["status"] == "cancelled" or event.get("transparency") == "transparent":
                    continue
                if any(
                    a.get("self") and a.get("responseStatus") == "declined"
                    for a in event.get("attendees", ())
                ):
                    continue
                ev_start, ev_end = self._span(cal, event)
                if ev_start < end and start < ev_end:
                    spans.append((max(ev_start, start), min(ev_end, end)))
            merged: list[list[datetime]] = []
            for s, e in sorted(spans):
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            result[cal_id] = {
                "busy": [{"start": _rfc3339(s), "end": _rfc3339(e)} for s, e in merged]
            }
        return {
            "kind": "calendar#freeBusy",
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "calendars": result,
        }

    # -- OAuth token endpoint -----------------------------------------------------

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            grant = self.grants.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            return 200, self._access_token(form["refresh_token"], grant)
        if grant_type == "authorization_code":
            issued = self.codes.pop(form.get("code", ""), None)
            if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            if issued["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).decode().rstrip("=") != issued["challenge"]:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Invalid code verifier.",
                    }
            refresh = "1//" + secrets.token_urlsafe(16)
            grant = Grant(client_id, issued["scopes"])
            self.grants[refresh] = grant
            return 200, {**self._access_token(refresh, grant), "refresh_token": refresh}
        return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}

    def _access_token(self, refresh: str, grant: Grant) -> dict[str, Any]:
        access = "ya29." + secrets.token_urlsafe(24)
        self.access[access] = refresh
        return {
            "access_token": access,
            "expires_in": 3599,
            "scope": " ".join(sorted(grant.scopes)),
            "token_type": "Bearer",
        }

    def authenticate(self, header: str | None, method: str) -> None:
        token = (header or "").removeprefix("Bearer ").strip()
        refresh = self.access.get(token)
        if refresh is None:
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials.",
                location="Authorization",
                locationType="header",
            )
        if not self.grants[refresh].scopes & SCOPES[method]:
            raise ApiError(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )


_ALL_SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)


def _require_writer(cal: FakeCalendar) -> None:
    if cal.access_role not in ("owner", "writer"):
        raise ApiError(
            403, "requiredAccessLevel", "You need to have writer access to this calendar."
        )


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


def _encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ApiError(400, "invalid", "Invalid token value.") from None


def _page(items: list, q: dict[str, str], default: int, maximum: int) -> tuple[list, dict]:
    size = min(int(q.get("maxResults", default)), maximum)
    offset = _decode(q["pageToken"])["offset"] if "pageToken" in q else 0
    token = (
        {"nextPageToken": _encode({"offset": offset + size})} if offset + size < len(items) else {}
    )
    return items[offset : offset + size], token
