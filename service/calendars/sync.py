"""The database side of calendars: the busy mirror, syncing it, and fresh checks.

``sync_calendar`` asks the calendar's provider what changed and applies it to the
``BusyBlock`` rows of that calendar in one transaction. Network calls never happen
inside a database transaction. A failed sync keeps the last good mirror and records the
error on the calendar (and on the account), where the lawyer sees it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from booking.intervals import Interval, merge
from service.calendars.base import AuthError, CalendarProvider, ProviderError, SyncResult, load
from service.core.crypto import decrypt_json, encrypt_json
from service.storage import outbox
from service.storage.db_setup import end_read_transaction, write_transaction
from service.storage.extensions import db
from service.storage.models import (
    BusyBlock,
    Calendar,
    CalendarAccount,
    Client,
    Lawyer,
    OutboxTask,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 90
PAST = timedelta(days=1)
_CHUNK = 500  # keys per DELETE ... IN (...)
_MAX_WARNED = 200  # objects whose reading warnings are kept per calendar

Progress = Callable[[dict[str, Any]], None]


def provider_for(account: CalendarAccount) -> CalendarProvider:
    """The provider object for ``account``, with its secrets decrypted (no I/O yet)."""
    cls = load(account.kind)
    provider = cls(dict(account.config or {}), decrypt_json(account.secret_enc), account.lawyer.zone)
    if hasattr(provider, "store_secret") and provider.store_secret is None:
        # A provider whose credentials change as it works (MSAL's token cache).
        provider.store_secret = functools.partial(store_secret, account.id)
    return provider


def store_secret(account_id: int, secret: dict[str, Any]) -> None:
    """Store an account's refreshed secret at once, on a connection of its own (the
    caller's session may be between transactions, or hold one it will roll back)."""
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(CalendarAccount.__table__)
            .where(CalendarAccount.__table__.c.id == account_id)
            .values(secret_enc=encrypt_json(secret))
        )


def sync_window(lawyer_id: int, now: datetime) -> Interval:
    """now - 1 day ... now + the longest horizon of the lawyer's active clients."""
    longest = db.session.scalar(
        sa.select(sa.func.max(Client.horizon_days)).where(
            Client.lawyer_id == lawyer_id, Client.status == "active"
        )
    )
    return Interval(now - PAST, now + timedelta(days=longest or DEFAULT_HORIZON_DAYS))


def sync_calendar(
    calendar: Calendar, now: datetime, provider: CalendarProvider | None = None
) -> dict[str, Any]:
    """Sync one calendar into the mirror; returns what happened.

    Commits the session first (no transaction is held during network calls). Never
    raises ProviderError: the error is recorded on the calendar and its account, the
    mirror keeps its last good state, and the message is returned as ``error``.
    """
    calendar_id, remote_id, state = calendar.id, calendar.remote_id, calendar.sync_state
    report: dict[str, Any] = {"calendar_id": calendar_id, "name": calendar.name, "ok": False}
    window = sync_window(calendar.lawyer_id, now)
    own = provider is None
    if provider is None:
        provider = provider_for(calendar.account)
    db.session.commit()  # no transaction stays open during the network calls
    started = time.perf_counter()
    try:
        result = provider.sync(remote_id, state, window)
    except ProviderError as exc:
        _record_error(calendar_id, str(exc), broken=isinstance(exc, AuthError))
        report.update(error=str(exc), seconds=time.perf_counter() - started)
        return report
    except Exception as exc:  # noqa: BLE001 - a provider bug must not stop the other calendars
        log.exception("sync of calendar %s failed", calendar_id)
        message = f"unexpected error while syncing ({type(exc).__name__})"
        _record_error(calendar_id, message, broken=False)
        report.update(error=message, seconds=time.perf_counter() - started)
        return report
    finally:
        if own:
            provider.close()
    report.update(_apply(calendar_id, result, window, now))
    report.update(ok=True, full=result.full, requests=result.requests)
    report["seconds"] = time.perf_counter() - started
    return report


