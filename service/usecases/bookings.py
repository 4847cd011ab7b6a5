"""Booking, cancelling and rescheduling: the one place that writes bookings.

Every write runs in a transaction that serialises bookings of one lawyer (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: a row lock on the lawyer, backed by an exclusion
constraint), re-checks the slot inside it, and records the follow-up work (calendar
writes, mail) in the outbox in the same transaction.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from booking import callback_links, changes
from booking.availability import CountedSpan, SlotRefused
from booking.intervals import Interval
from booking.model import Slot
from booking.walltime import week_start
from service.calendars import bounded
from service.calendars.base import ProviderError
from service.calendars.sync import lawyer_calendars, live_busy
from service.core.crypto import encrypt
from service.core.emails import EmailNotValidError, normalized
from service.core.names import name_problem
from service.core.urls import manage_url
from service.storage import inserts, lawyer_lock
from service.storage.db_setup import write_transaction
from service.storage.extensions import db
from service.storage.models import (
    Booking,
    Calendar,
    CallbackLink,
    Client,
    Intake,
    Lawyer,
    counted_none,
    new_token,
    token_hash,
    utcnow,
)
from service.usecases import audit, availability, channels, followup, intake_holds, privacy
from service.usecases.errors import Refused

AGENDA_MAX = 5000
NAME_MAX = 200


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    agenda: str
    #: How the call happens (``channels.choose``); None: the agreement's default.
    channel: channels.Choice | None = None


def validate_contact(name: object, email: object, agenda: object) -> Contact:
    """Check the booking form's fields; raise a 422 Refused naming the first problem."""
    for field, value in (("name", name), ("email", email), ("agenda", agenda)):
        if isinstance(value, str) and not _is_unicode_text(value):
            raise Refused(f"invalid_{field}", f"The {field} contains characters that are not text.")
    if not isinstance(name, str) or not name.strip():
        raise Refused("invalid_name", "Please give your name.")
    name = name.strip()
    if len(name) > NAME_MAX or any(ch in name for ch in "\r\n\x00"):
        raise Refused("invalid_name", f"The name must be one line of at most {NAME_MAX} characters.")
    problem = name_problem(name)
    if problem is not None:
        raise Refused("invalid_name", problem)
    if not isinstance(email, str) or not email.strip():
        raise Refused("invalid_email", "Please give your e-mail address.")
    if any(ch in email for ch in "\r\n\x00"):
        raise Refused("invalid_email", "The e-mail address must be one line.")
    try:
        email = normalized(email.strip())
    except EmailNotValidError as exc:
        raise Refused("invalid_email", f"The e-mail address is not valid: {exc}") from None
    if not isinstance(agenda, str) or not agenda.strip():
        raise Refused("invalid_agenda", "Please describe what you want to discuss, so the call can be prepared."
        )
    agenda = agenda.strip().replace("\r\n", "\n").replace("\x00", "")
    if len(agenda) > AGENDA_MAX:
        raise Refused("invalid_agenda", f"The agenda is limited to {AGENDA_MAX} characters.")
    return Contact(name, email, agenda)


def _is_unicode_text(value: str) -> bool:
    """False for lone surrogates (JSON can carry them; no database or mail can)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused(exc: SlotRefused) -> Refused:
    return Refused(f"slot_{exc.reason}", str(exc))


@contextmanager
def _booking_transaction(lawyer_id: int) -> Iterator[None]:
    """One write of the lawyer's bookings, serialised with every other; the database's
    no-overlap guard firing (IntegrityError) is the lost race, answered as 409."""
    try:
        with write_transaction():
            lawyer_lock.take(lawyer_id)
            intake_holds.release_expired(lawyer_id, utcnow())  # their slots are free again
            yield
    except IntegrityError:
        raise Refused("slot_busy", "This time has just been booked. Please choose another.") from None


@dataclass(frozen=True)
class _Calendars:
    """The lawyer's calendars as a booking reads them, once, before its transaction."""

    conflict: list[Calendar]  # with their accounts: the live check's sources
    has_destinations: bool
    writes_to_google: bool

    @property
    def mirror_state(self) -> set[tuple[int, int]]:
        return {(c.id, c.mirror_version) for c in self.conflict}


