"""Status letters written and sent from the product.

The draft covers the period since the last letter (or since the agreement began): the
calls held with their agendas, the after-call notes the lawyer marked "for the letter",
and the calls booked ahead, laid into the lawyer's template in the client's language.
Sending stores the letter (text and time), settles the status day it was written for
(``booking.status_updates``: up to ``EARLY`` days ahead counts) and mails it through the
outbox (kind ``mail.status_letter``), which retries.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from booking import letters
from booking.status_updates import next_due, state
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, Client, Lawyer, OutboxTask, StatusLetter
from service.usecases import wording
from service.usecases.errors import Refused

MAIL_KIND = "mail.status_letter"
UPCOMING_MAX = 10
HELD_MAX = 50
NOT_HELD = ("no_show", "late_cancel")


def last_letter(client: Client) -> StatusLetter | None:
    return db.session.scalar(
        sa.select(StatusLetter).where(StatusLetter.client_id == client.id)
        .order_by(StatusLetter.sent_at.desc(), StatusLetter.id.desc()).limit(1)
    )


def period_start(client: Client) -> datetime:
    last = last_letter(client)
    return last.sent_at if last is not None else client.created_at


def _lawyer_today(lawyer: Lawyer, now: datetime) -> date:
    return now.astimezone(lawyer.zone).date()


def template_of(lawyer: Lawyer, language: str) -> str:
    own = lawyer.letter_template_ru if language == "ru" else lawyer.letter_template_en
    return own or letters.DEFAULT_TEMPLATES.get(language, letters.DEFAULT_TEMPLATES["en"])


def set_template(lawyer: Lawyer, language: str, text: str) -> None:
    """Store the lawyer's template for ``language``; empty text restores the built-in one."""
    text = text.replace("\r\n", "\n").strip()
    if text:
        try:
            letters.check_template(text)
        except letters.TemplateError as exc:
            raise Refused("invalid_template", str(exc)) from None
    value = (text + "\n") if text else None
    if language == "ru":
        lawyer.letter_template_ru = value
    else:
        lawyer.letter_template_en = value


def facts(client: Client, now: datetime) -> letters.LetterFacts:
    """What happened since the last letter and what is coming, in the client's language."""
    lawyer, zone = client.lawyer, client.lawyer.zone
    since = period_start(client)
    confirmed = (Booking.client_id == client.id, Booking.status == "confirmed")
    held = db.session.scalars(
        sa.select(Booking).where(*confirmed, Booking.start >= since, Booking.end <= now,
                                 sa.or_(Booking.outcome.is_(None), Booking.outcome.not_in(NOT_HELD)))
        .order_by(Booking.start).limit(HELD_MAX)
    )
    upcoming = db.session.scalars(
        sa.select(Booking).where(*confirmed, Booking.start > now).order_by(Booking.start).limit(UPCOMING_MAX)
    )
    with force_locale(client.language):
        def day(instant: datetime) -> str:
            return wording.format_date(instant.astimezone(zone).date(), "long")

        return letters.LetterFacts(
            client=client.name,
            lawyer=lawyer.name,
            matter=client.matter or client.name,
            period_from=day(since),
            period_to=day(now),
            held=tuple(
                letters.HeldCall(day(b.start), b.agenda, b.notes if b.for_letter and b.notes.strip() else None)
                for b in held
            ),
            upcoming=tuple(wording.when(b, lawyer.timezone) for b in upcoming),
        )


def draft(client: Client, now: datetime) -> str:
    """The draft letter for ``client`` at ``now``."""
    return letters.draft(template_of(client.lawyer, client.language), client.language, facts(client, now))


def subject_for(client: Client) -> str:
    with force_locale(client.language):
        if client.matter:
            return gettext("Status update: %(matter)s", matter=client.matter)
        return gettext("Status update from %(name)s", name=client.lawyer.name)


def due_day(client: Client, now: datetime) -> date | None:
    """The status day a letter sent now settles (None: the agreement names no status day)."""
    if client.status_day is None:
        return None
    lawyer = client.lawyer
    today = _lawyer_today(lawyer, now)
    since = client.created_at.astimezone(lawyer.zone).date()
    owed = state(client.status_day, client.status_updated_on, since, today)
    return owed[1] if owed is not None else None


def next_letter_due(client: Client, now: datetime) -> date | None:
    """When the client's next letter is due (shown on the booking page)."""
    if client.status_day is None:
        return None
    lawyer = client.lawyer
    since = client.created_at.astimezone(lawyer.zone).date()
    return next_due(client.status_day, client.status_updated_on, since, _lawyer_today(lawyer, now))


def send(client: Client, text: str, now: datetime) -> tuple[StatusLetter, OutboxTask]:
    """Store the letter, settle the status day, queue the mail (in the caller's
    transaction): the letter and its mail task."""
    if client.status == "archived":
        raise Refused("client_archived", "This client is archived; no letter can be sent.")
    try:
        body = letters.clean_text(text)
    except ValueError as exc:
        raise Refused("invalid_letter", str(exc).capitalize() + ".") from None
    letter = StatusLetter(
        client_id=client.id,
        lawyer_id=client.lawyer_id,
        due_on=due_day(client, now),
        subject=subject_for(client),
        body=body,
        sent_at=now,
    )
    db.session.add(letter)
    if client.status_day is not None:
        client.status_updated_on = _lawyer_today(client.lawyer, now)
    db.session.flush()
    task = outbox.enqueue(MAIL_KIND, {"letter_id": letter.id}, lawyer_id=client.lawyer_id)
    return letter, task


def letters_of(client: Client) -> list[StatusLetter]:
    return list(db.session.scalars(
        sa.select(StatusLetter).where(StatusLetter.client_id == client.id)
        .order_by(StatusLetter.sent_at.desc(), StatusLetter.id.desc())
    ))


def letter_of(client: Client, letter_id: int) -> StatusLetter:
    """The client's own letter; another client's (or none) is a 404 Refused."""
    letter = db.session.get(StatusLetter, letter_id)
    if letter is None or letter.client_id != client.id:
        raise Refused("unknown_letter", "This letter does not exist.")
    return letter