def _apply(calendar_id: int, result: SyncResult, window: Interval, now: datetime) -> dict[str, int]:
    """Write ``result`` to the mirror in one transaction; only keys that differ change."""
    with write_transaction():
        calendar = db.session.get(Calendar, calendar_id)
        if calendar is None:  # removed while we were syncing
            return {"events": 0, "changes": 0}
        stored: dict[str, list[Interval]] = {}
        for key, start, end in db.session.execute(
            sa.select(BusyBlock.key, BusyBlock.start, BusyBlock.end).where(
                BusyBlock.calendar_id == calendar_id
            )
        ):
            stored.setdefault(key, []).append(Interval(start, end))
        stored = {k: v for k, v in ((k, _visible(v, window)) for k, v in stored.items()) if v}
        new = {k: merge(v) for k, v in result.changed.items()}
        if result.full:
            gone = set(stored) - {k for k, v in new.items() if v}
        else:
            gone = {k for k in result.deleted if k in stored}
        replace = {k: v for k, v in new.items() if v != stored.get(k, [])}
        gone |= {k for k, v in replace.items() if not v}
        _delete_keys(calendar_id, gone | {k for k in replace if k in stored})
        db.session.add_all(
            BusyBlock(
                calendar_id=calendar_id,
                lawyer_id=calendar.lawyer_id,
                key=key,
                start=interval.start,
                end=interval.end,
            )
            for key, intervals in replace.items()
            for interval in intervals
        )
        db.session.execute(
            sa.delete(BusyBlock).where(
                BusyBlock.calendar_id == calendar_id, BusyBlock.end <= window.start
            )
        )
        calendar.sync_state = result.state
        calendar.synced_at = now
        calendar.last_error = None
        calendar.read_warnings = _warnings_after(calendar.read_warnings, result)
        mark_working(calendar.account)
        changes = len(gone | set(replace))
        events = len((set(stored) - gone) | {k for k, v in replace.items() if v})
    return {"events": events, "changes": changes}


def _warnings_after(stored: dict | None, result: SyncResult) -> dict | None:
    """The calendar's reading warnings after ``result``: a full sync replaces them, an
    incremental one replaces those of the keys it read or deleted."""
    if result.warnings is None:
        return stored
    if result.full:
        kept: dict = {}
    else:
        kept = {
            k: v for k, v in (stored or {}).items()
            if k not in result.changed and k not in result.deleted
        }
    kept.update({k: v for k, v in result.warnings.items() if v})
    if len(kept) > _MAX_WARNED:  # a calendar of thousands of broken events: a sample
        kept = {k: kept[k] for k in sorted(kept)[:_MAX_WARNED]}
    return kept or None


