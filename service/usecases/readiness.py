"""Readiness of a call: the client updates the agenda, attaches documents and (where the
agreement asks) confirms the agenda — until preparation starts; the lawyer's brief shows it.

Documents: PDF, DOCX, XLSX, JPEG, PNG, their type read from the content (``filetype``),
never from the name; at most ``MAX_BYTES`` each and ``MAX_FILES`` per call; stored
encrypted (Fernet, ``service.core.crypto``) under ``instance/uploads/``; read back only
through ``read_file`` (the admin area serves them to the call's lawyer alone).
"""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import filetype
import sqlalchemy as sa
from flask import current_app

from service.calendars import writeback
from service.core.crypto import fernet
from service.storage.db_setup import write_transaction
from service.storage.extensions import db
from service.storage.models import Booking, BookingFile
from service.usecases.errors import Refused

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
NAME_MAX = 200
AGENDA_MAX = 5000

#: Accepted types, by the MIME type ``filetype`` reads from the content.
ALLOWED = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def prep_started(booking: Booking, now: datetime) -> bool:
    return now >= booking.blocked_start


def _check_open(booking: Booking, now: datetime) -> None:
    if booking.status != "confirmed":
        raise Refused("already_cancelled", "This call has been cancelled.")
    if prep_started(booking, now):
        raise Refused("prep_started", "Preparation has started; please write to your lawyer instead.")


# -- agenda --------------------------------------------------------------------------------


def update_agenda(booking: Booking, agenda: object, now: datetime) -> Booking:
    if not isinstance(agenda, str) or not agenda.strip():
        raise Refused("invalid_agenda", "Please describe what you want to discuss, so the call can be prepared.")
    text = agenda.strip().replace("\r\n", "\n").replace("\x00", "")
    if len(text) > AGENDA_MAX:
        raise Refused("invalid_agenda", f"The agenda is limited to {AGENDA_MAX} characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("invalid_agenda", "The agenda contains characters that are not text.") from None
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        if booking.agenda != text:
            booking.agenda = text
            booking.agenda_confirmed_at = None  # a changed agenda is confirmed anew
            writeback.enqueue_writes(booking)  # the calendar events carry the agenda
    return booking


# -- confirmation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """``state``: "confirmed", "open" (the client may still confirm) or "missed"."""

    state: str
    deadline: datetime


def confirm_deadline(booking: Booking) -> datetime | None:
    hours = booking.client.agenda_confirm_hours
    return booking.blocked_start - timedelta(hours=hours) if hours else None


def confirmation_state(booking: Booking, now: datetime) -> Confirmation | None:
    """None when the agreement asks for no confirmation."""
    deadline = confirm_deadline(booking)
    if deadline is None:
        return None
    if booking.agenda_confirmed_at is not None:
        return Confirmation("confirmed", deadline)
    return Confirmation("open" if now < deadline else "missed", deadline)


def confirm_agenda(booking: Booking, now: datetime) -> Booking:
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        state = confirmation_state(booking, now)
        if state is None:
            raise Refused("not_needed", "This call needs no confirmation.")
        if state.state == "missed":
            raise Refused("confirm_closed", "The time to confirm has passed; please write to your lawyer.")
        booking.agenda_confirmed_at = booking.agenda_confirmed_at or now
    return booking


# -- documents -----------------------------------------------------------------------------


def files_of(booking: Booking) -> list[BookingFile]:
    return list(db.session.scalars(
        sa.select(BookingFile).where(BookingFile.booking_id == booking.id).order_by(BookingFile.id)
    ))


def sniff(data: bytes) -> str | None:
    """The accepted MIME type of ``data`` judged by its content, or None."""
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else None
    if mime == "application/zip" or mime in _OOXML.values():
        mime = _ooxml(data)
    return mime if mime in ALLOWED else None


def _ooxml(data: bytes) -> str | None:
    """A DOCX or XLSX is a zip with [Content_Types].xml and word/ or xl/ parts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, mime in _OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return mime
    return None


#: The name endings each type may carry (a name saying otherwise is refused: a PDF
#: called ``.exe`` is as suspect as an ``.exe`` called ``.pdf``).
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
}


def clean_name(name: object, mime: str) -> str:
    """The shown file name: the last path part, one line, with the extension of its type;
    ``Refused`` if the name's extension says another type than the content."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable() and ch not in '"<>:|?*').strip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot:
        stem, extension = text, ""
    if extension and extension.lower() not in EXTENSIONS[mime]:
        raise Refused("invalid_file", "The document's name does not match its content.")
    ending = extension.lower() if extension else ALLOWED[mime]
    return f"{(stem or 'document')[: NAME_MAX - 6]}.{ending}"


def folder() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def add_file(booking: Booking, name: object, data: bytes, now: datetime) -> BookingFile:
    """Store one document for the call; ``Refused`` says why not (nothing is kept then)."""
    if len(data) > MAX_BYTES:
        raise Refused("invalid_file", "A document may be at most 10 MB.")
    if not data:
        raise Refused("invalid_file", "The document is empty.")
    mime = sniff(data)
    if mime is None:
        raise Refused("invalid_file", "Only PDF, Word (DOCX), Excel (XLSX), JPEG and PNG documents are accepted.")
    shown = clean_name(name, mime)
    stored_as = secrets.token_hex(16) + ".bin"
    path = folder() / stored_as
    booking_id = booking.id
    try:
        with write_transaction():
            booking = db.session.get(Booking, booking_id)
            _check_open(booking, now)
            count = db.session.scalar(
                sa.select(sa.func.count(BookingFile.id)).where(BookingFile.booking_id == booking_id)
            )
            if count >= MAX_FILES:
                raise Refused("too_many_files", f"At most {MAX_FILES} documents per call.")
            _write_encrypted(path, data)
            record = BookingFile(booking_id=booking_id, name=shown, mime=mime,
                                 size=len(data), stored_as=stored_as, created_at=now)
            db.session.add(record)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return record


def _write_encrypted(path: Path, data: bytes) -> None:
    token = fernet().encrypt(data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(token)


def read_file(record: BookingFile) -> bytes:
    """The document's bytes, decrypted."""
    token = (folder() / record.stored_as).read_bytes()
    return fernet().decrypt(token)


def remove_file(booking: Booking, file_id: int, now: datetime) -> None:
    """The client takes a document back (before preparation starts)."""
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        record = db.session.get(BookingFile, file_id)
        if record is None or record.booking_id != booking_id:
            raise Refused("unknown_file", "This document does not exist.")
        stored_as = record.stored_as
        db.session.delete(record)
    (folder() / stored_as).unlink(missing_ok=True)
