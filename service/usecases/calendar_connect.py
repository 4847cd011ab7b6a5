"""Calendar connections as the admin area manages them: connect, choose, sync, disconnect.

Connecting goes through the provider interface (``service.calendars.base.load(kind)``
and ``list_calendars``) with the same rules as ``flask calendar add-caldav/add-ics``
(one use case, ``connect``, serves both). Syncing never runs inside a request: "sync
now" queues the outbox task ``calendar.sync`` that the worker runs
(``service.calendars.sync.sync_task``). Google connects through its OAuth consent screen; the callback is
``service.web.google`` (``/oauth/google/callback``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from service.calendars import accounts as calendar_accounts
from service.calendars import bounded, netguard, sync
from service.calendars.base import (
    AccountSettings,
    AuthError,
    CalendarProvider,
    ProviderError,
    RemoteCalendar,
    load,
)
from service.calendars.google import oauth
from service.calendars.microsoft import oauth as microsoft_oauth
from service.core.crypto import decrypt_json, encrypt_json
from service.storage.extensions import db
from service.storage.models import Calendar, CalendarAccount, Lawyer, utcnow
from service.usecases import audit, followup, reading_words, wording


class ConnectError(Exception):
    """Connecting failed. The message is worded for the lawyer (the admin area shows it);
    ``detail`` is the precise one-line reason (the CLI prints it)."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message


@dataclass
class CalendarView:
    calendar: Calendar
    synced: str  # when it last synced, in words
    error: str  # the last error in plain words, or ""
    warnings: list[str] = field(default_factory=list)  # events not read exactly, in words


@dataclass
class AccountView:
    account: CalendarAccount
    writable: bool
    error: str
    calendars: list[CalendarView]
    kind: str = ""  # the kind in the lawyer's words


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


def _cut_off(text: str) -> str | None:
    """The words for an answer cut off by the size cap or the deadline (bounded.py)."""
    found = re.search(r"answer larger than ([\d.]+) MB", text)
    if found:
        return gettext(
            "The calendar's answer was larger than %(size)s MB and was cut off, so its busy "
            "times are not up to date. It will be tried again.", size=found.group(1))
    found = re.search(r"no complete answer within ([\d.]+) s", text)
    if found:
        return gettext(
            "The calendar server gave no complete answer within %(seconds)s s and was cut "
            "off, so its busy times are not up to date. It will be tried again.",
            seconds=found.group(1))
    if "reading the calendar's events did not finish" in text:
        return gettext(
            "Reading this calendar's events took longer than allowed and was cut off, so its "
            "busy times are not up to date. It will be tried again.")
    found = re.search(r"kept the worker busy past its time limit of (\d+) s", text)
    if found:
        return gettext(
            "Reading this calendar kept the worker busy for longer than its limit of %(seconds)s s "
            "again and again, so it was stopped and is no longer synced on its own; its busy "
            "times are not up to date. Check the calendar, then sync it again.",
            seconds=found.group(1))
    if "too many calendar checks at once" in text:
        return gettext("Too many calendars are being checked at once. Please try again in a minute.")
    if "redirects too often" in text:
        return gettext("The calendar address redirects too often; check the address.")
    return None


def plain_error(text: str | None) -> str:
    """A provider error in words the lawyer can act on."""
    if not text:
        return ""
    cut_off = _cut_off(text)
    if cut_off is not None:
        return cut_off
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
            calendars.append(CalendarView(cal, synced, plain_error(cal.last_error),
                                          reading_words.reading_warnings(cal.read_warnings, lawyer.zone)))
        views.append(AccountView(account, calendar_accounts.writable(account), plain_error(account.last_error),
                                 calendars, calendar_accounts.kind_title(account)))
    return views


@dataclass
class Connected:
    """What connecting did: the account, whether it was an existing one repaired (new
    credentials), the calendars set up, and the calendars that stopped being the
    destination of calls because another one became it."""

    account: CalendarAccount
    repaired: bool
    calendars: list[Calendar]
    replaced: list[str]
    #: The account's only writable calendar became the destination (none was chosen).
    default_destination: bool = False