def _calendars_of(lawyer: Lawyer) -> _Calendars:
    """The lawyer's calendars, in one query, or none if the lawyer was read with a count
    of none (``links.with_agreement``: no query then)."""
    if counted_none(lawyer, "calendar_count"):
        return _Calendars(conflict=[], has_destinations=False, writes_to_google=False)
    found = lawyer_calendars(lawyer.id)
    destinations = [c for c in found if c.write_to]
    return _Calendars(
        conflict=[c for c in found if c.conflict],
        has_destinations=bool(destinations),
        writes_to_google=any(c.account.kind == "google" for c in destinations),
    )


@dataclass(frozen=True)
class _Busy:
    """The busy time a booking gathered before its transaction, for its one check."""

    calendars: _Calendars
    mirrored: list[Interval]  # the mirror over the slot, read with ``calendars``' versions
    live: list[Interval]  # asked of the calendar servers
    asked: bool = False  # the calendar servers were asked (the read transaction was ended)


_UNAVAILABLE = "The lawyer's calendar cannot be checked right now; please try again shortly."


def _fresh_busy(
    subject: Client | Intake, now: datetime, start: datetime, reserve_access: bool = False, *,
    shape: Callable[[], Slot] | None = None, over_busy: bool = False, unavailable: str = _UNAVAILABLE,
) -> _Busy:
    """The lawyer's busy time over the slot at ``start``: the mirror's, then, if that is
    free, the calendar servers' (the live check). Both are fed into the booking's one
    check inside its transaction, which re-reads the mirror only if it moved meanwhile.

    A start whose time, window or step is not agreed is refused first, from the
    agreement alone (``availability.check_shape``, or ``shape``: the lawyer's side), and
    a slot the mirror already shows busy is refused by the check without asking: a
    stream of bad requests never turns into requests to the lawyer's calendar server.
    ``over_busy``: the lawyer books over busy time; none is read. ``unavailable``: the
    refusal's message when a calendar server cannot be asked.
    """
    calendars = _calendars_of(subject.lawyer)
    if not calendars.conflict or over_busy:
        return _Busy(calendars, [], [])
    try:
        slot = shape() if shape is not None else availability.check_shape(subject, now, start, reserve_access)
    except SlotRefused as exc:
        raise refused(exc) from None
    blocked = Interval(slot.prep_start, slot.blocked_end)
    mirrored = availability.calendar_busy(subject.lawyer_id, blocked)
    if any(span.overlaps(blocked) for span in mirrored):  # a row only touching it: not busy
        return _Busy(calendars, mirrored, [])
    return _Busy(calendars, mirrored, _live_busy(subject, blocked, calendars, unavailable), asked=True)


def _live_busy(subject: Client | Intake, blocked: Interval, calendars: _Calendars,
               unavailable: str) -> list[Interval]:
    """The live check: busy time over ``blocked`` asked of the lawyer's calendar servers
    now (an unchanged feed's 304 adds nothing: the mirror counts)."""
    try:
        with bounded.web_call():  # a strict budget, well under the server's timeout
            return live_busy(subject.lawyer, blocked, mirror_counted=True, calendars=calendars.conflict)
    except ProviderError:
        raise Refused("calendar_unavailable", unavailable) from None


@dataclass(frozen=True)
class _Locked:
    """What a new booking's transaction read under the lawyer's lock."""

    rows: list[sa.Row]  # the lawyer's bookings (``availability.held_rows``; none: ``guarded``)
    mirror_moved: bool  # a conflict calendar's mirror changed since ``_fresh_busy``
    #: The new booking's key, drawn by the lock's statement (PostgreSQL; None: the
    #: INSERT's): its rows are then written in one statement (``_insert_booking``).
    booking_id: int | None = None


class _Reread(Exception):
    """The database's no-overlap guard refused a booking made without reading the
    lawyer's bookings (``guarded``): it is made again, reading them first, and answered as
    that one is (the check names what is in the way; a hold that ran out is released)."""


