"""Request-wide limits and transport headers, the same for every blueprint.

- ``MAX_CONTENT_LENGTH``: a body larger than this is refused with 413 before any view
  reads it (a declared ``Content-Length`` is checked up front; a chunked body is cut by
  Werkzeug's limited stream as it is read). JSON for ``/api/``, a page elsewhere.
- JSON bodies nested deeper than ``JSON_MAX_DEPTH`` are malformed input (400/422, as
  any other bad JSON), never a ``RecursionError`` and a 500.
- ids in URLs (``<int:...>``) are bounded: a 30-digit id is a 404.
- ``Strict-Transport-Security`` on every answer when ``BASE_URL`` is https (the browser
  then never speaks plain HTTP to us again, so a session cookie cannot be stripped).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from service.core.config import ConfigError
from service.web.params import ID_MAX

HSTS = "max-age=31536000; includeSubDomains"
JSON_MAX_DEPTH = 32


def json_depth_ok(text: str | bytes, limit: int = JSON_MAX_DEPTH) -> bool:
    """False if brackets outside strings nest deeper than ``limit`` (checked before parsing)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in every URL, limited to ids that can exist (``params.ID_MAX``): a
    larger number is a 404, not an overflow in the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=ID_MAX if max is None else max,
                         signed=signed)
        self.regex = r"\d{1,10}" if not signed else r"-?\d{1,10}"


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested too deeply (a ValueError, which Flask
    answers as malformed JSON) instead of recursing until Python gives up."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if not json_depth_ok(s):
            raise ValueError(f"JSON nested deeper than {JSON_MAX_DEPTH} levels")
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


#: Endpoints that take a larger body than ``MAX_CONTENT_LENGTH`` (an upload), with their
#: own cap; their views set ``request.max_content_length`` to it as well.
BODY_LIMITS: dict[str, int] = {}


def init_app(app: Flask) -> None:
    if app.config["MAX_CONTENT_LENGTH"] <= 0:
        raise ConfigError("MAX_CONTENT_LENGTH must be a positive number of bytes")
    https = app.config["BASE_URL"].startswith("https://")
    app.url_map.converters["int"] = BoundedIntegerConverter  # before the blueprints add rules
    sort_keys = app.json.sort_keys
    app.json = BoundedJSONProvider(app)
    app.json.sort_keys = sort_keys

    @app.before_request
    def refuse_huge_bodies():
        length = request.content_length
        limit = BODY_LIMITS.get(request.endpoint or "", app.config["MAX_CONTENT_LENGTH"])
        if length is not None and length > limit:
            raise RequestEntityTooLarge(f"The request is larger than {limit} bytes.")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            # A chunked body: read it now through Werkzeug's limited stream (at most
            # ``limit`` bytes, then 413), so no later reader meets a cut-off body.
            try:
                cut = len(request.get_data(cache=True)) >= limit  # the stream stops at limit
            except RequestEntityTooLarge:
                cut = True
            if cut:
                raise RequestEntityTooLarge(f"The request is larger than {limit} bytes.")

    @app.after_request
    def transport_security(response):
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