def _provider_class(kind: str) -> type[CalendarProvider]:
    try:
        return load(kind)
    except (ModuleNotFoundError, AttributeError, ProviderError):
        raise ConnectError(gettext("This kind of calendar is not available on this server yet.")) from None


def _settings(provider: type[CalendarProvider], address: str, username: str, password: str,
              local_files: bool) -> AccountSettings:
    try:
        with bounded.web_call():  # the address check resolves the host: inside a budget too
            return provider.settings(address, username, password, local_files=local_files)
    except netguard.BlockedHost as exc:
        raise ConnectError(plain_error("private"), str(exc)) from None
    except (bounded.CutOff, bounded.CalendarsBusy) as exc:
        raise ConnectError(plain_error(str(exc)) or gettext("The calendar could not be read."), str(exc)) from None
    except ProviderError as exc:
        detail = str(exc)
        if "username and password" in detail:
            raise ConnectError(gettext("Put the user name and password in their own fields, not in the address."),
                               detail) from None
        if "no such file" in detail:
            raise ConnectError(detail) from None
        if "user name" in detail:
            raise ConnectError(gettext("Please give the user name."), detail) from None
        raise ConnectError(gettext("The address must start with https://"), detail) from None


def _list_remote(lawyer: Lawyer, provider: type[CalendarProvider], settings: AccountSettings) -> list[RemoteCalendar]:
    """The account's calendars, or a ConnectError in plain words (nothing is written)."""
    reader = provider(settings.config, settings.secret, lawyer.zone)
    try:
        with bounded.web_call():  # from the admin area: a strict budget, then a form message
            return reader.list_calendars()
    except AuthError as exc:
        raise ConnectError(plain_error(str(exc) or "auth"), str(exc)) from None
    except ProviderError as exc:
        raise ConnectError(plain_error(str(exc)) or gettext("The calendar could not be read."), str(exc)) from None
    finally:
        reader.close()


def _pick(found: list[RemoteCalendar], wanted: str, option: str) -> RemoteCalendar:
    """The calendar named ``wanted`` (display name, case-insensitive, or its id/URL)."""
    for cal in found:
        if wanted == cal.id or wanted.strip().casefold() == cal.name.casefold():
            return cal
    names = ", ".join(repr(c.name) for c in found)
    raise ConnectError(gettext("There is no calendar %(name)s here.", name=repr(wanted)),
                       f"{option} {wanted!r}: no such calendar (found: {names})")


