"""Calendar connections as the admin area manages them: connect, choose, sync, disconnect.

Connecting goes through the provider interface (``service.calendars.base.load(kind)``
and ``list_calendars``) with the same rules as ``flask calendar add-caldav/add-ics``
(``netguard.check_url``, one account per server login or feed, the feed URL kept
encrypted). Syncing never runs inside a request: "sync now" queues the outbox task
``calendar.sync`` that the worker runs (``service.calendars.google.accounts.sync_task``).
Google connects through its OAuth consent screen; the callback is
``service.web.google`` (``/oauth/google/callback``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from service.calendars import netguard, sync
from service.calendars.base import AuthError, ProviderError, RemoteCalendar, load
from service.calendars.google import oauth
from service.core.crypto import encrypt_json
from service.storage.extensions import db
from service.storage.models import BusyBlock, Calendar, CalendarAccount, Lawyer
from service.usecases import wording


class ConnectError(Exception):
    """Connecting failed; the message is worded for the lawyer."""


@dataclass
class CalendarView:
    calendar: Calendar
    synced: str  # when it last synced, in words
    error: str  # the last error in plain words, or ""


@dataclass
class AccountView:
    account: CalendarAccount
    writable: bool
    error: str
    calendars: list[CalendarView]


_PLAIN = (
    (r"401|403|unauthori[sz]ed|forbidden|auth|password|credential|invalid_grant|revoked",
     _l("The calendar server refused the login. Reconnect with the current password (or app password).")),
    (r"404|not found|gone|410", _l("The calendar was not found at this address; it may have been moved or deleted.")),
    (r"timed? ?out|timeout", _l("The calendar server did not answer in time. It will be tried again.")),
    (r"private|loopback|not allowed", _l("This address points into a private network, which is not allowed.")),
    (r"ssl|certificate|tls", _l("The calendar server's security certificate was not accepted.")),
    (r"connect|resolve|name or service|unreachable|refused|dns",
     _l("The calendar server could not be reached. It will be tried again.")),
    (r"parse|invalid ical|not an? (ical|calendar)|vcalendar", _l("The address did not return a calendar (.ics).")),
)


def plain_error(text: str | None) -> str:
    """A provider error in words the lawyer can act on."""
    if not text:
        return ""
    for pattern, message in _PLAIN:
        if re.search(pattern, text, re.IGNORECASE):
            return str(message)
    return text if len(text) <= 300 else text[:299] + "…"


def accounts_of(lawyer: Lawyer) -> list[AccountView]:
    accounts = db.session.scalars(
        sa.select(CalendarAccount).where(CalendarAccount.lawyer_id == lawyer.id).order_by(CalendarAccount.id)
    )
    views = []
    for account in accounts:
        calendars = []
        for cal in sorted(account.calendars, key=lambda c: (c.name.lower(), c.id)):
            synced = (
                wording.format_datetime(cal.synced_at.astimezone(lawyer.zone))
                if cal.synced_at else gettext("not yet")
            )
            calendars.append(CalendarView(cal, synced, plain_error(cal.last_error)))
        views.append(AccountView(account, account.kind != "ics", plain_error(account.last_error), calendars))
    return views


def _provider_class(kind: str):
    try:
        return load(kind)
    except (ModuleNotFoundError, AttributeError, ProviderError):
        raise ConnectError(gettext("This kind of calendar is not available on this server yet.")) from None


def _check_url(url: str) -> str:
    """The URL normalised (``webcal://`` read as https), or a ConnectError in plain words."""
    try:
        return netguard.check_url(url)
    except netguard.BlockedHost:
        raise ConnectError(plain_error("private")) from None
    except ProviderError as exc:
        if "username and password" in str(exc):
            raise ConnectError(gettext("Put the user name and password in their own fields, not in the address.")) from None
        raise ConnectError(gettext("The address must start with https://")) from None


def _list_remote(lawyer: Lawyer, kind: str, config: dict[str, Any], secret: dict[str, Any]) -> list[RemoteCalendar]:
    """The account's calendars, or a ConnectError in plain words (nothing is written)."""
    provider = _provider_class(kind)(config, secret, lawyer.zone)
    try:
        return provider.list_calendars()
    except AuthError as exc:
        raise ConnectError(plain_error(str(exc) or "auth")) from None
    except ProviderError as exc:
        raise ConnectError(plain_error(str(exc)) or gettext("The calendar could not be read.")) from None
    finally:
        provider.close()


def _repair(account: CalendarAccount, secret: dict[str, Any]) -> CalendarAccount:
    """New credentials for a connected account (e.g. after a password change): checked,
    stored, the account working again, its calendars synced and dead writes retried."""
    _list_remote(account.lawyer, account.kind, account.config, secret)
    account.secret_enc = encrypt_json(secret)
    sync.mark_working(account)
    for cal in account.calendars:
        request_sync(cal)
    return account


def _connect(lawyer: Lawyer, kind: str, config: dict[str, Any], secret: dict[str, Any], label) -> CalendarAccount:
    remote = _list_remote(lawyer, kind, config, secret)
    if not remote:
        raise ConnectError(gettext("No calendars were found at this address."))
    account = CalendarAccount(lawyer_id=lawyer.id, kind=kind, label=label(remote)[:300], config=config,
                              secret_enc=encrypt_json(secret) if secret else None)
    db.session.add(account)
    for rc in remote:
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id=rc.id, name=rc.name[:300],
                                          conflict=True, write_to=False))
    db.session.flush()
    for cal in account.calendars:
        request_sync(cal)
    return account


