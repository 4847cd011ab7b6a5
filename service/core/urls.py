"""Absolute public URLs under ``BASE_URL``: in requests, the CLI and the worker alike."""

from __future__ import annotations

from flask import current_app, url_for

from service.core.crypto import decrypt


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL of ``endpoint`` under ``BASE_URL``."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def booking_url(token: str) -> str:
    """The client's booking page for a link token."""
    return public_url("public.booking_page", token=token)


def manage_url(booking) -> str:
    """The client's manage link of ``booking`` (its token is kept encrypted)."""
    return public_url("public.manage", token=decrypt(booking.manage_token_enc))