def connect(
    lawyer: Lawyer,
    kind: str,
    address: str,
    username: str = "",
    password: str = "",
    *,
    conflict: tuple[str, ...] = (),
    write_to: str | None = None,
    local_files: bool = False,
) -> Connected:
    """Connect a calendar account (committed), for the admin area and the CLI alike.

    The calendars are discovered at ``address``; those named in ``conflict`` (default:
    every one) count as busy time, ``write_to`` names the one calls and prep blocks are
    written to. Connecting an account that is already connected repairs it: the new
    credentials are checked and stored, the account works again, its calendars are synced
    and the calendar writes that died meanwhile are retried. The same account connected
    again with the same credentials while it works is refused. Nothing is written when
    anything fails (``ConnectError``).
    """
    provider = _provider_class(kind)
    settings = _settings(provider, address, username, password, local_files)
    existing = calendar_accounts.find_existing(lawyer.id, kind, settings)
    if existing is not None and not existing.broken and settings.secret == (
        decrypt_json(existing.secret_enc) if existing.secret_enc else {}
    ):
        raise ConnectError(gettext("This calendar account is already connected."),
                           f"this calendar account is already connected (account id {existing.id})")
    found = _list_remote(lawyer, provider, settings)
    if existing is not None:
        existing.secret_enc = encrypt_json(settings.secret)
        sync.mark_working(existing)
        for cal in existing.calendars:
            request_sync(cal)
        audit.record(None, "calendar.reconnected", existing, after={"kind": kind, "label": existing.label})
        db.session.commit()
        return Connected(existing, True, list(existing.calendars), [])
    if not found:
        raise ConnectError(gettext("No calendars were found at this address."),
                           f"no calendars found at {netguard.display_url(address)}")
    chosen = [_pick(found, name, "--calendar") for name in conflict] if conflict else list(found)
    destination = _pick(found, write_to, "--write-to") if write_to else None
    if destination is not None and not (provider.writable and destination.writable):
        raise ConnectError(gettext("Calls cannot be written to this calendar."),
                           f"--write-to {write_to!r}: the calendar is read-only")
    default_destination = False
    if destination is None and provider.writable and not _destination_ids(lawyer.id):
        writable_found = [c for c in found if c.writable]
        if len(writable_found) == 1:
            destination, default_destination = writable_found[0], True
    chosen_ids = {c.id for c in chosen}
    replaced = []
    if destination is not None:
        for old in db.session.scalars(
            sa.select(Calendar).where(Calendar.lawyer_id == lawyer.id, Calendar.write_to.is_(True))
        ):
            old.write_to = False
            replaced.append(old.name)
    account = CalendarAccount(lawyer_id=lawyer.id, kind=kind, label=provider.label(settings, found)[:300],
                              config=settings.config,
                              secret_enc=encrypt_json(settings.secret) if settings.secret else None)
    db.session.add(account)
    for rc in found:
        is_destination = destination is not None and rc.id == destination.id
        if rc.id in chosen_ids or is_destination:
            account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id=rc.id, name=rc.name[:300],
                                              conflict=rc.id in chosen_ids, write_to=is_destination))
    db.session.flush()
    for cal in account.calendars:
        request_sync(cal)
    audit.record(None, "calendar.connected", account, after=_choices(account))
    if destination is not None:
        followup.write_upcoming(lawyer.id, utcnow())
    db.session.commit()
    return Connected(account, False, list(account.calendars), replaced, default_destination)


def _destination_ids(lawyer_id: int) -> set[int]:
    return set(db.session.scalars(
        sa.select(Calendar.id).where(Calendar.lawyer_id == lawyer_id, Calendar.write_to.is_(True))
    ))


def has_destination(lawyer: Lawyer) -> bool:
    return bool(_destination_ids(lawyer.id))


def _choices(account: CalendarAccount) -> dict:
    """What the audit log keeps of a connection: never its secret."""
    return {"kind": account.kind, "label": account.label,
            "conflict": sorted(c.name for c in account.calendars if c.conflict),
            "write_to": next((c.name for c in account.calendars if c.write_to), None)}