@contextmanager
def _new_booking_transaction(subject: Client | Intake, now: datetime, busy: _Busy, *,
                             lawyer_side: bool = False, counted: CountedSpan | None = None,
                             guarded: bool = False) -> Iterator[_Locked]:
    """The transaction of a new booking (#19: the fewest statements). The objects read
    before it stay loaded. One statement takes the lawyer's lock (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` serialises anyway) and re-reads whether the link is still active
    (``lawyer_side``: whether the client is not archived) and the versions of the
    lawyer's conflict calendars' mirrors, unless the transaction holds the lock already
    (``lawyer_lock.held``: the link was found by the locking statement, and what it read
    and the busy time since were read under it); one reads the lawyer's bookings (a
    client's booking: those ``counted``, ``availability.counted_window``; by default the
    whole horizon, which an intake's count of its waiting holds needs), expired
    unconfirmed holds among them released first. A lost race is a 409.

    ``guarded``, when no cap counts them (``counted.caps`` False): none are read. Over the
    call's blocked time they weigh only as collisions, and the no-overlap guard refuses
    those at the INSERT (#19: the read was 13 % of a booking's server CPU under load);
    that refusal is ``_Reread``."""
    unread = guarded and counted is not None and not counted.caps
    try:
        with write_transaction(keep_loaded=True, continue_read=not busy.asked):
            booking_id = lawyer_lock.held(subject.lawyer_id)
            if booking_id is not None:  # taken by the statement that found the link
                state = getattr(subject, _state(type(subject)))
                if not (subject.lawyer.active and _open(subject, state, lawyer_side)):
                    raise _no_longer_active(subject)
                mirror_moved = False  # the busy time was read under the lock
            else:
                query = _lock_query(type(subject), db.engine.dialect.name == "postgresql")
                found = db.session.connection().execute(query, {"subject_id": subject.id}).all()
                if not found or not (found[0][1] and _open(subject, found[0][0], lawyer_side)):
                    raise _no_longer_active(subject)
                mirrors = {(row.id, row.mirror_version) for row in found if row.id is not None}
                mirror_moved = mirrors != busy.calendars.mirror_state
                booking_id = found[0][4] if len(found[0]) > 4 else None
            if counted is None:
                rows = availability.held_rows(subject, now)
            elif unread:
                rows = []
            else:
                rows = availability.counted_rows(subject, counted)
            expired = {r.id for r in rows if r.status == intake_holds.PENDING and r.hold_until <= now}
            if expired:  # their slots are free again
                intake_holds.release_expired(subject.lawyer_id, now)
                rows = [r for r in rows if r.id not in expired]
            yield _Locked(rows, mirror_moved=mirror_moved, booking_id=booking_id)
    except IntegrityError:
        if unread:
            raise _Reread from None
        raise Refused("slot_busy", "This time has just been booked. Please choose another.") from None


def _state(kind: type[Client] | type[Intake]) -> str:
    """The attribute ``_open`` weighs of a ``kind``: an intake's ``active``, a client's ``status``."""
    return "active" if kind is Intake else "status"


def _open(subject: Client | Intake, state: object, lawyer_side: bool) -> bool:
    """Whether ``subject`` takes a new booking, from its state read under the lock (an
    intake's ``active``, a client's ``status``): the lawyer books for paused clients too.
    A deactivated lawyer's practice takes none (``_lock_query`` reads that beside it)."""
    if isinstance(subject, Intake):
        return bool(state)
    return state != "archived" if lawyer_side else state == "active"


@functools.cache
def _lock_query(kind: type[Client] | type[Intake], lock: bool) -> sa.Select:
    """The link's state (``_open``), whether the lawyer is active, and the lawyer's
    conflict calendars with their mirrors' versions; with ``lock`` (PostgreSQL) taking the
    lawyer's row lock and drawing the new booking's key from its sequence (a refused
    booking leaves a gap, as a rolled-back INSERT does). Built once per kind (#19:
    building a statement cost a booking more than running it)."""
    state = getattr(kind, _state(kind))
    calendar = Calendar.__table__.c
    query = (
        sa.select(state, Lawyer.active, calendar.id, calendar.mirror_version)
        .join(Lawyer, Lawyer.id == kind.lawyer_id)
        .outerjoin(Calendar.__table__,
                   sa.and_(calendar.lawyer_id == Lawyer.id, calendar.conflict.is_(True)))
        .where(kind.id == sa.bindparam("subject_id"))
    )
    if not lock:
        return query
    return query.add_columns(lawyer_lock.NEXT_BOOKING_ID).with_for_update(of=Lawyer)


def _no_longer_active(subject: Client | Intake) -> Refused:
    if isinstance(subject, Intake):
        return Refused("unknown_intake", "This booking page is no longer available.")
    return Refused("unknown_client", "This booking link is no longer active.")


