"""Resolving the bearer tokens in public URLs: client links and callback links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking import callback_links
from service.storage.models import CallbackLink, Client
from service.usecases import bookings
from service.web.errors import AppError


@dataclass(frozen=True)
class Link:
    client: Client
    callback: CallbackLink | None = None


def resolve(token: str, now: datetime) -> Link:
    """The client behind a link token, or a 404/410 AppError."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise AppError(404, "unknown_token", "This booking link does not exist.")
    client = bookings.find_client(token)
    if client is not None:
        if client.status == "archived":
            raise AppError(404, "unknown_token", "This booking link does not exist.")
        return Link(client)
    callback = bookings.find_callback(token)
    if callback is None:
        raise AppError(404, "unknown_token", "This booking link does not exist.")
    if callback_links.is_spent(callback.used_at, callback.expires_at, now):
        raise AppError(410, "link_spent", "This callback link has already been used or has expired.")
    return Link(callback.client, callback)


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL under ``BASE_URL`` (works in requests, the CLI and the worker)."""
    from flask import current_app, url_for

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def manage_url(booking) -> str:
    """The client's manage link of ``booking`` (its token is kept encrypted)."""
    from service.core.crypto import decrypt

    return public_url("public.manage", token=decrypt(booking.manage_token_enc))
