"""The audit log: who changed what, when; append-only, visible to the lawyer and the firm admin.

One call records a change, inside the caller's transaction (it commits with the change,
or not at all)::

    audit.record(actor, action, subject, before=None, after=None)

- ``actor``: an ``Actor`` (kind ``client`` / ``lawyer`` / ``assistant`` / ``admin`` /
  ``system``, with the id of that lawyer, user or client), or None for the actor of the
  current request or command (``current_actor()``; the web edge sets it per request, a
  CLI command or the worker is ``system``).
- ``action``: a dotted name, ``<what>.<verb>``: ``booking.booked``, ``agreement.changed``...
- ``subject``: the changed row (a model instance with an ``id``; its ``lawyer_id`` says
  whose log it is in), or a ``Subject(type, id, lawyer_id)``.
- ``before`` / ``after``: small JSON-able dicts. Never put a client's personal data here
  (names, e-mail addresses, agendas, notes): the log outlives an erasure unchanged, so
  it keeps ids, times, agreement terms and the *names* of changed personal fields only.
"""

from __future__ import annotations

import contextvars
import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.storage import inserts
from service.storage.extensions import db
from service.storage.models import AuditEvent, Lawyer, utcnow

KINDS = ("client", "lawyer", "assistant", "admin", "system")


@dataclass(frozen=True)
class Actor:
    kind: str
    id: int | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown actor kind {self.kind!r}")


@dataclass(frozen=True)
class Subject:
    type: str
    id: int | None
    lawyer_id: int | None = None


SYSTEM = Actor("system", label="system")
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def set_actor(actor: Actor) -> contextvars.Token:
    """Make ``actor`` the default actor from now on (the web edge, once per request)."""
    return _current.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def _subject(subject: Any) -> Subject:
    if isinstance(subject, Subject):
        return subject
    if getattr(subject, "id", None) is None and isinstance(subject, db.Model):
        db.session.flush()
    name = getattr(subject, "__tablename__", type(subject).__name__.lower())
    lawyer_id = subject.id if name == "lawyer" else getattr(subject, "lawyer_id", None)
    return Subject(name, subject.id, lawyer_id)


def firm_of(lawyer_id: int | None) -> int | None:
    if lawyer_id is None:
        return None
    return db.session.scalar(sa.select(Lawyer.firm_id).where(Lawyer.id == lawyer_id))


def record(actor: Actor | None, action: str, subject: Any, before: dict | None = None,
           after: dict | None = None, *, firm_id: int | None = None, at: datetime | None = None) -> int | None:
    """Append one row to the audit log (in the caller's transaction, written at once with
    one INSERT compiled once: #19); see the module doc. Returns the row's id (None inside
    ``inserts.together()``: written at the block's end)."""
    actor = actor or current_actor()
    target = _subject(subject)
    if actor.kind == "client" and actor.id is None:  # the client of a public page: the subject's
        client_id = target.id if target.type == "client" else getattr(subject, "client_id", None)
        actor = Actor("client", client_id, actor.label)
    ids = inserts.insert_rows(AuditEvent.__table__, [{
        "at": at or utcnow(),
        "firm_id": firm_id if firm_id is not None else firm_of(target.lawyer_id),
        "lawyer_id": target.lawyer_id,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label[:200],
        "action": action[:60],
        "subject_type": target.type[:40],
        "subject_id": target.id,
        "before": before,
        "after": after,
    }])
    return ids[0] if ids else None


def changes(before: dict, after: dict) -> tuple[dict, dict] | None:
    """The keys that differ, as (before, after); None when nothing changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    if not keys:
        return None
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# -- reading the log ------------------------------------------------------------------


def query(*, lawyer_id: int | None = None, firm_id: int | None = None, limit: int | None = 500) -> sa.Select:
    """The newest rows first: one lawyer's (``lawyer_id``) or a whole firm's (``firm_id``)."""
    statement = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if lawyer_id is not None:
        statement = statement.where(AuditEvent.lawyer_id == lawyer_id)
    elif firm_id is not None:
        statement = statement.where(AuditEvent.firm_id == firm_id)
    else:
        raise ValueError("the log is read per lawyer or per firm")
    return statement.limit(limit) if limit else statement


def rows(**scope) -> list[AuditEvent]:
    return list(db.session.scalars(query(**scope)))


CSV_COLUMNS = ("at", "actor_kind", "actor_id", "actor_label", "action", "subject_type", "subject_id",
               "lawyer_id", "before", "after")


def _cell(value: Any) -> str:
    import json

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no spreadsheet formulas


def to_csv(events: Iterable[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow([_cell(getattr(event, name)) for name in CSV_COLUMNS])
    return out.getvalue()