def _checked(subject: Client | Intake, now: datetime, start: datetime, **kwargs) -> Slot:
    """The slot at ``start`` or a 409 saying why it cannot be booked."""
    try:
        return availability.check(subject, now, start, **kwargs)
    except SlotRefused as exc:
        raise refused(exc) from None


def _checked_new(subject: Client | Intake, now: datetime, start: datetime, busy: _Busy,
                 locked: _Locked, reserve_access: bool = False) -> Slot:
    """A new booking's one engine check, in its transaction: the bookings read under the
    lock and the busy time of ``busy_in_transaction``."""
    return _checked(subject, now, start, extra_busy=busy_in_transaction(subject, start, busy, locked),
                    reserve_access=reserve_access, rows=locked.rows, mirror=False)


def busy_in_transaction(subject: Client | Intake, start: datetime, busy: _Busy, locked: _Locked) -> list[Interval]:
    """The busy time a new booking's one check weighs (client's side and lawyer's): the
    live busy time, and the mirror over the slot as read before the transaction, re-read
    in it if a conflict calendar's mirror moved since."""
    if not locked.mirror_moved:
        return busy.mirrored + busy.live
    return availability.calendar_busy(subject.lawyer_id, subject.agreement().blocked(start)) + busy.live


class AlreadyBooked(Refused):
    """The client's cadence is used up by a call they already hold (a double submit, the
    back button): say so and point to that call's page, not "the limit is reached". The
    reason stays the cadence's (the API's error code does not change)."""

    def __init__(self, booking: Booking, reason: str) -> None:
        super().__init__(reason, "You already have a consultation booked for that period; "
                         "open its page to see, move or cancel it.")
        self.booking = booking
        self.manage_url = manage_url(booking)


def _held_call(client_id: int, start: datetime, reason: str, now: datetime) -> Booking | None:
    """The client's upcoming confirmed call in the week (or month) of ``start``."""
    client = db.session.get(Client, client_id)
    zone = client.lawyer.zone
    day = start.astimezone(zone).date()
    for booking in db.session.scalars(
        sa.select(Booking).where(Booking.client_id == client_id, Booking.status == "confirmed",
                                 Booking.end > now).order_by(Booking.start)
    ):
        other = booking.start.astimezone(zone).date()
        if reason == "slot_client_week_limit" and week_start(other) == week_start(day):
            return booking
        if reason == "slot_client_month_limit" and (other.year, other.month) == (day.year, day.month):
            return booking
    return None


def book(
    client: Client,
    start: datetime,
    contact: Contact,
    now: datetime,
    callback: CallbackLink | None = None,
    consent: privacy.Notice | None = None,
) -> tuple[Booking, str]:
    """Book ``start`` for ``client``; returns the booking and its manage token. Through a
    ``callback`` link the lawyer's reserved urgent time may be booked too.

    ``consent``: the privacy notice the client agreed to (``privacy.consent_for_booking``),
    stored with the client in the booking's transaction."""
    client_id = client.id
    try:
        return _book(client, start, contact, now, callback, consent)
    except Refused as exc:
        if exc.reason in ("slot_client_week_limit", "slot_client_month_limit"):
            held = _held_call(client_id, start, exc.reason, now)
            if held is not None:
                raise AlreadyBooked(held, exc.reason) from None
        raise


def _book(client: Client, start: datetime, contact: Contact, now: datetime,
          callback: CallbackLink | None, consent: privacy.Notice | None) -> tuple[Booking, str]:
    reserve_access = callback is not None
    busy = _fresh_busy(client, now, start, reserve_access)
    manage_token = new_token()
    counted = availability.counted_window(client, start)

    def attempt(guarded: bool) -> Booking:
        with _new_booking_transaction(client, now, busy, counted=counted, guarded=guarded) as locked:
            if callback is not None:
                _spend(callback, now)
            slot = _checked_new(client, now, start, busy, locked, reserve_access)
            booking = _insert_booking(client, slot, contact, manage_token, now, busy.calendars,
                                      callback.id if callback else None, booking_id=locked.booking_id)
            privacy.record_consent(client, consent, now)
        return booking

    try:
        return attempt(guarded=True), manage_token
    except _Reread:  # the guard refused: the long way, reading the bookings first
        return attempt(guarded=False), manage_token


