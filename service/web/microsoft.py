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

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext
from markupsafe import escape

from service.calendars.base import ProviderError
from service.calendars.microsoft import accounts, oauth
from service.calendars.sync import queue_sync
from service.storage.extensions import db
from service.storage.models import Lawyer
from service.web import auth
from service.web.errors import AppError

log = logging.getLogger(__name__)

oauth_bp = Blueprint("microsoft_oauth", __name__)
hooks_bp = Blueprint("microsoft_hooks", __name__)

#: Where the browser session keeps the value a sign-in is bound to.
SESSION_KEY = "microsoft_oauth"
MAX_NOTIFICATION_BYTES = 256 * 1024
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


def session_binding() -> str:
    """The value this browser session binds its Microsoft sign-ins to (made once)."""
    if not session.get(SESSION_KEY):
        session[SESSION_KEY] = oauth.new_binding()
    return session[SESSION_KEY]


@oauth_bp.get(oauth.CALLBACK_PATH)
def callback():
    if request.args.get("error"):
        raise AppError(400, "microsoft_denied",
                       "Microsoft 365 / Outlook was not connected: access was not granted.")
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not state or len(code) > 4096 or len(state) > 512:
        raise AppError(400, "bad_callback", "This Microsoft sign-in answer is incomplete; start again.")
    try:
        lawyer_id, flow = oauth.take_flow(state, session.get(SESSION_KEY))
        lawyer = db.session.get(Lawyer, lawyer_id)
        if lawyer is None:
            raise AppError(400, "bad_callback", "This Microsoft sign-in answer is for an unknown lawyer.")
        signed_in = auth.current_lawyer()
        if signed_in is not None and signed_in.id != lawyer.id:
            raise AppError(400, "bad_callback", "This Microsoft sign-in answer belongs to another lawyer.")
        secret = oauth.finish(flow, request.args.to_dict())
        result = accounts.connect(lawyer, secret)
    except ProviderError as exc:
        raise AppError(400, "microsoft_failed", f"Microsoft 365 / Outlook was not connected: {exc}.") from None
    calendars = ", ".join(result.names.get(c, c) for c in result.conflict)
    write_to = result.names.get(result.write_to, result.write_to)
    if signed_in is not None:  # started from the admin area: back to the calendars page
        flash(gettext("Microsoft 365 / Outlook connected: busy time from %(calendars)s; calls written to %(write_to)s.",
                      calendars=calendars, write_to=write_to), "ok")
        return redirect(url_for("admin.calendars"), 303)
    verb = "reconnected" if result.reconnected else "connected"
    return (
        f"<!doctype html><title>Microsoft 365 / Outlook {verb}</title>"
        f"<p>Microsoft 365 / Outlook {verb}: busy time from {escape(calendars)}; "
        f"calls written to {escape(write_to)}. You can close this page.</p>"
    )


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