def connect_caldav(lawyer: Lawyer, url: str, username: str, password: str) -> CalendarAccount:
    """Discover the calendars at ``url``; every one becomes a conflict source (committed)."""
    url = _check_url(url)
    config = {"url": url, "username": username.strip()}
    existing = sync.find_account(lawyer.id, "caldav", config)
    if existing is not None:
        return _repair(existing, {"password": password})
    host = urlsplit(url).hostname
    return _connect(lawyer, "caldav", config, {"password": password}, lambda _: f"{config['username']} on {host}")


def connect_ics(lawyer: Lawyer, url: str) -> CalendarAccount:
    """A read-only feed. Feed URLs often carry a secret, so the URL is kept encrypted."""
    url = _check_url(url)
    if sync.find_feed(lawyer.id, url):
        raise ConnectError(gettext("This calendar account is already connected."))
    parts = urlsplit(url)
    display = f"{parts.scheme}://{parts.hostname}/…"
    return _connect(lawyer, "ics", {"display": display}, {"url": url},
                    lambda remote: f"{remote[0].name} ({display})")


def google_available() -> bool:
    config = current_app.config
    return bool(config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"))


def google_consent_url(lawyer: Lawyer) -> str:
    """Where to send the lawyer to allow access; Google returns to /oauth/google/callback."""
    if not google_available():
        raise ConnectError(gettext("Google Calendar is not set up on this server."))

    try:
        url, _state = oauth.consent_url(lawyer.id, oauth.redirect_uri())
    except ProviderError as exc:
        raise ConnectError(plain_error(str(exc))) from None
    return url


def disconnect(account: CalendarAccount) -> None:
    """Forget the account, its calendars and their busy time (the caller commits)."""
    if account.kind == "google":
        from service.calendars.google.accounts import stop_channels

        stop_channels(account)
    ids = [c.id for c in account.calendars]
    if ids:
        db.session.execute(sa.delete(BusyBlock).where(BusyBlock.calendar_id.in_(ids)))
    db.session.delete(account)


def set_choices(account: CalendarAccount, conflict: set[int], write_to: int | None) -> None:
    """Which calendars count as busy; the one destination for calls and prep blocks."""
    for cal in account.calendars:
        cal.conflict = cal.id in conflict
    own = {c.id for c in account.calendars}
    if write_to is not None and write_to in own and account.kind != "ics":
        db.session.execute(
            sa.update(Calendar).where(Calendar.lawyer_id == account.lawyer_id).values(write_to=False)
        )
        for cal in account.calendars:
            cal.write_to = cal.id == write_to
    elif write_to is None:
        for cal in account.calendars:
            cal.write_to = False


def request_sync(calendar: Calendar) -> None:
    """Ask the worker to sync ``calendar`` soon (once, however often it is asked)."""
    from service.calendars.google.accounts import queue_sync

    queue_sync(calendar)
