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
from markupsafe import escape

from service.calendars.base import ProviderError
from service.calendars.google import oauth
from service.calendars.google.accounts import connect, token_matches
from service.calendars.google.models import GoogleChannel
from service.calendars.sync import queue_sync
from service.storage.extensions import db
from service.storage.models import Lawyer, utcnow
from service.usecases import followup
from service.web import auth
from service.web.errors import AppError

log = logging.getLogger(__name__)

oauth_bp = Blueprint("google_oauth", __name__)
hooks_bp = Blueprint("google_hooks", __name__)


@oauth_bp.get(oauth.CALLBACK_PATH)
def callback():
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
        lawyer = db.session.get(Lawyer, oauth.lawyer_from_state(state))
        if lawyer is None:
            raise AppError(
                400, "bad_callback", "This Google sign-in answer is for an unknown lawyer."
            )
        signed_in = auth.current_lawyer()
        if signed_in is not None and signed_in.id != lawyer.id:
            # The consent was started for another lawyer: never attach their Google
            # account to the one signed in here (or the other way round).
            raise AppError(
                400, "bad_callback", "This Google sign-in answer belongs to another lawyer."
            )
        info = oauth.exchange(code, state, oauth.redirect_uri())
        result = connect(lawyer, info)
    except ProviderError as exc:
        raise AppError(400, "google_failed", f"Google Calendar was not connected: {exc}.") from None
    if not result.reconnected:  # a new destination: the calls already booked are written too
        followup.write_upcoming(lawyer.id, utcnow())
        db.session.commit()
    if signed_in is not None:  # started from the admin area: back to the calendars page
        flash(
            gettext(
                "Google Calendar connected: busy time from %(calendars)s; calls written to %(write_to)s.",
                calendars=", ".join(result.conflict),
                write_to=result.write_to,
            ),
            "ok",
        )
        return redirect(url_for("admin.calendars"), 303)
    verb = "reconnected" if result.reconnected else "connected"
    return (
        f"<!doctype html><title>Google Calendar {verb}</title>"
        f"<p>Google Calendar {verb}: busy time from {escape(', '.join(result.conflict))}; "
        f"calls written to {escape(result.write_to)}. You can close this page.</p>"
    )


@hooks_bp.post("/hooks/google")
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
    if state != "sync":  # "sync" only confirms a new channel; "exists"/"not_exists": changes
        queue_sync(channel.calendar)
    return "", 204
