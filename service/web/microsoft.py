"""Microsoft's HTTP entry points: the OAuth callback, and the change-notification and
lifecycle webhooks of Graph subscriptions.

URL table:
    GET  /oauth/microsoft/callback    oauth_bp.callback     end of the sign-in
    POST /hooks/microsoft             hooks_bp.notify       change notifications
    POST /hooks/microsoft/lifecycle   hooks_bp.lifecycle    lifecycle notifications

Both webhooks answer Graph's ``validationToken`` handshake (the token back as plain
text, at once) and otherwise only verify each notification's ``clientState`` and queue
work for the worker: a notification never syncs inline.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext

from service.calendars.base import ProviderError
from service.calendars.microsoft import accounts, oauth
from service.calendars.sync import queue_sync
from service.usecases import calendar_connect
from service.web import auth, oauth_binding
from service.web.errors import AppError

log = logging.getLogger(__name__)

oauth_bp = Blueprint("microsoft_oauth", __name__)
hooks_bp = Blueprint("microsoft_hooks", __name__)

MAX_NOTIFICATION_BYTES = 256 * 1024
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


@oauth_bp.get(oauth.CALLBACK_PATH)
def callback():
    """The end of a sign-in: as Google's (``oauth_binding``), only in a browser signed in
    as the lawyer it was started for, only in the browser that started it, only once."""
    if request.args.get("error"):
        raise AppError(400, "microsoft_denied",
                       "Microsoft 365 / Outlook was not connected: access was not granted.")
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not state or len(code) > 4096 or len(state) > 2048:
        raise AppError(400, "bad_callback", "This Microsoft sign-in answer is incomplete; start again.")
    try:
        lawyer = oauth_binding.accept("microsoft", "Microsoft 365 / Outlook", state, oauth.load_state(state))
        secret = oauth.finish(state, request.args.to_dict(), oauth.redirect_uri())
        result = accounts.connect(lawyer, secret)
        calendar_connect.signed_in(result.account, result.reconnected, auth.current_person().actor())
    except ProviderError as exc:
        raise AppError(400, "microsoft_failed", f"Microsoft 365 / Outlook was not connected: {exc}.") from None
    flash(gettext("Microsoft 365 / Outlook connected: busy time from %(calendars)s; calls written to %(write_to)s.",
                  calendars=", ".join(result.names.get(c, c) for c in result.conflict),
                  write_to=result.names.get(result.write_to, result.write_to)), "ok")
    return redirect(url_for("admin.calendars"), 303)


def _handshake():
    """Graph's validation request: the token back, decoded, as plain text, at once."""
    token = request.args.get("validationToken")
    if token is None:
        return None
    if len(token) > 1024:
        raise AppError(400, "bad_notification", "validation token too long")
    return token, 200, {"Content-Type": "text/plain; charset=utf-8"}


def _notifications() -> list[dict]:
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        raise AppError(413, "bad_notification", "notification too large")
    raw = request.get_data(cache=False)[: MAX_NOTIFICATION_BYTES + 1]
    if len(raw) > MAX_NOTIFICATION_BYTES:
        raise AppError(413, "bad_notification", "notification too large")
    try:
        items = json.loads(raw)["value"]
    except (ValueError, KeyError, TypeError):
        raise AppError(400, "bad_notification", "not a Microsoft Graph notification") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise AppError(400, "bad_notification", "not a Microsoft Graph notification")
    return items[:100]


def _verified(items: list[dict]):
    found = []
    for item in items:
        row = accounts.verified(str(item.get("subscriptionId") or ""), str(item.get("clientState") or ""))
        if row is None:
            log.warning("microsoft notification refused for subscription %r",
                        str(item.get("subscriptionId"))[:40])
            continue
        found.append((row, item))
    if items and not found:
        raise AppError(403, "unknown_subscription", "unknown subscription")
    return found


@hooks_bp.post(accounts.HOOK_PATH)
def notify():
    """Verify each notification's clientState, queue one sync per calendar, answer 202."""
    answer = _handshake()
    if answer is not None:
        return answer
    calendars = {row.calendar_id: row.calendar for row, _ in _verified(_notifications())}
    for calendar in calendars.values():
        queue_sync(calendar)
    return "", 202


@hooks_bp.post(accounts.LIFECYCLE_PATH)
def lifecycle():
    """Lifecycle notifications: renew (reauthorizationRequired), replace
    (subscriptionRemoved) or resync (missed), all through the worker."""
    answer = _handshake()
    if answer is not None:
        return answer
    for row, item in _verified(_notifications()):
        event = item.get("lifecycleEvent")
        if event in LIFECYCLE_EVENTS:
            accounts.lifecycle(row, event)
    return "", 202
