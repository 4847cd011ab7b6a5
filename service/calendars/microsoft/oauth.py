"""Signing in to Microsoft with MSAL for Python: the authorization code flow with PKCE,
and the token cache that keeps the refresh token.

``consent_url`` starts MSAL's ``initiate_auth_code_flow`` (nonce, PKCE verifier) and
sends the lawyer to its ``auth_uri``; what the callback needs of the flow travels in the
signed ``state`` (``service.calendars.oauth_state``, as Google's), encrypted. The web
binds that state to the browser session that started it and spends it once
(``service.web.oauth_binding``); ``finish`` trades the code for tokens with
``acquire_token_by_auth_code_flow``. What is stored for the account is MSAL's serialized
token cache, encrypted like every secret.

``TokenSource`` gives the provider access tokens from that cache
(``acquire_token_silent_with_error``: the cached access token, or a refresh). A refused
refresh (``invalid_grant``, ``interaction_required``) is an ``AuthError``: the account is
marked broken and the lawyer reconnects.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msal
import niquests
from flask import current_app, has_app_context

from service.calendars import netguard, oauth_state
from service.calendars.base import AuthError, ProviderError
from service.core.crypto import decrypt_json, encrypt_json

log = logging.getLogger(__name__)

#: What the service asks for; MSAL adds openid, profile and offline_access (the refresh
#: token) itself and refuses to be given them.
SCOPES = ("Calendars.ReadWrite",)
CALLBACK_PATH = "/oauth/microsoft/callback"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_TENANT = "common"
_REFUSED = frozenset({"invalid_grant", "interaction_required", "invalid_client", "unauthorized_client"})


def setting(config: dict[str, Any], key: str, app_key: str, default: str) -> str:
    if config.get(key):
        return str(config[key])
    if has_app_context() and current_app.config.get(app_key):
        return str(current_app.config[app_key])
    return default


def authority_url(config: dict[str, Any] | None = None) -> str:
    config = config or {}
    base = setting(config, "authority", "MICROSOFT_AUTHORITY", DEFAULT_AUTHORITY).rstrip("/")
    tenant = setting(config, "tenant", "MICROSOFT_TENANT", DEFAULT_TENANT).strip("/")
    return f"{base}/{tenant}"


def redirect_uri() -> str:
    """The callback registered with Microsoft: ``BASE_URL`` + ``/oauth/microsoft/callback``."""
    return current_app.config["BASE_URL"].rstrip("/") + CALLBACK_PATH


def available() -> bool:
    cfg = current_app.config
    return bool(cfg.get("MICROSOFT_CLIENT_ID") and cfg.get("MICROSOFT_CLIENT_SECRET"))


def _client(secret: dict[str, Any]) -> tuple[str, str]:
    client_id = secret.get("client_id")
    client_secret = secret.get("client_secret")
    if has_app_context():
        client_id = client_id or current_app.config.get("MICROSOFT_CLIENT_ID")
        client_secret = client_secret or current_app.config.get("MICROSOFT_CLIENT_SECRET")
    if not client_id or not client_secret:
        raise ProviderError(
            "Microsoft sign-in is not configured: set MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET"
        )
    return client_id, client_secret


def make_app(
    secret: dict[str, Any],
    cache: msal.SerializableTokenCache | None = None,
    *,
    config: dict[str, Any] | None = None,
    timeout: float = 30,
) -> msal.ConfidentialClientApplication:
    """An MSAL app for the configured client, pointed at ``MICROSOFT_AUTHORITY``.

    Instance discovery is off (the authority is configured, not looked up), which is
    also what lets the tests point MSAL at a local stand-in.
    """
    client_id, client_secret = _client(secret)
    try:
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_secret,
            authority=authority_url(config or secret.get("config") or {}),
            token_cache=cache,
            instance_discovery=False,
            timeout=timeout,
            # Sign-in answers are bounded like every calendar answer (size, total time).
            http_client=netguard.session(allow_private=True, subject="Microsoft sign-in"),
        )
    except (ValueError, niquests.exceptions.RequestException) as exc:
        log.info("microsoft authority discovery failed: %s", type(exc).__name__)
        raise ProviderError("Microsoft sign-in is unreachable; try again later") from None


# -- the consent flow -----------------------------------------------------------------


def load_state(state: str) -> dict[str, Any]:
    """What a consent ``state`` names (``oauth_state``); StateError if forged or expired."""
    return oauth_state.load("microsoft", "Microsoft", state)


def consent_url(lawyer_id: int, redirect: str, origin: str = "web") -> tuple[str, str]:
    """The URL of Microsoft's sign-in page for ``lawyer_id``, and its ``state``.

    MSAL makes the flow (PKCE verifier, nonce); what the callback needs of it travels in
    the signed ``state``, encrypted with ``ENCRYPTION_KEY``: the verifier never appears in
    a URL in the clear, and nothing is stored until the answer comes back (as Google's).
    ``origin`` as in ``oauth_state``: "web" is bound to the browser session by the caller.
    """
    app = make_app({})
    try:
        with warnings.catch_warnings():
            # MSAL recommends response_mode=form_post. The answer comes back as a query
            # instead: a cross-site POST would arrive without the session cookie
            # (SameSite=Lax), and binding the answer to that session is the point. The
            # code in the query is single-use and worthless without our client secret
            # and the PKCE verifier, which never leave the server unencrypted.
            warnings.filterwarnings("ignore", message="response_mode='form_post'", category=UserWarning)
            flow = app.initiate_auth_code_flow(
                list(SCOPES), redirect_uri=redirect, state=secrets.token_urlsafe(8),
                prompt="select_account", response_mode="query",
            )
    finally:
        app.http_client.close()
    kept = encrypt_json({"v": flow["code_verifier"], "n": flow["nonce"], "s": list(flow["scope"])})
    state = oauth_state.make("microsoft", lawyer_id, origin, f=kept)
    parts = urlsplit(flow["auth_uri"])
    query = [(k, state if k == "state" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query))), state


def _flow(state: str, redirect: str) -> dict[str, Any]:
    """MSAL's flow again, from the signed and encrypted ``state``."""
    try:
        kept = decrypt_json(load_state(state).get("f"))
        return {"state": state, "redirect_uri": redirect, "scope": list(kept["s"]),
                "code_verifier": kept["v"], "nonce": kept["n"]}
    except (ValueError, KeyError, TypeError):
        raise oauth_state.StateError("the Microsoft sign-in answer was not started here") from None


def _secret_from(app: msal.ConfidentialClientApplication, cache: msal.SerializableTokenCache,
                 result: dict[str, Any]) -> dict[str, Any]:
    if "error" in result:
        error = str(result.get("error"))
        raise ProviderError(f"Microsoft refused the sign-in ({error}); start again")
    claims = result.get("id_token_claims") or {}
    accounts = app.get_accounts()
    if not accounts:
        raise ProviderError("Microsoft sent no account with the sign-in; start again")
    account = next(
        (a for a in accounts if claims.get("oid") and a.get("local_account_id") == claims.get("oid")),
        accounts[0],
    )
    granted = {s.casefold() for s in str(result.get("scope", "")).split()}
    missing = [s for s in SCOPES if s.casefold() not in granted and f"https://graph.microsoft.com/{s}".casefold() not in granted]
    if granted and missing:
        raise ProviderError(
            "Microsoft access was granted without " + ", ".join(missing) + "; connect again and allow all"
        )
    return {
        "cache": cache.serialize(),
        "home_account_id": account["home_account_id"],
        "username": account.get("username") or claims.get("preferred_username") or "",
    }


def finish(state: str, answer: dict[str, str], redirect: str) -> dict[str, Any]:
    """Trade the callback's answer for tokens; the account's secret (the token cache)."""
    flow = _flow(state, redirect)
    cache = msal.SerializableTokenCache()
    app = make_app({}, cache)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, answer, scopes=list(SCOPES))
        return _secret_from(app, cache, result)
    except ValueError:  # MSAL: the answer does not match the flow (state, nonce)
        raise oauth_state.StateError("the Microsoft sign-in answer does not match its request; start again") from None
    except niquests.exceptions.RequestException:
        raise ProviderError("Microsoft sign-in is unreachable; try again later") from None
    finally:
        app.http_client.close()