def _visible(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """Stored intervals as a provider would report them now (clipped at the window start)."""
    return merge(
        Interval(max(i.start, window.start), i.end) for i in intervals if i.end > window.start
    )


def _delete_keys(calendar_id: int, keys: set[str]) -> None:
    ordered = sorted(keys)
    for offset in range(0, len(ordered), _CHUNK):
        db.session.execute(
            sa.delete(BusyBlock).where(
                BusyBlock.calendar_id == calendar_id,
                BusyBlock.key.in_(ordered[offset : offset + _CHUNK]),
            )
        )


def _record_error(calendar_id: int, message: str, broken: bool) -> None:
    with write_transaction():
        calendar = db.session.get(Calendar, calendar_id)
        if calendar is None:
            return
        calendar.last_error = message[:2000]
        calendar.account.last_error = message[:2000]
        if broken:
            mark_broken(calendar.account, message)


def signed_in_account(lawyer: Lawyer, kind: str, label: str, secret: dict[str, Any]) -> tuple[CalendarAccount, bool]:
    """The account a sign-in provider (Google, Microsoft) connected: the lawyer's account of
    ``kind`` named ``label`` if there is one (a reconnection), else a new one; its secret
    replaced and the account marked working. Returns it and whether it was a reconnection."""
    account = db.session.scalar(
        sa.select(CalendarAccount).where(
            CalendarAccount.lawyer_id == lawyer.id,
            CalendarAccount.kind == kind,
            CalendarAccount.label == label,
        )
    )
    reconnected = account is not None
    if account is None:
        account = CalendarAccount(lawyer=lawyer, kind=kind, label=label, config={})
        db.session.add(account)
    account.secret_enc = encrypt_json(secret)
    mark_working(account)
    return account, reconnected


def mark_working(account: CalendarAccount) -> None:
    """The account answers again: clear its error and retry the calendar writes that died
    while it refused us, so no call or prep block stays missing from the calendar."""
    if account.broken:
        outbox.revive(
            sa.select(OutboxTask).where(
                OutboxTask.lawyer_id == account.lawyer_id,
                OutboxTask.status == "dead",
                OutboxTask.kind.in_(("calendar.put", "calendar.delete")),
            )
        )
    account.broken, account.last_error = False, None


#: Called as ``listener(account, message)`` when an account is first marked broken, in
#: the caller's transaction: the use cases' audit log registers here (``when_broken``),
#: as the worker's handlers do with ``outbox.handler`` (this layer cannot import them).
_broken_listeners: list[Callable[[CalendarAccount, str], None]] = []


def when_broken(listener: Callable[[CalendarAccount, str], None]) -> Callable[[CalendarAccount, str], None]:
    """Register ``listener`` for accounts marked broken (a decorator; once per listener)."""
    if listener not in _broken_listeners:
        _broken_listeners.append(listener)
    return listener


def mark_broken(account: CalendarAccount, message: str) -> None:
    """Stop using an account whose credentials were refused, and tell the lawyer once
    (in the caller's transaction; a later success or reconnect clears ``broken``)."""
    account.last_error = message[:2000]
    if account.broken:
        return
    account.broken = True
    outbox.enqueue(
        "mail.calendar_broken", {"account_id": account.id}, lawyer_id=account.lawyer_id
    )
    for listener in _broken_listeners:
        listener(account, message)


def sync_lawyer(
    lawyer_id: int | None, now: datetime, progress: Progress | None = None
) -> dict[str, Any]:
    """Sync every conflict calendar of one lawyer (or of all lawyers, ``None``).

    ``progress`` is called before each calendar (``{"index", "total", "name"}``) and
    after it with the calendar's report. Returns totals: calendars, ok, failed, events,
    changes, requests, seconds, and errors as ``[(calendar name, message)]``.
    """
    query = (
        sa.select(Calendar)
        .where(Calendar.conflict.is_(True))
        .order_by(Calendar.account_id, Calendar.id)
    )
    if lawyer_id is not None:
        query = query.where(Calendar.lawyer_id == lawyer_id)
    calendar_ids = list(db.session.scalars(query.with_only_columns(Calendar.id)))
    summary: dict[str, Any] = {
        "calendars": len(calendar_ids),
        "ok": 0,
        "failed": 0,
        "events": 0,
        "changes": 0,
        "requests": 0,
        "errors": [],
    }
    started = time.perf_counter()
    providers: dict[int, CalendarProvider] = {}
    try:
        for index, calendar_id in enumerate(calendar_ids, 1):
            calendar = db.session.get(Calendar, calendar_id)
            if calendar is None:
                continue
            if progress:
                progress({"index": index, "total": len(calendar_ids), "name": calendar.name})
            if calendar.account_id not in providers:
                providers[calendar.account_id] = provider_for(calendar.account)
            report = sync_calendar(calendar, now, providers[calendar.account_id])
            report.update(index=index, total=len(calendar_ids))
            if progress:
                progress(report)
            if report["ok"]:
                summary["ok"] += 1
                summary["events"] += report["events"]
                summary["changes"] += report["changes"]
                summary["requests"] += report.get("requests", 0)
            else:
                summary["failed"] += 1
                summary["errors"].append((report["name"], report["error"]))
    finally:
        for provider in providers.values():
            provider.close()
    summary["seconds"] = time.perf_counter() - started
    return summary


#: (database, calendar id) -> when this process may try it again after a failed sync
_retry_after: dict[tuple[str, int], datetime] = {}


def sync_due(now: datetime, limit: int = 50) -> dict[str, Any]:
    """For the worker: sync the conflict calendars not synced for
    ``SYNC_INTERVAL_SECONDS``. A calendar whose sync failed is not retried by this
    process before another interval has passed, and a broken account (refused
    credentials) waits for the lawyer."""
    interval = timedelta(seconds=current_app.config.get("SYNC_INTERVAL_SECONDS", 300))
    due = list(
        db.session.scalars(
            sa.select(Calendar)
            .join(CalendarAccount, CalendarAccount.id == Calendar.account_id)
            .where(
                Calendar.conflict.is_(True),
                CalendarAccount.broken.is_(False),
                sa.or_(Calendar.synced_at.is_(None), Calendar.synced_at <= now - interval),
            )
            .order_by(Calendar.synced_at.is_not(None), Calendar.synced_at)
        )
    )
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    synced = failed = 0
    for calendar in due:
        if synced + failed >= limit:
            break
        key = (database, calendar.id)
        if _retry_after.get(key, now) > now:
            continue
        report = sync_calendar(calendar, now)
        if report["ok"]:
            synced += 1
            _retry_after.pop(key, None)
        else:
            failed += 1
            _retry_after[key] = now + interval
    return {"synced": synced, "failed": failed}


def queue_due_syncs(now: datetime) -> int:
    """For the worker's lanes: queue a ``calendar.sync`` task for each conflict calendar
    not synced for ``SYNC_INTERVAL_SECONDS`` (the sync lane runs them, one per lawyer at a
    time). A calendar queued by this process is not queued again before another interval,
    whatever the sync's outcome; a broken account waits for the lawyer."""
    interval = timedelta(seconds=current_app.config.get("SYNC_INTERVAL_SECONDS", 300))
    due = list(
        db.session.scalars(
            sa.select(Calendar)
            .join(CalendarAccount, CalendarAccount.id == Calendar.account_id)
            .where(
                Calendar.conflict.is_(True),
                CalendarAccount.broken.is_(False),
                sa.or_(Calendar.synced_at.is_(None), Calendar.synced_at <= now - interval),
            )
            .order_by(Calendar.synced_at.is_not(None), Calendar.synced_at)
        )
    )
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    parked = _parked_calendar_ids()
    wanted = [c.id for c in due if _queued_at.get((database, c.id), now) <= now and c.id not in parked]
    queued = 0
    for calendar_id in wanted:
        calendar = db.session.get(Calendar, calendar_id)
        queued += calendar is not None and queue_sync(calendar)
        # Only once it is queued: a tick that failed (the database away, a write refused)
        # tries again at the next tick, not an interval later.
        _queued_at[(database, calendar_id)] = now + interval
    queued += _queue_due_probes(now, interval, database)
    db.session.commit()
    return queued


def _parked_calendar_ids() -> set[int]:
    """Calendars whose sync was parked for being killed too often (``outbox.killed``):
    not queued on their own again until the lawyer asks (Sync now, or try again)."""
    payloads = db.session.scalars(
        sa.select(OutboxTask.payload).where(
            OutboxTask.kind == "calendar.sync",
            OutboxTask.status == "dead",
            OutboxTask.kills >= outbox.POISON_KILLS,
        )
    )
    return {p.get("calendar_id") for p in payloads if isinstance(p, dict)}


@outbox.on_parked("calendar.sync")
def _sync_parked(payload: dict[str, Any], message: str) -> None:
    """Say on the calendar why it is no longer synced (in the parking transaction)."""
    calendar = db.session.get(Calendar, payload.get("calendar_id"))
    if calendar is not None:
        calendar.last_error = message[:2000]


#: (database, calendar id) -> when this process may queue the calendar's probe again
_probe_at: dict[tuple[str, int], datetime] = {}


def _queue_due_probes(now: datetime, interval: timedelta, database: str) -> int:
    """Between syncs, a probe task every ``CALDAV_PROBE_SECONDS`` for each CalDAV
    conflict calendar (see :func:`probe_calendar`): a change is seen within about a
    probe interval, at one request per unchanged calendar."""
    every = current_app.config.get("CALDAV_PROBE_SECONDS", 30)
    if not every or every <= 0:
        return 0
    step = timedelta(seconds=every)
    ids = db.session.scalars(
        sa.select(Calendar.id)
        .join(CalendarAccount, CalendarAccount.id == Calendar.account_id)
        .where(
            Calendar.conflict.is_(True),
            CalendarAccount.broken.is_(False),
            CalendarAccount.kind.in_(PROBED_KINDS),
            Calendar.synced_at > now - interval,  # the others get a whole sync anyway
            Calendar.synced_at <= now - step,
        )
    ).all()
    queued = 0
    for calendar_id in ids:
        key = (database, calendar_id)
        if _probe_at.get(key, now) > now:
            continue
        calendar = db.session.get(Calendar, calendar_id)
        queued += calendar is not None and queue_sync(calendar, probe=True)
        _probe_at[key] = now + step  # once queued, as the syncs' (``queue_due_syncs``)
    return queued


#: Account kinds whose provider has a cheap change probe (``CalendarProvider.probe``).
PROBED_KINDS = ("caldav",)


def probe_calendar(calendar: Calendar, now: datetime) -> dict[str, Any]:
    """Ask the calendar's server whether it changed since the last sync; sync it only if
    so. Returns ``{"moved", "requests"}`` plus the sync's report when it ran. A failed
    probe is not recorded (the periodic sync records its own errors)."""
    provider = provider_for(calendar.account)
    state, remote_id = calendar.sync_state, calendar.remote_id
    window = sync_window(calendar.lawyer_id, now)
    db.session.commit()  # no transaction stays open during the network call
    try:
        try:
            moved = provider.probe(remote_id, state, window)
        except ProviderError as exc:
            log.info("probe of calendar %s failed: %s", calendar.id, exc)
            return {"moved": None, "requests": getattr(provider, "requests", 0), "error": str(exc)}
        requests = getattr(provider, "requests", 0)
        if not moved:
            return {"moved": False, "requests": requests}
        report = sync_calendar(calendar, now, provider)
    finally:
        provider.close()
    report["requests"] = requests + report.get("requests", 0)
    return {**report, "moved": True}


#: (database, calendar id) -> when this process may queue the calendar's sync again
_queued_at: dict[tuple[str, int], datetime] = {}


def conflict_calendars(lawyer_id: int) -> list[Calendar]:
    return list(
        db.session.scalars(
            sa.select(Calendar)
            .where(Calendar.lawyer_id == lawyer_id, Calendar.conflict.is_(True))
            .order_by(Calendar.account_id, Calendar.id)
        )
    )


def lawyer_calendars(lawyer_id: int) -> list[Calendar]:
    """Every calendar of the lawyer with its account, in one query (a booking reads them
    once: its conflict sources for the live check, its destinations for the writes)."""
    return list(db.session.scalars(_lawyer_calendars_query(), {"lawyer_id": lawyer_id}))


@functools.cache
def _lawyer_calendars_query() -> sa.Select:
    """Built once (#19: building a statement cost a booking more than running it)."""
    return (
        sa.select(Calendar)
        .options(joinedload(Calendar.account))
        .where(Calendar.lawyer_id == sa.bindparam("lawyer_id"))
        .order_by(Calendar.account_id, Calendar.id)
    )


def live_busy(
    lawyer: Lawyer, interval: Interval, *, mirror_counted: bool = False,
    calendars: list[Calendar] | None = None,
) -> list[Interval]:
    """Busy time in ``interval`` asked of the calendar servers now (one time-range query
    per conflict calendar), for the check right before a booking is confirmed.

    A calendar whose server answers "unchanged since the last sync" (an iCal feed's
    304) is read from the mirror that sync wrote; with ``mirror_counted`` (the caller's
    own check reads the mirror in its transaction, as a booking's does) not at all.

    ``calendars``: the lawyer's conflict calendars with their accounts, if the caller has
    read them (``lawyer_calendars``). Raises ProviderError if any cannot be asked.
    """
    targets: list[tuple[int, int, str, str, str | None]] = []
    # (account id, calendar id, remote id, name, sync state)
    providers: dict[int, CalendarProvider] = {}
    busy: list[Interval] = []
    try:
        for calendar in conflict_calendars(lawyer.id) if calendars is None else calendars:
            if calendar.account_id not in providers:
                try:
                    providers[calendar.account_id] = provider_for(calendar.account)
                except Exception:  # unknown kind, undecryptable secret: fail closed
                    log.exception("calendar account %s cannot be used", calendar.account_id)
                    raise ProviderError(
                        f"calendar {calendar.name!r} could not be checked"
                    ) from None
            targets.append(
                (calendar.account_id, calendar.id, calendar.remote_id, calendar.name,
                 calendar.sync_state)
            )
        # no transaction stays open during the network calls (what was read stays loaded)
        end_read_transaction(commit_changes=True)
        unchanged: list[int] = []  # calendars whose server says: as the last sync saw it
        for account_id, calendar_id, remote_id, name, state in targets:
            try:
                found = providers[account_id].busy_since(remote_id, interval, state)
                if found is None:
                    unchanged.append(calendar_id)
                else:
                    busy.extend(found)
            except ProviderError as exc:
                raise type(exc)(f"calendar {name!r}: {exc}") from None
            except Exception:  # a provider bug: the booking must fail closed, not crash
                log.exception("live check of calendar %r failed", name)
                raise ProviderError(f"calendar {name!r} could not be checked") from None
    finally:
        for provider in providers.values():
            provider.close()
    if unchanged and not mirror_counted:
        busy.extend(mirrored_busy(unchanged, interval))
    return merge(busy)


def mirrored_busy(calendar_ids: list[int], interval: Interval) -> list[Interval]:
    """The mirror's busy rows of ``calendar_ids`` overlapping ``interval``, clipped."""
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end).where(
            BusyBlock.calendar_id.in_(calendar_ids),
            BusyBlock.start < interval.end,
            BusyBlock.end > interval.start,
        )
    )
    return [
        Interval(max(start, interval.start), min(end, interval.end)) for start, end in rows
    ]


