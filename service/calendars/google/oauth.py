"""The OAuth 2.0 web flow that connects a lawyer's Google account.

``consent_url`` makes the Google consent link with offline access (a refresh token),
``prompt=consent`` (so Google sends the refresh token again on a reconnect), the
narrow scopes the provider uses, and a ``state`` signed with ``SECRET_KEY`` that names
the lawyer and expires (``service.calendars.oauth_state``, shared with Microsoft). PKCE
without server-side storage: the code verifier is an HMAC of the state's nonce under
``SECRET_KEY``, so the callback can recompute it while someone who only sees the
redirect cannot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from service.calendars import oauth_state
from service.calendars.base import ProviderError

SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",  # read busy time, write calls
    "https://www.googleapis.com/auth/calendar.freebusy",  # the check before booking
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",  # choose calendars
)
AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
CALLBACK_PATH = "/oauth/google/callback"


def redirect_uri() -> str:
    """The callback URL registered with Google: ``BASE_URL`` + ``/oauth/google/callback``."""
    return current_app.config["BASE_URL"].rstrip("/") + CALLBACK_PATH


def _client_config() -> dict[str, Any]:
    cfg = current_app.config
    if not cfg.get("GOOGLE_CLIENT_ID") or not cfg.get("GOOGLE_CLIENT_SECRET"):
        raise ProviderError(
            "Google sign-in is not configured: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET"
        )
    return {
        "web": {
            "client_id": cfg["GOOGLE_CLIENT_ID"],
            "client_secret": cfg["GOOGLE_CLIENT_SECRET"],
            "auth_uri": AUTH_URI,
            "token_uri": cfg["GOOGLE_TOKEN_URI"],
        }
    }


def _verifier(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"google-pkce:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")  # 43 chars, RFC 7636


def load_state(state: str) -> dict[str, Any]:
    """What a consent ``state`` names (``oauth_state``); StateError if forged or expired."""
    data = oauth_state.load("google", "Google", state)
    if not data.get("n"):
        raise oauth_state.StateError("the Google sign-in answer was not started here")
    return data


def consent_url(lawyer_id: int, redirect_uri: str, origin: str = "web") -> tuple[str, str]:
    """The Google consent URL for ``lawyer_id`` and its ``state``.

    ``origin`` "web": the caller binds the state to the browser session
    (``service.web.oauth_binding.start``); "cli": no browser started it, so the callback
    accepts it only in a browser signed in as that lawyer.
    """
    nonce = secrets.token_urlsafe(16)
    state = oauth_state.make("google", lawyer_id, origin, n=nonce)
    flow = Flow.from_client_config(
        _client_config(),
        scopes=list(SCOPES),
        redirect_uri=redirect_uri,
        code_verifier=_verifier(nonce),
    )
    try:
        url, _ = flow.authorization_url(
            access_type="offline", prompt="consent", include_granted_scopes="false", state=state
        )
    finally:
        flow.oauth2session.close()
    return url, state


def exchange(code: str, state: str, redirect_uri: str) -> dict[str, Any]:
    """Trade the callback's ``code`` for the authorized-user info (with refresh token)."""
    data = load_state(state)
    config = _client_config()
    flow = Flow.from_client_config(
        config,
        scopes=list(SCOPES),
        redirect_uri=redirect_uri,
        state=state,
        code_verifier=_verifier(data["n"]),
    )
    try:
        token = flow.fetch_token(code=code)
    except Warning as changed:  # oauthlib: the granted scopes differ from the requested
        token = changed.token
    except OAuth2Error as exc:
        raise ProviderError(f"Google refused the sign-in ({exc.error}); start again") from None
    except OSError:
        raise ProviderError("Google sign-in is unreachable; try again later") from None
    finally:
        flow.oauth2session.close()
    scope = token.get("scope") or SCOPES  # oauthlib gives a list; absent: as requested
    granted = set(scope.split() if isinstance(scope, str) else scope)
    missing = [scope.rsplit("/", 1)[-1] for scope in SCOPES if scope not in granted]
    if missing:
        raise ProviderError(
            "Google access was granted without "
            + ", ".join(missing)
            + "; connect again and allow all"
        )
    if not token.get("refresh_token"):
        raise ProviderError(
            "Google sent no refresh token; remove the app's access and connect again"
        )
    info: dict[str, Any] = {
        "type": "authorized_user",
        "client_id": config["web"]["client_id"],
        "client_secret": config["web"]["client_secret"],
        "refresh_token": token["refresh_token"],
        "token": token.get("access_token"),
        "scopes": list(SCOPES),
    }
    if token.get("expires_at"):
        expiry = datetime.fromtimestamp(float(token["expires_at"]), UTC)
        info["expiry"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    return info