def from_refresh_token(
    refresh_token: str, client: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The account's secret from a refresh token (``calendar add-microsoft --token-file``).

    ``client``: ``client_id``/``client_secret`` to keep in the secret (default: the
    app's settings, not stored); ``config``: ``authority``/``tenant`` overrides.
    """
    cache = msal.SerializableTokenCache()
    app = make_app(client or {}, cache, config=config)
    try:
        result = app.acquire_token_by_refresh_token(refresh_token, scopes=list(SCOPES))
        if result.get("error") in _REFUSED:
            raise AuthError("Microsoft refused the refresh token (revoked or expired); sign in again")
        return {**(client or {}), **_secret_from(app, cache, result)}
    except niquests.exceptions.RequestException:
        raise ProviderError("Microsoft sign-in is unreachable; try again later") from None
    finally:
        app.http_client.close()


# -- access tokens for the provider ---------------------------------------------------


class TokenSource:
    """Access tokens for one account from its MSAL token cache.

    ``on_change`` is called with the new secret whenever MSAL changed the cache (a
    refresh brought a new access token and usually a new refresh token).
    """

    def __init__(
        self,
        secret: dict[str, Any],
        config: dict[str, Any],
        *,
        timeout: float,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.secret = secret
        self.config = config
        self.timeout = timeout
        self.on_change = on_change
        self._app: msal.ConfidentialClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        self._force = False

    def refused(self) -> None:
        """Graph refused the access token (revoked early): the next one is a fresh refresh."""
        self._force = True

    def close(self) -> None:
        if self._app is not None:
            self._app.http_client.close()
        self._app = None

    def __call__(self) -> str:
        if not self.secret.get("cache") or not self.secret.get("home_account_id"):
            raise AuthError("the stored Microsoft authorization is incomplete; reconnect the Microsoft account")
        if self._app is None:
            self._cache = msal.SerializableTokenCache()
            try:
                self._cache.deserialize(self.secret["cache"])
            except ValueError:
                raise AuthError("the stored Microsoft authorization is unreadable; reconnect") from None
            self._app = make_app(self.secret, self._cache, config=self.config, timeout=self.timeout)
        app, cache = self._app, self._cache
        assert cache is not None
        account = app.get_accounts()
        account = next((a for a in account if a["home_account_id"] == self.secret["home_account_id"]), None)
        if account is None:
            raise AuthError("the stored Microsoft authorization names no account; reconnect the Microsoft account")
        try:
            result = app.acquire_token_silent_with_error(
                list(SCOPES), account=account, force_refresh=self._force
            )
            self._force = False
        except niquests.exceptions.RequestException:
            raise ProviderError("Microsoft sign-in is unreachable; it will be tried again") from None
        if result is None:
            raise AuthError("the stored Microsoft authorization has no refresh token; reconnect the Microsoft account")
        if "access_token" not in result:
            error = str(result.get("error") or "refused")
            if error in _REFUSED:
                raise AuthError(
                    "Microsoft access for this calendar was revoked or has expired (invalid_grant); "
                    "reconnect the Microsoft account"
                    if error == "invalid_grant"
                    else f"Microsoft refused the stored authorization ({error}); reconnect the Microsoft account"
                )
            raise ProviderError(f"Microsoft sign-in is temporarily unavailable ({error})")
        if cache.has_state_changed:
            self.secret = {**self.secret, "cache": cache.serialize()}
            cache.has_state_changed = False
            if self.on_change is not None:
                self.on_change(self.secret)
        return result["access_token"]
