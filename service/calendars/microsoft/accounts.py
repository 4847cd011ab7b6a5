"""Connecting a Microsoft account, and its change subscriptions.

``connect`` is shared by the CLI (``calendar add-microsoft --token-file``) and the OAuth
callback: it lists the account's calendars first, validates the choice, and only then
writes the account and its calendars (encrypted token cache) in one commit. Connecting
the same Microsoft account again (e.g. after access was revoked) stores the new token
cache and clears ``broken`` instead of adding a second account.

Push: when ``BASE_URL`` is https, each conflict calendar gets a Graph subscription on
its events. Creating one makes Graph call our webhook first (the ``validationToken``
handshake), so it never happens inside a web request: ``connect`` queues the outbox
task ``microsoft.subscriptions`` and the worker runs it; ``renew_subscriptions`` (the
worker's periodic tick) moves expiries forward before ``expirationDateTime`` and
replaces subscriptions Graph dropped. A notification only queues ``calendar.sync``;
polling stays the fallback.
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

from service.calendars import sync
from service.calendars.base import AuthError, ProviderError, RemoteCalendar
from service.calendars.microsoft.models import MicrosoftSubscription
from service.calendars.microsoft.provider import MicrosoftProvider
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Calendar, CalendarAccount, Lawyer, OutboxTask, utcnow

log = logging.getLogger(__name__)

HOOK_PATH = "/hooks/microsoft"
LIFECYCLE_PATH = "/hooks/microsoft/lifecycle"
SUBSCRIPTION_TTL = timedelta(minutes=4200)  # Graph allows 4230 minutes for Outlook events
RENEW_MARGIN = timedelta(hours=12)  # renew a subscription this long before it expires
TASK = "microsoft.subscriptions"


@dataclass(frozen=True)
class Connected:
    account: CalendarAccount
    conflict: list[str]  # remote ids
    write_to: str
    reconnected: bool
    names: dict[str, str]


def provider_for(account: CalendarAccount) -> MicrosoftProvider:
    provider = sync.provider_for(account)
    assert isinstance(provider, MicrosoftProvider)
    return provider


def _choose(remote: list[RemoteCalendar], default: str | None, wanted: Sequence[str],
            write_to: str | None) -> tuple[list[str], str]:
    by_id = {cal.id: cal for cal in remote}
    by_name = {cal.name.casefold(): cal.id for cal in remote}

    def resolve(value: str, option: str) -> str:
        value = value.strip()
        if value == "default" and default:
            return default
        if value in by_id:
            return value
        if value.casefold() in by_name:
            return by_name[value.casefold()]
        known = ", ".join(repr(c.name) for c in remote) or "none"
        raise ProviderError(f"{option} {value!r} is not a calendar of this account (found: {known})")

    if (not wanted or not write_to) and not default:
        raise ProviderError("this Microsoft account has no default calendar; name --calendar and --write-to")
    conflict = list(dict.fromkeys(resolve(v, "--calendar") for v in wanted)) or [default]
    destination = resolve(write_to, "--write-to") if write_to else default
    if not by_id[destination].writable:
        raise ProviderError(f"calendar {by_id[destination].name!r} is read-only for this account; "
                            "choose another --write-to")
    return conflict, destination


def connect(lawyer: Lawyer, secret: dict[str, Any], calendars: Sequence[str] = (),
            write_to: str | None = None) -> Connected:
    """Validate against Graph, then store the account; raises ProviderError, writes nothing."""
    provider = MicrosoftProvider({}, secret, lawyer.zone)
    try:
        remote = provider.list_calendars()
        secret = provider.current_secret()
    finally:
        provider.close()
    conflict, destination = _choose(remote, provider.default_id, calendars, write_to)
    names = {cal.id: cal.name for cal in remote}
    label = f"Microsoft: {secret.get('username') or names[destination]}"[:300]
    account, reconnected = sync.signed_in_account(lawyer, "microsoft", label, secret)
    if not reconnected or calendars or write_to:
        existing = {cal.remote_id: cal for cal in account.calendars}
        if write_to:  # one destination for calls per lawyer
            db.session.execute(sa.update(Calendar).where(Calendar.lawyer_id == lawyer.id).values(write_to=False))
        # Every calendar of the account is listed (the admin page lets the lawyer tick
        # more conflict calendars later); only the chosen ones count as busy.
        for remote_id in dict.fromkeys([*conflict, destination, *names]):
            if remote_id not in existing:
                existing[remote_id] = Calendar(remote_id=remote_id, name=names[remote_id][:300],
                                               lawyer_id=lawyer.id)
                account.calendars.append(existing[remote_id])
        for remote_id, cal in existing.items():
            cal.conflict = remote_id in conflict
            cal.write_to = remote_id == destination
    else:
        conflict = [c.remote_id for c in account.calendars if c.conflict]
        destination = next((c.remote_id for c in account.calendars if c.write_to), destination)
    db.session.flush()
    for cal in account.calendars:
        if cal.conflict:
            outbox.enqueue("calendar.sync", {"calendar_id": cal.id}, lawyer_id=lawyer.id)
    if push_address():
        outbox.enqueue(TASK, {"account_id": account.id}, lawyer_id=lawyer.id)
    db.session.commit()
    return Connected(account, conflict, destination, reconnected, names)


def set_free_show_as(account: CalendarAccount, remote_id: str, values: Sequence[str]) -> None:
    """Which ``showAs`` values of one calendar leave the lawyer free (besides ``free``);
    the calendar is listed again from scratch at its next sync (the caller commits)."""
    from service.calendars.microsoft.events import SHOW_AS_VALUES

    unknown = [v for v in values if v not in SHOW_AS_VALUES or v == "free"]
    if unknown:
        choices = ", ".join(v for v in SHOW_AS_VALUES if v != "free")
        raise ProviderError(f"unknown showAs value {unknown[0]!r} (choose from {choices})")
    config = dict(account.config or {})
    chosen = dict(config.get("free_show_as") or {})
    chosen[remote_id] = sorted(set(values))
    if not chosen[remote_id]:
        chosen.pop(remote_id)
    config["free_show_as"] = chosen
    account.config = config
    for cal in account.calendars:
        if cal.remote_id == remote_id:
            cal.sync_state = None  # read with the old choice: the next sync lists it afresh


# -- subscriptions ------------------------------------------------------------------


def push_address() -> str | None:
    """The webhook URL, or None when ``BASE_URL`` is not https (Graph requires it)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + HOOK_PATH if base.startswith("https://") else None


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def verified(subscription_id: str, client_state: str) -> MicrosoftSubscription | None:
    """The subscription a notification names, if its ``clientState`` is ours."""
    if not subscription_id or not client_state or len(subscription_id) > 200:
        return None
    row = db.session.scalar(
        sa.select(MicrosoftSubscription).where(MicrosoftSubscription.subscription_id == subscription_id)
    )
    if row is None or not hmac.compare_digest(row.client_state_hash, _hash(client_state)):
        return None
    return row