def _spend(callback: CallbackLink, now: datetime) -> None:
    """Use up the single-use callback link: one statement that claims it only if no other
    booking has (``expires_at`` never changes: checked as loaded)."""
    claimed = not callback_links.is_spent(None, callback.expires_at, now) and db.session.execute(
        sa.update(CallbackLink)
        .where(CallbackLink.id == callback.id, CallbackLink.used_at.is_(None))
        .values(used_at=now)
    ).rowcount == 1
    if not claimed:
        raise Refused("link_spent", "This callback link has already been used or has expired.")


def book_intake(intake: Intake, start: datetime, contact: Contact, now: datetime,
                consent: privacy.Notice | None = None) -> tuple[Booking, str]:
    """Book ``start`` through a public intake: creates the (new) client, then the booking.

    One transaction: the slot is checked against the lawyer's bookings and the intake's
    own caps, the client gets a copy of the intake's agreement, the booking is inserted.
    """
    busy = _fresh_busy(intake, now, start)
    lawyer_id = intake.lawyer_id
    manage_token = new_token()
    with _new_booking_transaction(intake, now, busy) as locked:
        intake_holds.check_capacity(intake.id, now, waiting=sum(
            1 for r in locked.rows
            if r.intake_id == intake.id and r.status == intake_holds.PENDING and r.hold_until > now
        ))
        slot = _checked_new(intake, now, start, busy, locked)
        client_token = new_token()
        client = Client(
            lawyer_id=lawyer_id,
            name=contact.name,
            email=contact.email,
            matter=intake.title,
            language=intake.language,
            is_new=True,
            intake_id=intake.id,
            token_hash=token_hash(client_token),
            token_enc=encrypt(client_token),
            note=intake.note,
            created_at=now,
            **intake.client_agreement(),
        )
        client.lawyer = intake.lawyer
        db.session.add(client)
        db.session.flush()
        audit.record(None, "client.created", client, after={"intake_id": intake.id},
                     firm_id=intake.lawyer.firm_id)
        # held until the visitor confirms the address
        booking = _insert_booking(client, slot, contact, manage_token, now, busy.calendars, hold=True,
                                  booking_id=locked.booking_id)
        privacy.record_consent(client, consent, now)
    return booking, manage_token


def release_holds(lawyer_id: int) -> None:
    """Release the lawyer's unconfirmed holds that have run out (the booking transaction
    does it on entry)."""
    with _booking_transaction(lawyer_id):
        pass


def confirm_intake(booking: Booking, now: datetime) -> Booking:
    """The visitor confirmed the e-mail address (``intake_holds.confirm``), serialised
    with the lawyer's other booking writes."""
    booking_id = booking.id
    with _booking_transaction(booking.lawyer_id):  # releases the holds that ran out first
        booking = db.session.get(Booking, booking_id)
        released = booking.status == "cancelled" and booking.hold_until is not None
        if not released:
            intake_holds.confirm(booking, now)
    if released:
        raise Refused("hold_expired",
                      "This confirmation link has expired and the time was released; please book again.")
    return booking


def _insert_booking(
    client: Client,
    slot: Slot,
    contact: Contact,
    manage_token: str,
    now: datetime,
    calendars: _Calendars | None = None,
    callback_link_id: int | None = None,
    hold: bool = False,
    booked_by: str = "client",
    outside_terms: bool = False,
    booking_id: int | None = None,
) -> Booking:
    """One INSERT of the booking with its channel (``inserts.insert_object``: no flush),
    one of its follow-up tasks (``followup.enqueue``; with ``hold``, the intake's
    confirmation instead), the audit row. ``calendars``: as read before the transaction
    (None: read now). ``booking_id``: its key drawn already (``_Locked.booking_id``): the
    three are one statement (``inserts.together``)."""
    if calendars is None:
        calendars = _calendars_of(client.lawyer)
    booking = Booking(
        id=booking_id,
        uid=secrets.token_hex(16),
        lawyer_id=client.lawyer_id,
        client_id=client.id,
        client=client,
        start=slot.start,
        end=slot.end,
        blocked_start=slot.prep_start,
        blocked_end=slot.blocked_end,
        status="confirmed",
        sequence=0,
        name=contact.name,
        email=contact.email,
        agenda=contact.agenda,
        manage_token_hash=token_hash(manage_token),
        manage_token_enc=encrypt(manage_token),
        callback_link_id=callback_link_id,
        created_at=now,
        booked_by=booked_by,
        outside_terms=outside_terms,
    )
    channels.apply(booking, contact.channel or channels.default_choice(client),
                   writes_to_google=calendars.writes_to_google)
    confirm_token = intake_holds.make_pending(booking, now) if hold else None
    with inserts.together():
        inserts.insert_object(booking)
        if confirm_token is not None:
            intake_holds.enqueue_confirmation(booking, confirm_token)
        else:
            followup.enqueue(booking, "booked", new=True, has_destinations=calendars.has_destinations)
        audit.record(None, "booking.booked", booking, after=_when(booking), firm_id=client.lawyer.firm_id)
    return booking


