"""Connecting a Google account, and its push channels.

``connect`` is shared by the CLI (``calendar add-google --token-file``) and the OAuth
callback: it lists the account's calendars first, validates the choice, and only then
writes the account and its calendars (encrypted secret) in one commit. Connecting the
same Google account again (e.g. after the lawyer revoked access) refreshes the secret
and clears ``broken`` instead of adding a second account.

Push: when ``BASE_URL`` is https, each conflict calendar gets an ``events.watch``
channel; ``renew_channels`` (run periodically by the worker) replaces channels before
they expire; ``stop_channels`` closes them when an account is disconnected. A push
only queues an outbox ``calendar.sync`` task (run by ``sync_task``); polling stays the
fallback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from service.calendars import bounded, sync
from service.calendars.base import AuthError, ProviderError, RemoteCalendar
from service.calendars.google.models import GoogleChannel
from service.calendars.google.provider import GoogleProvider
from service.storage.extensions import db
from service.storage.models import Calendar, CalendarAccount, Lawyer, utcnow

log = logging.getLogger(__name__)

HOOK_PATH = "/hooks/google"
RENEW_MARGIN = timedelta(days=1)  # replace a channel this long before it expires
CHANNEL_TTL = timedelta(days=7)  # Google's maximum for calendar events channels


@dataclass(frozen=True)
class Connected:
    account: CalendarAccount
    conflict: list[str]  # remote ids
    write_to: str
    reconnected: bool


def provider_for(account: CalendarAccount) -> GoogleProvider:
    provider = sync.provider_for(account)
    assert isinstance(provider, GoogleProvider)
    return provider


def _choose(
    remote: list[RemoteCalendar], primary: str | None, wanted: Sequence[str], write_to: str | None
) -> tuple[list[str], str]:
    by_id = {cal.id: cal for cal in remote}

    def resolve(value: str, option: str) -> str:
        value = value.strip()
        if value == "primary" and primary:
            return primary
        if value not in by_id:
            known = ", ".join(sorted(by_id)) or "none"
            raise ProviderError(
                f"{option} {value!r} is not a calendar of this account (found: {known})"
            )
        return value

    if (not wanted or not write_to) and not primary:
        raise ProviderError(
            "this Google account has no primary calendar; name --calendar and --write-to"
        )
    conflict = list(dict.fromkeys(resolve(v, "--calendar") for v in wanted)) or [primary]
    destination = resolve(write_to, "--write-to") if write_to else primary
    if not by_id[destination].writable:
        raise ProviderError(
            f"calendar {destination!r} is read-only for this account; choose another --write-to"
        )
    return conflict, destination


def connect(
    lawyer: Lawyer,
    info: dict[str, Any],
    calendars: Sequence[str] = (),
    write_to: str | None = None,
) -> Connected:
    """Validate against Google, then store the account; raises ProviderError, writes nothing."""
    provider = GoogleProvider({}, info, lawyer.zone)
    try:
        with bounded.web_call():  # from the OAuth callback: a strict budget
            remote = provider.list_calendars()
        secret = provider.current_secret()
    finally:
        provider.close()
    conflict, destination = _choose(remote, provider.primary_id, calendars, write_to)
    names = {cal.id: cal.name for cal in remote}
    label = f"Google: {provider.primary_id or destination}"

    account, reconnected = sync.signed_in_account(lawyer, "google", label, secret)
    if not reconnected or calendars or write_to:
        existing = {cal.remote_id: cal for cal in account.calendars}
        for remote_id in dict.fromkeys([*conflict, destination]):
            if remote_id not in existing:
                existing[remote_id] = Calendar(
                    remote_id=remote_id, name=names[remote_id][:300], lawyer_id=lawyer.id
                )
                account.calendars.append(existing[remote_id])
        for remote_id, cal in existing.items():
            cal.conflict = remote_id in conflict
            cal.write_to = remote_id == destination
    else:
        conflict = [c.remote_id for c in account.calendars if c.conflict]
        destination = next((c.remote_id for c in account.calendars if c.write_to), destination)
    db.session.commit()
    if push_address():
        try:
            ensure_channels(account)
        except ProviderError as exc:  # push is an optimisation; polling still works
            log.warning("google push for account %s not started: %s", account.id, exc)
    return Connected(account, conflict, destination, reconnected)


def mark_broken(account: CalendarAccount, error: AuthError) -> None:
    sync.mark_broken(account, str(error))
    db.session.commit()


# -- push channels ------------------------------------------------------------------


def push_address() -> str | None:
    """The webhook URL, or None when ``BASE_URL`` is not https (Google requires it)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + HOOK_PATH if base.startswith("https://") else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(channel: GoogleChannel, token: str) -> bool:
    return hmac.compare_digest(channel.token_hash, _hash(token))