def _subscriptions(calendar_ids: Sequence[int]) -> list[MicrosoftSubscription]:
    if not calendar_ids:
        return []
    return list(db.session.scalars(
        sa.select(MicrosoftSubscription).where(MicrosoftSubscription.calendar_id.in_(calendar_ids))
    ))


def _open(provider: MicrosoftProvider, calendar: Calendar, address: str, now: datetime) -> None:
    client_state = secrets.token_urlsafe(48)  # 64 characters; Graph allows 128
    base = address[: -len(HOOK_PATH)]
    calendar_id, remote_id = calendar.id, calendar.remote_id
    db.session.commit()  # Graph calls our webhook while we wait: hold no transaction
    subscription_id, expires = provider.subscribe(remote_id, address, base + LIFECYCLE_PATH, client_state,
                                                  now + SUBSCRIPTION_TTL)
    db.session.add(MicrosoftSubscription(calendar_id=calendar_id, subscription_id=subscription_id,
                                         client_state_hash=_hash(client_state), expires_at=expires))
    db.session.commit()


def _close(provider: MicrosoftProvider, row: MicrosoftSubscription) -> None:
    try:
        provider.unsubscribe(row.subscription_id)
    except ProviderError as exc:  # it expires by itself; notifications are verified anyway
        log.info("microsoft subscription %s not deleted: %s", row.subscription_id[:16], exc)
    db.session.delete(row)
    db.session.commit()


