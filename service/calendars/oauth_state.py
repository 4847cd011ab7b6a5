"""The ``state`` of a sign-in provider's consent flow (Google, Microsoft), one kind for both.

The state is signed with ``SECRET_KEY`` and expires after ``STATE_MAX_AGE``; it names the
lawyer the consent was started for and where it was started (``origin``): "web" (the
caller binds it to the browser session with ``service.web.oauth_binding.start``) or
"cli" (a printed link: the callback accepts it only in a browser signed in as that
lawyer). Nothing is stored until the answer comes back; ``oauth_binding`` makes each
state single-use. A provider adds what it needs to find again in the callback
(``extra``; Google: the nonce its PKCE verifier is derived from, Microsoft: MSAL's PKCE
verifier and nonce, encrypted).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service.calendars.base import ProviderError

STATE_MAX_AGE = 15 * 60  # seconds the lawyer has to click through the consent screen
ORIGINS = ("web", "cli")


class StateError(ProviderError):
    retryable = False


def _serializer(provider: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"{provider}-oauth-state")


def make(provider: str, lawyer_id: int, origin: str, **extra: Any) -> str:
    """A signed state for ``provider`` ("google", "microsoft") naming ``lawyer_id``."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown consent origin {origin!r}")
    return _serializer(provider).dumps({"l": lawyer_id, "o": origin, **extra})


def load(provider: str, title: str, state: str) -> dict[str, Any]:
    """What ``make`` signed; StateError if forged, of another provider, or expired.

    ``title``: the provider as the message names it ("Google", "Microsoft")."""
    try:
        data = _serializer(provider).loads(state, max_age=STATE_MAX_AGE)
    except SignatureExpired:
        raise StateError(f"the {title} sign-in link has expired; start again") from None
    except BadSignature:
        raise StateError(f"the {title} sign-in answer was not started here") from None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        raise StateError(f"the {title} sign-in answer was not started here")
    return data


def origin(data: dict[str, Any]) -> str:
    """Where the consent of a loaded state was started: "web" or "cli"."""
    return "cli" if data.get("o") == "cli" else "web"
