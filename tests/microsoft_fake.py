"""A small, honest Microsoft identity platform + Microsoft Graph, over real HTTPS.

MSAL insists on https authorities, so the stand-in serves TLS on 127.0.0.1 with a
certificate from a trustme CA the tests trust (``ca_file``; the fixtures put it in
``REQUESTS_CA_BUNDLE``, which the bounded sessions of MSAL and the provider honour).

Identity (``/{tenant}/...``): the OpenID configuration document MSAL discovers, and the
v2.0 token endpoint: ``authorization_code`` (the PKCE S256 verifier checked against the
challenge of the consent, redirect URI and client secret checked, a code serves once)
and ``refresh_token`` grants (a new refresh token each time; a revoked one answers 400
``invalid_grant``). Tokens carry an ``id_token`` (unsigned JWT, nonce echoed) and
``client_info``, as MSAL expects.

Graph (``/v1.0/``), in the documented shapes: ``me/calendars`` (paged), one calendar,
``calendarView`` (series expanded into occurrences), ``calendarView/delta`` (pages by
``Prefer: odata.maxpagesize``, ``@odata.nextLink`` then ``@odata.deltaLink``,
``@removed`` entries, 410 ``SyncStateNotFound`` after ``reset_sync``), events
``$filter`` on a single-value extended property, create with ``transactionId`` (a
duplicate returns the first event), update, delete, ``subscriptions`` (the
``validationToken`` handshake against the notification and lifecycle URLs, through
``deliver``). Times come back in UTC when ``Prefer:
outlook.timezone="UTC"`` asks, else in the event's own (Windows-named) zone.

Fault injection: ``fail_next(n, status, retry_after=...)``; ``lose_responses(n)``
stores the next ``n`` writes, then drops the connection; ``misbehaving[route] = "huge"``
or ``"drip"`` makes a Graph route answer without end or a byte at a time. Every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import trustme
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from tests.fake_server import FakeServer

GRAPH_PREFIX = "/v1.0/"
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumers tenant's id
MAX_SUBSCRIPTION = timedelta(minutes=4230)  # Graph's limit for Outlook events


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass
class FakeCalendar:
    id: str
    name: str
    can_edit: bool = True
    default: bool = False
    teams: bool = True
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)  # instance id -> seq removed
    epoch: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(WINDOWS_TO_OLSON.get(name, name))


def graph_time(value: datetime, zone: str) -> dict[str, str]:
    local = value.astimezone(_zone(zone))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def _parse_graph_time(edge: dict[str, str]) -> datetime:
    text = edge["dateTime"].split(".")[0]
    return datetime.fromisoformat(text).replace(tzinfo=_zone(edge.get("timeZone") or "UTC"))


def _instant(value: str | None, what: str) -> datetime:
    if not value:
        raise GraphError(400, "ErrorInvalidParameter", f"{what} is required")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", f"{what} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_TLS: list[tuple[trustme.CA, trustme.LeafCert]] = []


def _tls() -> tuple[trustme.CA, trustme.LeafCert]:
    """One CA and server certificate per test process (making RSA keys is slow)."""
    if not _TLS:
        ca = trustme.CA()
        _TLS.append((ca, ca.issue_cert("127.0.0.1", "localhost")))
    return _TLS[0]


class FakeMicrosoft(FakeServer):
    """State of one fake Microsoft: users' tokens, calendars, subscriptions, faults."""

    def __init__(self, client_id: str = "00000000-aaaa-bbbb-cccc-000000000001",
                 client_secret: str = "ms-s3cret"):  # noqa: S107 - a test value
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.calendars: dict[str, FakeCalendar] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}  # token -> {"user", "revoked"}
        self.access: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.codes: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.pages: dict[str, tuple[list[dict[str, Any]], str]] = {}  # skiptoken -> rest, delta
        self.delta_states: dict[str, dict[str, Any]] = {}
        self.user = {"oid": "00000000-0000-0000-66f3-3332eca7ea81", "name": "Anna Lawyer",
                     "preferred_username": "anna@lawfirm.example"}
        #: Graph's call to a subscription's URLs: (url, validation token) -> (status, type, body)
        self.deliver: Callable[[str, str], tuple[int, str, str]] | None = None
        self.access_ttl = 3600
        self.delay = 0.0  # seconds every Graph answer waits
        #: Graph route name -> "huge" (an endless answer) or "drip" (a byte every 0.1 s)
        self.misbehaving: dict[str, str] = {}
        self._faults: deque[tuple[str | None, GraphError]] = deque()
        self._lose = 0
        self._ids = itertools.count(1)
        self.seq = 0
        self._ca, self._cert = _tls()
        self.ca_file = ""

    # -- lifecycle ----------------------------------------------------------------

    def start(self, ca_dir: str) -> FakeMicrosoft:
        from tests.microsoft_fake_http import handler_for

        self.ca_file = f"{ca_dir}/fake-microsoft-ca.pem"
        self._ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return self.serve(handler_for(self), tls=context)

    @property
    def graph_endpoint(self) -> str:
        return self.url + GRAPH_PREFIX

    def issuer(self, tenant: str) -> str:
        return f"{self.url}/{TENANT_ID if tenant in ('common', 'consumers', 'organizations') else tenant}/v2.0"

    # -- identity -----------------------------------------------------------------

    def consent(self, auth_uri: str) -> dict[str, str]:
        """The lawyer signs in and allows access: the callback's query (code, state...)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()}
        assert query["client_id"] == self.client_id and query["response_type"] == "code"
        assert query.get("code_challenge_method") == "S256", "PKCE is required"
        code = "M." + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"redirect_uri": query["redirect_uri"], "challenge": query["code_challenge"],
                                "nonce": query.get("nonce"), "scope": query["scope"]}
        return {"code": code, "state": query["state"], "session_state": secrets.token_hex(8)}

    def refresh_token(self) -> str:
        """A refresh token as if the lawyer had consented earlier (for ``--token-file``)."""
        token = "M.R3_" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[token] = {"revoked": False}
        return token

    def revoke_all(self) -> None:
        """The lawyer (or their admin) revokes the app's access."""
        with self.lock:
            for grant in self.refresh_tokens.values():
                grant["revoked"] = True
            self.access.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access.clear()

    def token(self, form: dict[str, str], tenant: str) -> tuple[int, dict[str, Any]]:
        def refuse(error: str, description: str) -> tuple[int, dict[str, Any]]:
            return 400, {"error": error, "error_description": f"AADSTS70000: {description}",
                         "error_codes": [70000]}

        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
        grant = form.get("grant_type")
        nonce = None
        if grant == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)
            if code is None:
                return refuse("invalid_grant", "The code has expired or was already redeemed.")
            if form.get("redirect_uri") != code["redirect_uri"]:
                return refuse("invalid_grant", "The redirect URI does not match.")
            verifier = form.get("code_verifier", "")
            if _b64(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                return refuse("invalid_grant", "The code_verifier does not match the code_challenge.")
            nonce = code["nonce"]
        elif grant == "refresh_token":
            known = self.refresh_tokens.get(form.get("refresh_token", ""))
            if known is None or known["revoked"]:
                return refuse("invalid_grant", "The refresh token has expired or was revoked.")
        else:
            return refuse("unsupported_grant_type", grant or "none")
        refresh = "M.R3_" + secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = {"revoked": False}
        access = "EwB" + secrets.token_urlsafe(32)
        self.access[access] = time.time() + self.access_ttl
        now = int(time.time())
        claims = {"iss": self.issuer(tenant), "aud": self.client_id, "iat": now, "nbf": now,
                  "exp": now + 3600, "sub": "sub-" + self.user["oid"], "oid": self.user["oid"],
                  "tid": TENANT_ID, "ver": "2.0", "name": self.user["name"],
                  "preferred_username": self.user["preferred_username"]}
        if nonce:
            claims["nonce"] = nonce
        id_token = ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(claims).encode()), ""])
        client_info = _b64(json.dumps({"uid": self.user["oid"], "utid": TENANT_ID}).encode())
        return 200, {"token_type": "Bearer", "scope": "Calendars.ReadWrite openid profile",
                     "expires_in": self.access_ttl, "ext_expires_in": self.access_ttl,
                     "access_token": access, "refresh_token": refresh, "id_token": id_token,
                     "client_info": client_info}

    def authenticate(self, header: str | None) -> None:
        token = (header or "").removeprefix("Bearer ")
        if self.access.get(token, 0) <= time.time():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")

    # -- test set-up --------------------------------------------------------------

    def add_calendar(self, cal_id: str, name: str | None = None, **kw: Any) -> FakeCalendar:
        with self.lock:
            cal = FakeCalendar(cal_id, name or cal_id, **kw)
            self.calendars[cal_id] = cal
            return cal

    def _next_id(self) -> str:
        return "AAMkAG" + _b64(f"event-{next(self._ids)}".encode())

    def add_event(self, calendar_id: str, start: datetime | date, end: datetime | date, *,
                  zone: str = "UTC", **fields: Any) -> dict[str, Any]:
        """An event the lawyer made in Outlook. ``zone``: its own (Windows) zone name."""
        with self.lock:
            event = {"id": fields.pop("id", None) or self._next_id(), "subject": "Busy", "showAs": "busy",
                     "isCancelled": False, "type": "singleInstance", "_zone": zone}
            event.update(fields)
            event["_start"], event["_end"] = start, end
            event["isAllDay"] = not isinstance(start, datetime)
            self._store(self.calendars[calendar_id], event)
            return event

    def add_series(self, calendar_id: str, start: datetime, end: datetime, weeks: int, *,
                   zone: str = "UTC", moved: dict[int, datetime] | None = None,
                   cancelled: set[int] | None = None, **fields: Any) -> dict[str, Any]:
        """A weekly series in ``zone`` (wall-clock times repeat across DST); ``moved``:
        occurrence index -> new start (an exception), ``cancelled``: occurrences deleted."""
        series = self.add_event(calendar_id, start, end, zone=zone, type="seriesMaster", **fields)
        series["_weeks"], series["_moved"], series["_cancelled"] = weeks, dict(moved or {}), set(cancelled or ())
        return series

    def change_event(self, calendar_id: str, event_id: str, **fields: Any) -> None:
        with self.lock:
            cal = self.calendars[calendar_id]
            event = cal.events[event_id]
            for key in ("start", "end"):
                if key in fields:
                    event["_" + key] = fields.pop(key)
            event.update(fields)
            self._store(cal, event)

    def cancel_occurrence(self, calendar_id: str, series_id: str, index: int) -> None:
        with self.lock:
            cal = self.calendars[calendar_id]
            series = cal.events[series_id]
            series["_cancelled"].add(index)
            self.seq += 1
            cal.tombstones[f"{series_id}_{index}"] = self.seq

    def remove_event(self, calendar_id: str, event_id: str) -> None:
        with self.lock:
            cal = self.calendars[calendar_id]
            event = cal.events.pop(event_id)
            self.seq += 1
            for instance in self._instances(event) or [event]:
                cal.tombstones[instance["id"]] = self.seq

    def reset_sync(self, calendar_id: str) -> None:
        """Graph drops the sync state: every delta link given out answers 410."""
        with self.lock:
            self.calendars[calendar_id].epoch += 1

    def fail_next(self, n: int, status: int, *, retry_after: str | None = None,
                  code: str = "TooManyRequests", method: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            for _ in range(n):
                self._faults.append((method, GraphError(status, code, "Please retry again later.", headers)))

    def lose_responses(self, n: int) -> None:
        with self.lock:
            self._lose += n

    def live_events(self, calendar_id: str) -> list[dict[str, Any]]:
        return [self._public(e, "UTC", expand=True) for e in self.calendars[calendar_id].events.values()]

    def notification(self, subscription_id: str, client_state: str | None = None,
                     change: str = "updated") -> dict[str, Any]:
        sub = self.subscriptions[subscription_id]
        return {"value": [{
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "changeType": change,
            "resource": sub["resource"].replace("/events", "/events/AAMkAGnew"),
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "AAMkAGnew"},
            "clientState": sub["clientState"] if client_state is None else client_state,
            "tenantId": TENANT_ID,
        }]}

    def lifecycle(self, subscription_id: str, event: str, client_state: str | None = None) -> dict[str, Any]:
        sub = self.subscriptions[subscription_id]
        return {"value": [{
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "lifecycleEvent": event,
            "clientState": sub["clientState"] if client_state is None else client_state,
            "organizationId": TENANT_ID,
        }]}

    # -- storage and views --------------------------------------------------------

    def _store(self, cal: FakeCalendar, event: dict[str, Any]) -> None:
        self.seq += 1
        event["_seq"] = self.seq
        event["lastModifiedDateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cal.events[event["id"]] = event

    def _instances(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """A series' occurrences (wall-clock weekly in its zone), exceptions applied."""
        if event.get("type") != "seriesMaster":
            return []
        zone = _zone(event["_zone"])
        start, end = event["_start"].astimezone(zone), event["_end"].astimezone(zone)
        found = []
        for index in range(event["_weeks"]):
            if index in event["_cancelled"]:
                continue
            local = start.replace(tzinfo=None) + timedelta(weeks=index)
            begins = local.replace(tzinfo=zone)
            ends = begins + (end - start)
            kind = "occurrence"
            if index in event["_moved"]:
                begins, kind = event["_moved"][index], "exception"
                ends = begins + (end - start)
            found.append({**event, "id": f"{event['id']}_{index}", "type": kind, "seriesMasterId": event["id"],
                          "_start": begins, "_end": ends})
        return found

    def expanded(self, cal: FakeCalendar) -> list[dict[str, Any]]:
        items = []
        for event in cal.events.values():
            items.extend(self._instances(event) if event.get("type") == "seriesMaster" else [event])
        return items

    @staticmethod
    def span(event: dict[str, Any]) -> tuple[datetime, datetime]:
        start, end = event["_start"], event["_end"]
        if not isinstance(start, datetime):
            start = datetime.combine(start, datetime.min.time(), UTC)
            end = datetime.combine(end, datetime.min.time(), UTC)
        return start, end

    def _public(self, event: dict[str, Any], zone: str | None, expand: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in event.items() if not k.startswith("_") and k != "singleValueExtendedProperties"}
        shown = zone or event["_zone"]
        if event["isAllDay"]:
            for key in ("start", "end"):
                out[key] = {"dateTime": event["_" + key].strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": shown}
        else:
            out["start"] = graph_time(event["_start"], shown)
            out["end"] = graph_time(event["_end"], shown)
        out["originalStartTimeZone"] = event["_zone"]
        if expand and event.get("singleValueExtendedProperties"):
            out["singleValueExtendedProperties"] = event["singleValueExtendedProperties"]
        return out