def ensure_subscriptions(account: CalendarAccount, now: datetime | None = None) -> dict[str, int]:
    """Every conflict calendar of ``account`` with a subscription that outlives the
    renewal margin: renew those about to expire, open missing ones, close the rest."""
    counts = {"opened": 0, "renewed": 0}
    address = push_address()
    if address is None or account.broken:
        return counts
    now = now or utcnow()
    by_calendar: dict[int, list[MicrosoftSubscription]] = {}
    for row in _subscriptions([c.id for c in account.calendars]):
        by_calendar.setdefault(row.calendar_id, []).append(row)
    provider = provider_for(account)
    try:
        for calendar in list(account.calendars):
            rows = by_calendar.get(calendar.id, [])
            if not calendar.conflict:
                for row in rows:
                    _close(provider, row)
                continue
            live = [r for r in rows if r.expires_at > now + RENEW_MARGIN]
            for row in rows:
                if row in live:
                    continue
                renewed = provider.renew(row.subscription_id, now + SUBSCRIPTION_TTL) if row.expires_at > now else None
                if renewed is None:  # expired or dropped by Graph: a new one below
                    db.session.delete(row)
                    db.session.commit()
                else:
                    row.expires_at = renewed
                    db.session.commit()
                    live.append(row)
                    counts["renewed"] += 1
            if not live:
                _open(provider, calendar, address, now)
                counts["opened"] += 1
    except AuthError as exc:
        sync.mark_broken(account, str(exc))
        db.session.commit()
        raise
    finally:
        provider.close()
    return counts


@outbox.handler(TASK)
def subscriptions_task(payload: dict[str, Any]) -> None:
    """Open or renew the account's subscriptions (queued by connect and by lifecycle
    notifications). An AuthError marks the account broken: nothing to retry."""
    account = db.session.get(CalendarAccount, payload.get("account_id"))
    if account is None or account.kind != "microsoft" or account.broken:
        return
    try:
        ensure_subscriptions(account)
    except AuthError as exc:
        raise outbox.PermanentError(str(exc)) from None


def renew_subscriptions(now: datetime | None = None) -> dict[str, int]:
    """For the worker's periodic tick: keep every Microsoft conflict calendar subscribed."""
    counts = {"opened": 0, "renewed": 0, "failed": 0}
    if push_address() is None:
        return counts
    accounts = db.session.scalars(
        sa.select(CalendarAccount).where(CalendarAccount.kind == "microsoft", CalendarAccount.broken.is_(False))
    )
    for account in list(accounts):
        try:
            done = ensure_subscriptions(account, now)
        except ProviderError as exc:
            counts["failed"] += 1
            log.warning("microsoft subscriptions for account %s not renewed: %s", account.id, exc)
            continue
        counts["opened"] += done["opened"]
        counts["renewed"] += done["renewed"]
    return counts


def stop_subscriptions(account: CalendarAccount) -> None:
    """Delete the account's subscriptions (call before disconnecting it)."""
    rows = _subscriptions([c.id for c in account.calendars])
    if not rows:
        return
    provider = provider_for(account)
    try:
        for row in rows:
            _close(provider, row)
    finally:
        provider.close()


def lifecycle(row: MicrosoftSubscription, event: str) -> None:
    """A lifecycle notification for ``row`` (verified): queue what it asks for."""
    calendar = row.calendar
    if event == "reauthorizationRequired":  # renew now, whatever its expiry says
        row.expires_at = min(row.expires_at, utcnow() + RENEW_MARGIN)
    if event == "subscriptionRemoved":
        db.session.delete(row)
        db.session.flush()
    if event in ("reauthorizationRequired", "subscriptionRemoved"):
        waiting = db.session.scalars(sa.select(OutboxTask).where(
            OutboxTask.kind == TASK, OutboxTask.status == "pending",
            OutboxTask.lawyer_id == calendar.lawyer_id))
        if not any(t.payload.get("account_id") == calendar.account_id for t in waiting):
            outbox.enqueue(TASK, {"account_id": calendar.account_id}, lawyer_id=calendar.lawyer_id)
    db.session.commit()
    if event in ("subscriptionRemoved", "missed"):
        sync.queue_sync(calendar)  # changes may have been missed meanwhile