def _when(booking: Booking) -> dict:
    """What the audit log keeps of a booking: its time and client (ids and instants only)."""
    return {"client_id": booking.client_id, "start": booking.start.isoformat(), "status": booking.status}


def change_channel(booking: Booking, choice: channels.Choice, now: datetime) -> Booking:
    """The client switches to another channel the agreement allows (invite re-sent)."""
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        _check_changeable(booking, now)
        if choice.channel == booking.channel and choice.phone == booking.phone:
            return booking
        channels.apply(booking, choice)
        booking.sequence += 1
        _follow_up(booking, "changed")
    audit.record(None, "booking.channel_changed", booking, after={"channel": booking.channel})
    return booking


def cancel(booking: Booking, now: datetime) -> None:
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        _check_changeable(booking, now)
        before = _when(booking)
        booking.status = "cancelled"
        booking.cancelled_at = now
        booking.sequence += 1
        booking.changed_by, booking.change_reason = "client", None
        _follow_up(booking, "cancelled")
        audit.record(None, "booking.cancelled", booking, before=before, after=_when(booking))


def reschedule(booking: Booking, start: datetime, now: datetime, *, lawyer_side: bool = False) -> Booking:
    """Move ``booking`` to ``start``. The client (``lawyer_side`` False) may move a call
    only while their agreement is active: a paused or archived client books nothing new,
    and a move is a new booking of the time."""
    booking_id = booking.id
    _check_changeable(booking, now, lawyer_side)
    busy = _fresh_busy(booking.client, now, start)
    with _booking_transaction(booking.lawyer_id):
        booking = db.session.get(Booking, booking_id)
        _check_changeable(booking, now, lawyer_side)
        slot = _checked(booking.client, now, start, exclude_booking_id=booking.id, extra_busy=busy.live,
                        mirror=bool(busy.calendars.conflict))
        before = _when(booking)
        booking.start, booking.end = slot.start, slot.end
        booking.blocked_start, booking.blocked_end = slot.prep_start, slot.blocked_end
        booking.sequence += 1
        booking.changed_by, booking.change_reason, booking.moved_at = "client", None, now
        _follow_up(booking, "rescheduled")
        audit.record(None, "booking.moved", booking, before=before, after=_when(booking))
    return booking


def change_deadline(booking: Booking) -> datetime:
    """Until when the client may cancel or move the call (``booking.changes``)."""
    return changes.change_deadline(booking.start, booking.client.agreement().notice)


def change_refusal(booking: Booking, now: datetime) -> changes.ChangeRefusal | None:
    """Why the client may not move or cancel ``booking`` now (``booking.changes``), or None."""
    return changes.may_change(
        active=booking.status == "confirmed",
        start=booking.start,
        notice=booking.client.agreement().notice,
        now=now,
    )


def _check_changeable(booking: Booking, now: datetime, lawyer_side: bool = True) -> None:
    if not lawyer_side and not booking.client.takes_bookings:
        raise Refused("client_inactive",
                      "Your booking link is paused; please write to your lawyer to change this call.")
    refusal = change_refusal(booking, now)
    if refusal == "cancelled":
        raise Refused("already_cancelled", "This call has been cancelled.")
    if refusal == "too_late":
        raise Refused(
            "too_late",
            "This call is too close to be changed online; please write to your lawyer.",
        )


def _follow_up(booking: Booking, event: str) -> None:
    """Record the calendar writes and mails this change needs (same transaction)."""
    followup.enqueue(booking, event)