def _open(provider: GoogleProvider, calendar: Calendar, address: str) -> GoogleChannel:
    token = secrets.token_urlsafe(32)
    channel_id, resource_id, expires = provider.watch(
        calendar.remote_id, address, token, CHANNEL_TTL
    )
    channel = GoogleChannel(
        calendar_id=calendar.id,
        channel_id=channel_id,
        resource_id=resource_id,
        token_hash=_hash(token),
        expires_at=expires,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


def _stop(provider: GoogleProvider, channel: GoogleChannel) -> None:
    try:
        provider.stop_channel(channel.channel_id, channel.resource_id)
    except ProviderError as exc:  # it expires by itself; notifications are verified anyway
        log.info("google channel %s not stopped: %s", channel.channel_id, exc)
    db.session.delete(channel)
    db.session.commit()


def _channels(calendar_ids: Sequence[int]) -> list[GoogleChannel]:
    if not calendar_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(GoogleChannel).where(GoogleChannel.calendar_id.in_(calendar_ids))
        )
    )


def ensure_channels(account: CalendarAccount, now: datetime | None = None) -> int:
    """Open channels for conflict calendars lacking a live one; returns how many opened."""
    address = push_address()
    if address is None or account.broken:
        return 0
    now = now or utcnow()
    opened = 0
    by_calendar: dict[int, list[GoogleChannel]] = {}
    for channel in _channels([c.id for c in account.calendars]):
        by_calendar.setdefault(channel.calendar_id, []).append(channel)
    provider = provider_for(account)
    try:
        for calendar in account.calendars:
            current = by_calendar.get(calendar.id, [])
            if not calendar.conflict:
                stale = current
            else:
                live = [
                    c for c in current if c.expires_at is None or c.expires_at > now + RENEW_MARGIN
                ]
                if not live:
                    _open(provider, calendar, address)
                    opened += 1
                stale = [c for c in current if c not in live]
            for channel in stale:
                _stop(provider, channel)
    except AuthError as exc:
        mark_broken(account, exc)
        raise
    finally:
        provider.close()
    return opened


def renew_channels(now: datetime | None = None) -> dict[str, int]:
    """For the worker's periodic tick: keep every Google conflict calendar watched."""
    counts = {"opened": 0, "failed": 0}
    if push_address() is None:
        return counts
    accounts = db.session.scalars(
        sa.select(CalendarAccount).where(
            CalendarAccount.kind == "google", CalendarAccount.broken.is_(False)
        )
    )
    for account in list(accounts):
        try:
            counts["opened"] += ensure_channels(account, now)
        except ProviderError as exc:
            counts["failed"] += 1
            log.warning("google push renewal for account %s failed: %s", account.id, exc)
    return counts


def stop_channels(account: CalendarAccount) -> None:
    """Close the account's channels (call before deleting or disconnecting it)."""
    channels = _channels([c.id for c in account.calendars])
    if not channels:
        return
    provider = provider_for(account)
    try:
        for channel in channels:
            _stop(provider, channel)
    finally:
        provider.close()