def mirror_fresh(lawyer: Lawyer, now: datetime) -> bool:
    """False when some conflict calendar was last synced longer ago than
    ``CALENDAR_FRESHNESS_MINUTES`` (or never)."""
    limit = now - timedelta(minutes=current_app.config.get("CALENDAR_FRESHNESS_MINUTES", 30))
    stale = db.session.scalar(
        sa.select(sa.func.count(Calendar.id)).where(
            Calendar.lawyer_id == lawyer.id,
            Calendar.conflict.is_(True),
            sa.or_(Calendar.synced_at.is_(None), Calendar.synced_at < limit),
        )
    )
    return not stale


def queue_sync(calendar: Calendar, *, probe: bool = False) -> bool:
    """Queue one ``calendar.sync`` task unless one is already waiting (push storms).
    ``probe``: the task asks the server first and syncs only if the calendar moved.

    Commits (the caller's changes too). The look for a waiting task and the insert run in
    one transaction that takes the write lock first: on SQLite a transaction that read and
    then writes is refused at once ("database is locked", no busy wait) when another
    process committed in between, and the scheduler's and the push hooks' reads race the
    lanes' commits all the time."""
    calendar_id, lawyer_id = calendar.id, calendar.lawyer_id
    db.session.commit()
    with write_transaction(keep_loaded=True):
        waiting = db.session.scalars(
            sa.select(OutboxTask).where(
                OutboxTask.kind == "calendar.sync",
                OutboxTask.status == "pending",
                OutboxTask.lawyer_id == lawyer_id,
                OutboxTask.locked_until.is_(None),
            )
        )
        for task in waiting:
            if task.payload.get("calendar_id") != calendar_id:
                continue
            if task.payload.get("probe") and not probe:  # a sync is asked for: it may not wait
                task.payload = {"calendar_id": calendar_id}
                return True
            return False
        payload: dict[str, Any] = {"calendar_id": calendar_id}
        if probe:
            payload["probe"] = True
        outbox.enqueue("calendar.sync", payload, lawyer_id=lawyer_id)
    return True


@outbox.handler("calendar.sync")
def sync_task(payload: dict[str, Any]) -> None:
    """Sync one calendar now (queued by a push notification).

    A failure is recorded on the calendar by ``sync.sync_calendar`` (an AuthError marks
    the account broken); the task itself is done either way, since the periodic sync
    retries anyway.
    """
    calendar = db.session.get(Calendar, payload.get("calendar_id"))
    if calendar is None or not calendar.conflict or calendar.account.broken:
        return
    if payload.get("probe"):
        probed = probe_calendar(calendar, utcnow())
        if probed.get("moved") and not probed.get("ok"):
            log.info("probed sync of calendar %s failed: %s", calendar.id, probed.get("error"))
        return
    report = sync_calendar(calendar, utcnow())
    if not report["ok"]:
        log.info("pushed sync of calendar %s failed: %s", calendar.id, report.get("error"))