def google_available() -> bool:
    config = current_app.config
    return bool(config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"))


def google_consent(lawyer: Lawyer) -> tuple[str, str]:
    """The consent URL and its ``state`` (which the web binds to the browser session)."""
    if not google_available():
        raise ConnectError(gettext("Google Calendar is not set up on this server."))

    try:
        return oauth.consent_url(lawyer.id, oauth.redirect_uri())
    except ProviderError as exc:
        raise ConnectError(plain_error(str(exc))) from None


def microsoft_available() -> bool:
    return microsoft_oauth.available()


def microsoft_consent(lawyer: Lawyer) -> tuple[str, str]:
    """Where to send the lawyer to sign in at Microsoft, and the ``state`` (which the web
    binds to the browser session); the answer comes back to /oauth/microsoft/callback."""
    if not microsoft_available():
        raise ConnectError(gettext("Microsoft 365 / Outlook is not set up on this server."))
    try:
        return microsoft_oauth.consent_url(lawyer.id, microsoft_oauth.redirect_uri())
    except ProviderError as exc:
        raise ConnectError(plain_error(str(exc))) from None


def signed_in(account: CalendarAccount, reconnected: bool, actor: audit.Actor | None = None) -> None:
    """After a sign-in provider (Google, Microsoft) stored an account, from the web's
    callback or the CLI's token file alike: the audit log names it like ``connect`` does,
    and a new destination gets the calls already booked (committed)."""
    audit.record(actor, "calendar.reconnected" if reconnected else "calendar.connected", account,
                 after=_choices(account))
    if not reconnected:
        followup.write_upcoming(account.lawyer_id, utcnow())
    db.session.commit()


def disconnect(account: CalendarAccount) -> None:
    """Forget the account, its calendars and their busy time (the caller commits)."""
    audit.record(None, "calendar.disconnected", account, before=_choices(account))
    calendar_accounts.disconnect(account)


def set_choices(account: CalendarAccount, conflict: set[int], write_to: int | None) -> None:
    """Which calendars count as busy; the one destination for calls and prep blocks. A
    newly chosen destination gets every call still ahead (also those booked before)."""
    before = _choices(account)
    before_destinations = _destination_ids(account.lawyer_id)
    _set_choices(account, conflict, write_to)
    diff = audit.changes(before, _choices(account))
    if diff is not None:
        audit.record(None, "calendar.choices", account, before=diff[0], after=diff[1])
    db.session.flush()
    after_destinations = _destination_ids(account.lawyer_id)
    if after_destinations and after_destinations != before_destinations:
        followup.write_upcoming(account.lawyer_id, utcnow())


def _set_choices(account: CalendarAccount, conflict: set[int], write_to: int | None) -> None:
    for cal in account.calendars:
        cal.conflict = cal.id in conflict
    own = {c.id for c in account.calendars}
    if write_to is not None and write_to in own and calendar_accounts.writable(account):
        db.session.execute(
            sa.update(Calendar).where(Calendar.lawyer_id == account.lawyer_id).values(write_to=False)
        )
        for cal in account.calendars:
            cal.write_to = cal.id == write_to
    elif write_to is None:
        for cal in account.calendars:
            cal.write_to = False


def _free_show_as(account: CalendarAccount) -> dict:
    """What the audit log keeps of an Outlook account's "Show as" choices, by calendar name."""
    names = {c.remote_id: c.name for c in account.calendars}
    chosen = (account.config or {}).get("free_show_as") or {}
    return {"free_show_as": {names.get(k, k): list(v) for k, v in sorted(chosen.items())}}


def _record_show_as(account: CalendarAccount, before: dict) -> None:
    diff = audit.changes(before, _free_show_as(account))
    if diff is not None:
        audit.record(None, "calendar.choices", account, before=diff[0], after=diff[1])


def set_free_show_as(calendar: Calendar, values: Sequence[str]) -> None:
    """Outlook: which "Show as" values of ``calendar`` leave the lawyer free (besides
    ``free``), for the CLI; ProviderError for an unknown value (the caller commits)."""
    from service.calendars.microsoft import accounts as microsoft_accounts

    before = _free_show_as(calendar.account)
    microsoft_accounts.set_free_show_as(calendar.account, calendar.remote_id, values)
    _record_show_as(calendar.account, before)


def set_tentative_free(account: CalendarAccount, calendar_ids: set[int]) -> None:
    """Outlook: which of the account's calendars count "Tentative" as free (the rest of
    its ``free_show_as`` choice, set from the CLI, stays); changed calendars are read
    again at their next sync (the caller commits)."""
    from service.calendars.microsoft.accounts import set_free_show_as as set_show_as

    before = _free_show_as(account)
    chosen = (account.config or {}).get("free_show_as") or {}
    for cal in account.calendars:
        values = set(chosen.get(cal.remote_id, []))
        wanted = values | {"tentative"} if cal.id in calendar_ids else values - {"tentative"}
        if wanted != values:
            set_show_as(account, cal.remote_id, sorted(wanted))
            request_sync(cal)
    _record_show_as(account, before)


@sync.when_broken
def _record_broken(account: CalendarAccount, message: str) -> None:
    """A provider refused the account's credentials (e.g. ``invalid_grant``): in the audit
    log like its connection, by the system."""
    audit.record(audit.SYSTEM, "calendar.broken", account,
                 after={"kind": account.kind, "label": account.label, "error": message[:300]})


def request_sync(calendar: Calendar) -> None:
    """Ask the worker to sync ``calendar`` soon (once, however often it is asked)."""
    sync.queue_sync(calendar)
