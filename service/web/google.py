"""Google's two HTTP entry points: the OAuth callback and the push webhook.

URL table:
    GET  /oauth/google/callback   oauth_bp.callback   end of the consent flow
    POST /hooks/google            hooks_bp.push       Calendar push notifications
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext

from service.calendars.base import ProviderError
from service.calendars.google import oauth
from service.calendars.google.accounts import connect, token_matches
from service.calendars.google.models import GoogleChannel
from service.calendars.sync import queue_sync
from service.storage.extensions import db
from service.storage.models import utcnow
from service.usecases import calendar_connect
from service.web import auth, oauth_binding
from service.web.errors import AppError
from service.web.limits import GOOGLE_PUSH_BY_CHANNEL, GOOGLE_PUSH_BY_IP, limited

log = logging.getLogger(__name__)

oauth_bp = Blueprint("google_oauth", __name__)
hooks_bp = Blueprint("google_hooks", __name__)


@oauth_bp.get(oauth.CALLBACK_PATH)
def callback():
    """The end of a consent: only in a browser signed in as the lawyer it was started
    for, only in the browser that started it (``oauth_binding``), and only once."""
    if request.args.get("error"):
        raise AppError(
            400, "google_denied", "Google Calendar was not connected: access was not granted."
        )
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not state or len(code) > 2048 or len(state) > 2048:
        raise AppError(
            400, "bad_callback", "This Google sign-in answer is incomplete; start again."
        )
    try:
        lawyer = oauth_binding.accept("google", "Google Calendar", state, oauth.load_state(state))
        info = oauth.exchange(code, state, oauth.redirect_uri())
        result = connect(lawyer, info)
        calendar_connect.signed_in(result.account, result.reconnected, auth.current_person().actor())
    except ProviderError as exc:
        raise AppError(400, "google_failed", f"Google Calendar was not connected: {exc}.") from None
    flash(
        gettext(
            "Google Calendar connected: busy time from %(calendars)s; calls written to %(write_to)s.",
            calendars=", ".join(result.conflict),
            write_to=result.write_to,
        ),
        "ok",
    )
    return redirect(url_for("admin.calendars"), 303)


@hooks_bp.post("/hooks/google")
@limited(GOOGLE_PUSH_BY_CHANNEL, GOOGLE_PUSH_BY_IP)
def push():
    """Verify the channel and its secret token, queue a sync, answer at once."""
    headers = request.headers
    channel_id = headers.get("X-Goog-Channel-ID", "")
    resource_id = headers.get("X-Goog-Resource-ID", "")
    token = headers.get("X-Goog-Channel-Token", "")
    state = headers.get("X-Goog-Resource-State", "")
    if not channel_id or not resource_id or not token or len(channel_id) > 64:
        raise AppError(400, "bad_notification", "not a Google Calendar notification")
    channel = db.session.scalar(
        sa.select(GoogleChannel).where(GoogleChannel.channel_id == channel_id)
    )
    if channel is None or channel.resource_id != resource_id or not token_matches(channel, token):
        log.warning("google push refused for channel %r", channel_id[:64])
        raise AppError(403, "unknown_channel", "unknown channel")
    if channel.expires_at is not None and channel.expires_at <= utcnow():
        # Google stops using a channel at its expiry; a later "notification" is a replay.
        log.warning("google push refused for expired channel %r", channel_id[:64])
        raise AppError(403, "expired_channel", "expired channel")
    if state != "sync":  # "sync" only confirms a new channel; "exists"/"not_exists": changes
        queue_sync(channel.calendar)
    return "", 204
