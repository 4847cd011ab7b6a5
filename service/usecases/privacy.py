"""Clients' data as a law office must handle it: the privacy notice and consent, the
client's data export, erasure, and retention.

- Notice and consent: the firm's notice (``Firm.privacy_*``) is shown on booking, intake
  and widget forms; when the firm requires consent, booking without it is refused
  (``consent_required``), and each consent is stored with the client: the notice's
  version, the very text shown, its language and the time (``Consent``).
- Export: one zip of everything about a client: ``client.json`` (the client, agreement,
  calls with agendas and notes, consents, the audit entries about them), each call as
  ``calls/<uid>.ics``, the status letters (``letters/``) and documents (``files/``).
- Erasure: personal data removed or anonymised everywhere: the client and their calls
  (name, e-mail, matter, note, agendas, notes; links dead), their consents, the mail
  still queued for them and every outbox row about their calls, and the events we wrote
  to the lawyer's calendar (deleted through the outbox, due one worker lease later so a
  calendar write in flight cannot bring an event back). The calls stay as anonymous rows
  so the lawyer's statistics keep their counts; the audit log gets "client.erased" (it
  never held the data). Other modules erase their own rows (``ERASERS``). Then the
  database files are compacted (``service.usecases.compaction``: at once on SQLite, by
  the worker on PostgreSQL) so the erased bytes are gone from them too.
- Retention: a firm's ``retention_days``; clients without a call for that long (and
  created before then) are listed for the firm admin (``retention_due``) and erased by
  the worker (``run_retention``).
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from service.calendars import writeback
from service.core import urls
from service.core.crypto import encrypt
from service.storage import outbox
from service.storage.db_setup import write_transaction
from service.storage.extensions import db
from service.storage.models import (
    AuditEvent,
    Booking,
    BookingFile,
    ChangeRequest,
    Client,
    Consent,
    Firm,
    Lawyer,
    OutboxTask,
    StatusLetter,
    UrgentRequest,
    new_token,
    token_hash,
    utcnow,
)
from service.usecases import audit, compaction, invites, readiness
from service.usecases.errors import Refused

log = logging.getLogger(__name__)

ERASED_NAME = "[erased]"

#: ``exporter(client, archive)`` adds a module's files (status letters, uploads) to the zip.
EXPORTERS: list[Callable[[Client, zipfile.ZipFile], None]] = []
#: ``eraser(client)`` removes a module's personal data of the client (same transaction).
ERASERS: list[Callable[[Client], None]] = []


# -- notice and consent ---------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    version: int
    text: str
    url: str
    required: bool
    language: str


def notice_for(lawyer: Lawyer, language: str) -> Notice | None:
    """The firm's privacy notice in ``language`` (the other language if only that one is
    written), or None when the firm has none."""
    firm = db.session.get(Firm, lawyer.firm_id) if lawyer.firm_id else None
    if firm is None or firm.privacy_version == 0:
        return None
    texts = {"ru": firm.privacy_text_ru, "en": firm.privacy_text_en}
    text = texts.get(language) or firm.privacy_text_en or firm.privacy_text_ru
    if not text and not firm.privacy_url:
        return None
    return Notice(firm.privacy_version, text, firm.privacy_url, firm.consent_required, language)


def consent_for_booking(lawyer: Lawyer, language: str, given: object) -> Notice | None:
    """The notice the client consents to by booking (None: nothing to store); a 422
    ``consent_required`` when the firm requires consent and it was not given."""
    notice = notice_for(lawyer, language)
    if notice is None:
        return None
    if given not in (True, "on", "1", "true", "yes"):
        if notice.required:
            raise Refused("consent_required", "Please agree to the privacy notice to book.")
        return None
    return notice


def record_consent(client: Client, notice: Notice | None, now: datetime) -> Consent | None:
    """Store the consent with the client (the caller's transaction), once per version."""
    if notice is None:
        return None
    existing = db.session.scalar(sa.select(Consent).where(Consent.client_id == client.id,
                                                          Consent.version == notice.version))
    if existing is not None:
        return existing
    firm_id = db.session.scalar(sa.select(Lawyer.firm_id).where(Lawyer.id == client.lawyer_id))
    consent = Consent(client_id=client.id, firm_id=firm_id, version=notice.version, language=notice.language,
                      text=notice.text, url=notice.url, given_at=now)
    db.session.add(consent)
    audit.record(None, "client.consented", client, after={"version": notice.version})
    return consent


# -- export ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def client_data(client: Client) -> dict:
    bookings = list(db.session.scalars(sa.select(Booking).where(Booking.client_id == client.id)
                                       .order_by(Booking.start)))
    booking_ids = [b.id for b in bookings]
    consents = db.session.scalars(sa.select(Consent).where(Consent.client_id == client.id).order_by(Consent.id))
    trail = db.session.scalars(
        sa.select(AuditEvent).where(sa.or_(
            sa.and_(AuditEvent.subject_type == "client", AuditEvent.subject_id == client.id),
            sa.and_(AuditEvent.subject_type == "booking", AuditEvent.subject_id.in_(booking_ids or [-1])),
        )).order_by(AuditEvent.at, AuditEvent.id))
    return {
        "client": {
            "id": client.id, "name": client.name, "email": client.email, "matter": client.matter,
            "note": client.note, "language": client.language, "status": client.status,
            "created_at": _iso(client.created_at), "lawyer": client.lawyer.name,
            "agreement": {name: getattr(client, name) for name in client.AGREEMENT_FIELDS},
        },
        "calls": [{
            "uid": b.uid, "start": _iso(b.start), "end": _iso(b.end), "status": b.status,
            "name": b.name, "email": b.email, "agenda": b.agenda, "notes": b.notes, "outcome": b.outcome,
            "booked_at": _iso(b.created_at), "cancelled_at": _iso(b.cancelled_at),
        } for b in bookings],
        "consents": [{"version": c.version, "language": c.language, "text": c.text, "url": c.url,
                      "given_at": _iso(c.given_at)} for c in consents],
        "history": [{"at": _iso(e.at), "who": e.actor_kind, "action": e.action, "before": e.before,
                     "after": e.after} for e in trail],
    }


def export_client(client: Client, now: datetime) -> bytes:
    """The client's data as one zip (the audit log records the export; the caller commits)."""
    data = client_data(client)
    data["exported_at"] = now.isoformat()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("client.json", json.dumps(data, ensure_ascii=False, indent=2))
        bookings = db.session.scalars(sa.select(Booking).where(Booking.client_id == client.id))
        with force_locale(client.language):
            for booking in bookings:
                archive.writestr(f"calls/{booking.uid}.ics", invites.booking_ics(booking, _manage(booking)))
        for exporter in EXPORTERS:
            exporter(client, archive)
    audit.record(None, "client.exported", client)
    return out.getvalue()


def _manage(booking: Booking) -> str:
    try:
        return urls.manage_url(booking)
    except Exception:  # noqa: BLE001 - an erased or foreign token: the call without its link
        return ""


# -- erasure --------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    client_id: int
    calls: int
    calendar_deletes: int


def erase_client(client: Client, now: datetime, actor: audit.Actor | None = None) -> Erased:
    """Erase the client's personal data everywhere (see the module doc); committed, then
    the database files are compacted. Erasing twice is harmless."""
    client_id = client.id
    actor = actor or audit.current_actor()
    with write_transaction():
        client = db.session.get(Client, client_id)
        bookings = list(db.session.scalars(sa.select(Booking).where(Booking.client_id == client_id)))
        ids = [b.id for b in bookings]
        if ids:
            # Queued mail, calendar writes, their errors: nothing about these calls remains.
            # A task a worker is running right now (leased) is left to finish: deleting its
            # row under it would fail the worker; it reads the scrubbed booking if it starts
            # late, and the deletions below run after its lease anyway.
            db.session.execute(sa.delete(OutboxTask).where(
                OutboxTask.booking_id.in_(ids),
                sa.or_(OutboxTask.locked_until.is_(None), OutboxTask.locked_until <= now,
                       OutboxTask.status != "pending")))
        deletes = 0
        destinations = writeback.destinations(client.lawyer_id)
        for booking in bookings:
            for calendar in destinations:  # our events in the lawyer's calendar
                for which in writeback.EVENTS:
                    outbox.enqueue("calendar.delete",
                                   {"calendar_id": calendar.id, "uid": writeback.event_uid(booking, which)},
                                   lawyer_id=booking.lawyer_id, booking_id=booking.id, due_at=now + outbox.LEASE)
                    deletes += 1
            if booking.status == "confirmed" and booking.start > now:
                booking.status, booking.cancelled_at = "cancelled", now
            _scrub_booking(booking)
        db.session.execute(sa.delete(Consent).where(Consent.client_id == client_id))
        for eraser in ERASERS:
            eraser(client)
        _scrub_client(client, now)
        audit.record(actor, "client.erased", client, after={"calls": len(ids)})
        compaction.schedule(now)
    compaction.after_erasure()
    return Erased(client_id, len(bookings), deletes)


def _dead_token() -> tuple[str, str]:
    token = new_token()
    return token_hash(token), encrypt(token)


def _scrub_booking(booking: Booking) -> None:
    booking.name, booking.email, booking.agenda, booking.notes = ERASED_NAME, "", "", ""
    booking.manage_token_hash, booking.manage_token_enc = _dead_token()
    booking.sequence += 1


def _scrub_client(client: Client, now: datetime) -> None:
    client.name, client.email, client.matter, client.note = ERASED_NAME, "", "", ""
    client.token_hash, client.token_enc = _dead_token()
    client.status = "archived"
    client.erased_at = client.erased_at or now


# -- retention ------------------------------------------------------------------------


def retention_due(firm: Firm, now: datetime) -> list[tuple[Client, datetime | None]]:
    """Clients of the firm without a call for ``retention_days`` (created before then too),
    with their last call's start: the firm admin's preview of what the worker will erase."""
    if not firm.retention_days:
        return []
    cutoff = now - timedelta(days=firm.retention_days)
    last = (sa.select(Booking.client_id, sa.func.max(Booking.start).label("last"))
            .group_by(Booking.client_id).subquery())
    rows = db.session.execute(
        sa.select(Client, last.c.last)
        .join(Lawyer, Lawyer.id == Client.lawyer_id)
        .outerjoin(last, last.c.client_id == Client.id)
        .where(Lawyer.firm_id == firm.id, Client.erased_at.is_(None), Client.created_at < cutoff,
               sa.or_(last.c.last.is_(None), last.c.last < cutoff))
        .order_by(Client.id)
    ).all()
    return [(client, last_start) for client, last_start in rows]


RETENTION_ACTOR = audit.Actor("system", label="retention")


def run_retention(now: datetime | None = None) -> int:
    """Erase every client past their firm's retention (the worker); how many were erased."""
    now = now or utcnow()
    erased = 0
    firm_ids = list(db.session.scalars(sa.select(Firm.id).where(Firm.retention_days.is_not(None))))
    for firm_id in firm_ids:
        due = [client.id for client, _last in retention_due(db.session.get(Firm, firm_id), now)]
        for client_id in due:  # erase_client commits: ids, not rows expired meanwhile
            erase_client(db.session.get(Client, client_id), now, actor=RETENTION_ACTOR)
            erased += 1
    if erased:
        log.info("retention: erased %d clients", erased)
    return erased


# -- what other features keep about a client ------------------------------------------
# Status letters (#15), documents attached to calls (#14), urgent requests (#15) and
# requests for a change (#13) hold the client's words: exported with the client, erased
# with the client.


def _letters_and_documents(client: Client, archive: zipfile.ZipFile) -> None:
    letters = db.session.scalars(
        sa.select(StatusLetter).where(StatusLetter.client_id == client.id).order_by(StatusLetter.sent_at)
    )
    for letter in letters:
        archive.writestr(f"letters/{letter.sent_at:%Y-%m-%d}-{letter.id}.txt",
                         f"{letter.subject}\n\n{letter.body}")
    documents = db.session.execute(
        sa.select(BookingFile, Booking.uid).join(Booking, Booking.id == BookingFile.booking_id)
        .where(Booking.client_id == client.id).order_by(BookingFile.id)
    )
    for document, uid in documents:
        archive.writestr(f"files/{uid}/{document.id}-{document.name}", readiness.read_file(document))


def _erase_letters_and_documents(client: Client) -> None:
    booking_ids = sa.select(Booking.id).where(Booking.client_id == client.id).scalar_subquery()
    stored = list(db.session.scalars(
        sa.select(BookingFile.stored_as).where(BookingFile.booking_id.in_(booking_ids))))
    db.session.execute(sa.delete(BookingFile).where(BookingFile.booking_id.in_(booking_ids)))
    db.session.execute(sa.delete(ChangeRequest).where(ChangeRequest.booking_id.in_(booking_ids)))
    db.session.execute(sa.delete(StatusLetter).where(StatusLetter.client_id == client.id))
    db.session.execute(sa.delete(UrgentRequest).where(UrgentRequest.client_id == client.id))
    folder = readiness.folder()
    for name in stored:  # the encrypted files too (unrecoverable: the key alone is not enough)
        (folder / name).unlink(missing_ok=True)


EXPORTERS.append(_letters_and_documents)
ERASERS.append(_erase_letters_and_documents)
