"""Absolute public URLs under ``BASE_URL``: in requests, the CLI and the worker alike."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import MapAdapter

from service.core.crypto import decrypt


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL of ``endpoint`` (a full name, ``blueprint.view``) under ``BASE_URL``;
    values the rule does not take become the query string."""
    return _adapter().build(endpoint, values, force_external=True)


def _adapter() -> MapAdapter:
    """The app's URL map bound to ``BASE_URL``, once per app (#19: a request context
    built for each URL cost a booking 5 % of its time)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    adapter = app.extensions.get("counsel_hours.public_urls")
    if adapter is None:
        base = urlsplit(app.config["BASE_URL"])
        adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
        app.extensions["counsel_hours.public_urls"] = adapter
    return adapter


def booking_url(token: str) -> str:
    """The client's booking page for a link token."""
    return public_url("public.booking_page", token=token)


def manage_url(booking) -> str:
    """The client's manage link of ``booking`` (its token is kept encrypted)."""
    return public_url("public.manage", token=decrypt(booking.manage_token_enc))
