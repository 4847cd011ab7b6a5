"""Storage: SQLAlchemy models. Every instant is stored in UTC and read back aware."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.intervals import Interval
from booking.model import Agreement, BookedCall, DateWindow, LawyerRules
from booking.windows import parse_windows
from service.storage.encrypted import EncryptedText
from service.storage.extensions import db


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class BulkUTCDateTime(UTCDateTime):
    """``UTCDateTime`` for reading many instants at once (the busy mirror): the same
    values, parsed in one step on SQLite (its stored text plus the UTC offset) instead of
    a parse and then a ``replace`` per value."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value):
            if value is None:
                return None
            return parse(value + "+00:00") if isinstance(value, str) else value.replace(tzinfo=UTC)

        return process


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """An unguessable bearer token (192 bits)."""
    return secrets.token_urlsafe(24)


def counted_none(row: object, count: str) -> bool:
    """Whether ``row`` was read with its count ``count`` (a deferred column_property such
    as ``Lawyer.calendar_count``, undeferred by ``links.with_agreement``) and it is 0: the
    collection it counts need not be read. Not read with it: False (read the collection)."""
    return sa.inspect(row).dict.get(count) == 0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Lawyer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    session_version: Mapped[int] = mapped_column(default=1)
    max_per_day: Mapped[int | None]
    max_per_week: Mapped[int | None]
    language: Mapped[str] = mapped_column(sa.String(5), default="en", server_default="en")  # mails
    # Where office calls take place (shown to clients who chose "office").
    office_address: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Flag a client on the dashboard from this many no-shows on (None: never).
    no_show_flag_at: Mapped[int | None] = mapped_column(default=2, server_default="2")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # New clients from a public intake wait (status "requested") until the lawyer approves.
    approve_new_clients: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Status letters and the week's commitments (issue #15).
    letter_template_en: Mapped[str | None] = mapped_column(sa.Text)  # None: the built-in one
    letter_template_ru: Mapped[str | None] = mapped_column(sa.Text)
    letter_minutes: Mapped[int] = mapped_column(default=20, server_default="20")  # per letter
    capacity_min: Mapped[int | None]  # weekly minutes for client communication; None: not set
    # Reserved urgent time, "tue 17:00-17:30,thu 17:00-17:30" (lawyer's wall clock).
    reserve_windows: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    show_demand: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The firm (``flask lawyer create`` without --firm: the installation's default firm,
    # see ``_default_firm``); a lawyer may also administer it (people, firm settings).
    firm_id: Mapped[int | None] = mapped_column(sa.ForeignKey("firm.id"), index=True)
    firm_admin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # False: calendar events carry the title "Call: <client>" only (no agenda, no e-mail).
    calendar_agenda: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # False: deactivated by the firm admin, signs in no more (their clients' links still work).
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    firm: Mapped[Firm | None] = relationship()
    clients: Mapped[list[Client]] = relationship(back_populates="lawyer")
    days_off: Mapped[list[DayOff]] = relationship(
        back_populates="lawyer", cascade="all, delete-orphan"
    )
    embed_origins: Mapped[list[EmbedOrigin]] = relationship(
        back_populates="lawyer", cascade="all, delete-orphan"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rules(self) -> LawyerRules:
        # A lawyer read with a count of no days off (``links.with_agreement``) asks for none.
        periods = () if counted_none(self, "day_off_count") else self.days_off
        return _rules(self.timezone, tuple((p.first_day, p.last_day) for p in periods),
                      self.max_per_day, self.max_per_week)


@functools.lru_cache(maxsize=1024)
def _rules(timezone: str, periods: tuple[tuple[date, date], ...], max_per_day: int | None,
           max_per_week: int | None) -> LawyerRules:
    """The lawyer's rules of these settings, remembered (they are immutable): every run of
    days off expanded into its days once, not at each booking and slot list (#19)."""
    off = set()
    for first, last in periods:
        day = first
        while day <= last:
            off.add(day)
            day += timedelta(days=1)
    return LawyerRules(timezone=ZoneInfo(timezone), days_off=frozenset(off), max_per_day=max_per_day,
                       max_per_week=max_per_week)


class Firm(db.Model):
    """A firm groups lawyers; its admins manage people and the firm's privacy settings."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)  # public page /f/<slug>
    # The privacy notice shown on booking, intake and widget forms; version 0: none set.
    privacy_text_en: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    privacy_text_ru: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    privacy_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    privacy_version: Mapped[int] = mapped_column(default=0, server_default="0")
    consent_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Clients without a call for this many days are erased by the worker (None: never).
    retention_days: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


DEFAULT_FIRM_SLUG = "firm"


@sa.event.listens_for(Lawyer, "before_insert")
def _default_firm(_mapper, connection, lawyer: Lawyer) -> None:
    """A lawyer created without a firm joins the installation's default (first) firm."""
    if lawyer.firm_id is not None or lawyer.firm is not None:
        return
    firm_table = Firm.__table__
    found = connection.scalar(sa.select(sa.func.min(firm_table.c.id)))
    if found is None:
        found = connection.execute(
            firm_table.insert().values(name="Counsel Hours", slug=DEFAULT_FIRM_SLUG, privacy_text_en="",
                                       privacy_text_ru="", privacy_url="", privacy_version=0,
                                       consent_required=False, created_at=utcnow())
        ).inserted_primary_key[0]
    lawyer.firm_id = found


class User(db.Model):
    """A person who signs in and is not a lawyer: an assistant or a firm admin.

    Lawyers sign in with their own row (``Lawyer.password_hash``), as before firms existed;
    a login e-mail is unique across both tables (checked where people are added).
    """

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firm.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(10))  # assistant, admin
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    session_version: Mapped[int] = mapped_column(default=1)
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    firm: Mapped[Firm] = relationship()
    lawyers: Mapped[list[Lawyer]] = relationship(secondary="assignment", order_by="Lawyer.name")


class Assignment(db.Model):
    """An assistant works for this lawyer."""

    __table_args__ = (sa.UniqueConstraint("user_id", "lawyer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)


class Invitation(db.Model):
    """An e-mailed one-time link to join a firm as a lawyer, assistant or admin."""

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firm.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    role: Mapped[str] = mapped_column(sa.String(10))  # lawyer, assistant, admin
    lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyer.id"))  # --for-lawyer
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    firm: Mapped[Firm] = relationship()


class DayOff(db.Model):
    """A day or a run of days without any calls (vacation, court, holiday)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    first_day: Mapped[datetime] = mapped_column(sa.Date)
    last_day: Mapped[datetime] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    lawyer: Mapped[Lawyer] = relationship(back_populates="days_off")


class EmbedOrigin(db.Model):
    __table_args__ = (sa.UniqueConstraint("lawyer_id", "origin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    origin: Mapped[str] = mapped_column(sa.String(300))

    lawyer: Mapped[Lawyer] = relationship(back_populates="embed_origins")


class AgreementTerms:
    """The columns of an agreement, shared by a client and a published intake."""

    AGREEMENT_FIELDS = (
        "windows", "duration_min", "prep_min", "buffer_min", "notice_hours",
        "notice_next_working_day", "horizon_days", "max_per_week", "max_per_month", "step_min",
        "channels", "agenda_confirm_hours",
    )

    windows: Mapped[str] = mapped_column(sa.String(1000))  # canonical "tue 16:00-18:00,..."
    duration_min: Mapped[int]
    prep_min: Mapped[int] = mapped_column(default=0)
    buffer_min: Mapped[int] = mapped_column(default=0)
    notice_hours: Mapped[int] = mapped_column(default=24)
    notice_next_working_day: Mapped[bool] = mapped_column(default=False)
    horizon_days: Mapped[int] = mapped_column(default=30)
    max_per_week: Mapped[int | None]
    max_per_month: Mapped[int | None]
    step_min: Mapped[int | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")  # shown to the client
    # How calls happen: allowed channels, the first the default ("video", "phone,video").
    channels: Mapped[str] = mapped_column(sa.String(40), default="video", server_default="video")
    # The client confirms the agenda this many hours before preparation starts (None: no).
    agenda_confirm_hours: Mapped[int | None]

    @property
    def channel_list(self) -> list[str]:
        return [c for c in (self.channels or "video").split(",") if c]

    def terms(self, extra_windows: tuple[DateWindow, ...] = ()) -> Agreement:
        return _agreement(self.windows, self.duration_min, self.prep_min, self.buffer_min, self.notice_hours,
                          self.notice_next_working_day, self.horizon_days, self.max_per_week,
                          self.max_per_month, self.step_min, extra_windows)


@functools.lru_cache(maxsize=4096)
def _agreement(windows: str, duration_min: int, prep_min: int, buffer_min: int, notice_hours: int,
               notice_next_working_day: bool, horizon_days: int, max_per_week: int | None,
               max_per_month: int | None, step_min: int | None,
               extra_windows: tuple[DateWindow, ...]) -> Agreement:
    """The agreement of these terms, remembered (it is immutable): a booking asks for its
    client's three times, each slot list once (#19)."""
    return Agreement(
        windows=parse_windows(windows),
        duration=timedelta(minutes=duration_min),
        prep=timedelta(minutes=prep_min),
        buffer_after=timedelta(minutes=buffer_min),
        notice=timedelta(hours=notice_hours),
        notice_next_working_day=notice_next_working_day,
        horizon_days=horizon_days,
        max_per_week=max_per_week,
        max_per_month=max_per_month,
        step=timedelta(minutes=step_min) if step_min else None,
        extra_windows=extra_windows,
    )


class Client(AgreementTerms, db.Model):
    """A client of the lawyer together with the agreement made with them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320))
    matter: Mapped[str] = mapped_column(EncryptedText, default="")  # privileged: encrypted at rest
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    status: Mapped[str] = mapped_column(sa.String(10), default="active")  # paused, archived
    is_new: Mapped[bool] = mapped_column(default=False)
    intake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"), index=True)  # came from
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # lookup
    token_enc: Mapped[str] = mapped_column(sa.Text)  # encrypted, to show the link again
    # The link before the last "new link": it answers "replaced, ask your lawyer".
    replaced_token_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data erased

    status_day: Mapped[int | None]  # 0 = Monday
    status_updated_on: Mapped[date | None] = mapped_column(sa.Date)  # last status update sent
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # E.164, remembered from bookings

    lawyer: Mapped[Lawyer] = relationship(back_populates="clients")
    extra_windows: Mapped[list[ExtraWindow]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )

    @property
    def takes_bookings(self) -> bool:
        """Whether the link offers and takes calls: the client is active and so is the
        lawyer (a deactivated lawyer's links rest like paused ones). The one place of this
        rule; the slot cache's key and a new booking's transaction read the same two columns."""
        return self.status == "active" and self.lawyer.active

    def agreement(self) -> Agreement:
        # A client read with a count of no extra windows (``links.with_agreement``) asks for none.
        windows = () if counted_none(self, "extra_window_count") else self.extra_windows
        return self.terms(tuple(DateWindow(w.day, w.start, w.end) for w in windows))


class ExtraWindow(db.Model):
    """A one-off window for a client on one date (lawyer's wall-clock time)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    day: Mapped[datetime] = mapped_column(sa.Date)
    start: Mapped[time] = mapped_column(sa.Time)
    end: Mapped[time] = mapped_column(sa.Time)

    client: Mapped[Client] = relationship(back_populates="extra_windows")


class CallbackLink(db.Model):
    """A single-use booking link for a client who rang unannounced."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()


class Booking(db.Model):
    __table_args__ = (
        sa.Index("ix_booking_lawyer_blocked", "lawyer_id", "blocked_start"),
        # Covers the slot cache's fingerprint (service.usecases.availability).
        sa.Index(
            "ix_booking_lawyer_status_end", "lawyer_id", "status", "blocked_end", "id", "sequence"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_start: Mapped[datetime] = mapped_column(UTCDateTime)  # prep start
    blocked_end: Mapped[datetime] = mapped_column(UTCDateTime)  # end + buffer
    status: Mapped[str] = mapped_column(sa.String(10), default="confirmed")  # cancelled
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320))
    agenda: Mapped[str] = mapped_column(EncryptedText)  # privileged: encrypted at rest
    notes: Mapped[str] = mapped_column(EncryptedText, default="")  # the lawyer's, after the call
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    manage_token_enc: Mapped[str] = mapped_column(sa.Text)  # for links in mail and calendar
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE, bumped on change
    callback_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_link.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How a past call went, as the lawyer marks it: held, no_show, late_cancel (None: unmarked).
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    # A public intake's booking by a new visitor: status "pending" until the visitor
    # confirms the e-mail address (the slot is held until ``hold_until``, then released);
    # "requested" while the lawyer's approval is awaited (held until approved/declined).
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    for_letter: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # notes go in the letter
    # How the call happens (``service.usecases.channels``): phone / video / office.
    channel: Mapped[str] = mapped_column(sa.String(10), default="video", server_default="video")
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # E.164, for phone calls
    join_url: Mapped[str | None] = mapped_column(sa.String(500))  # video calls
    video_provider: Mapped[str | None] = mapped_column(sa.String(10))  # jitsi, meet
    client_tz: Mapped[str | None] = mapped_column(sa.String(64))  # the zone the client booked in
    agenda_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who booked it (client, lawyer) and whether outside the agreement (an override).
    booked_by: Mapped[str] = mapped_column(sa.String(10), default="client", server_default="client")
    outside_terms: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Who changed it last (client, lawyer), the lawyer's reason (sent to the client), when it moved.
    changed_by: Mapped[str | None] = mapped_column(sa.String(10))
    change_reason: Mapped[str | None] = mapped_column(sa.Text)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()
    lawyer: Mapped[Lawyer] = relationship()

    def as_booked_call(self) -> BookedCall:
        return BookedCall(
            start=self.start,
            end=self.end,
            blocked=Interval(self.blocked_start, self.blocked_end),
            client=self.client_id,
        )


#: Booking statuses that hold their slot (the database's no-overlap guard counts every
#: status but "cancelled"): confirmed calls, unconfirmed intake holds, approval requests.
HOLDING_STATUSES = ("confirmed", "pending", "requested")


def holds_time(status: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """``status IN`` the holding statuses, written into the SQL: a list given to ``in_``
    is an "expanding" parameter, whose SQL is rendered anew at every execution (47 µs of
    every booking's read of the lawyer's bookings, #19)."""
    return status.in_([literal(value) for value in HOLDING_STATUSES])


def literal(text: str) -> sa.ColumnElement:
    """A string constant written into the SQL (not a parameter)."""
    return sa.literal_column("'" + text.replace("'", "''") + "'", sa.String)


class AdminSession(db.Model):
    """A signed-in browser of the admin area, of a lawyer or of a firm user (exactly one of
    ``lawyer_id``/``user_id``); signing out deletes the row, so a copied cookie stops
    working at once (the cookie only names the row, by a random id)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInLink(db.Model):
    """A mailed one-time link: ``reset`` (choose a new password) or ``signin`` (sign in
    once, e.g. while the account is locked by failed attempts). Only its hash is stored."""

    __tablename__ = "sign_in_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))  # reset, signin
    lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyer.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthStateUse(db.Model):
    """An OAuth ``state`` that came back once: a second answer with it is refused."""

    __tablename__ = "oauth_state_use"

    state_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
#: Privileged text written for a client (a status letter): encrypted at rest.
ClientText = EncryptedText


class StatusLetter(db.Model):
    """A status letter as sent: its text and time (``body`` is the one column of its text)."""

    __table_args__ = (sa.Index("ix_status_letter_client_sent", "client_id", "sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"))
    due_on: Mapped[date | None] = mapped_column(sa.Date)  # the status day it settled
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(ClientText)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()


class UrgentRequest(db.Model):
    """A client's request for an urgent call before a deadline; accepted, it becomes a
    callback link that may book the lawyer's reserved urgent time."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # accepted, declined
    callback_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_link.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
class BookingFile(db.Model):
    """A document the client attached to a call, encrypted at rest under the instance folder."""

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))  # as uploaded, cleaned
    mime: Mapped[str] = mapped_column(sa.String(100))  # from the content
    size: Mapped[int]
    stored_as: Mapped[str] = mapped_column(sa.String(100))  # file name under instance/uploads
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship()


class CalendarAccount(db.Model):
    """A connection to one provider account (a CalDAV login, a feed, a Google account)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # caldav, ics, google
    label: Mapped[str] = mapped_column(sa.String(300))
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # non-secret settings
    secret_enc: Mapped[str | None] = mapped_column(sa.Text)  # Fernet token of a JSON dict
    broken: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lawyer: Mapped[Lawyer] = relationship()
    calendars: Mapped[list[Calendar]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )


class Calendar(db.Model):
    """One remote calendar of an account: a conflict source, a destination, or both."""

    __table_args__ = (sa.UniqueConstraint("account_id", "remote_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar_account.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    remote_id: Mapped[str] = mapped_column(sa.String(1000))
    name: Mapped[str] = mapped_column(sa.String(300))
    conflict: Mapped[bool] = mapped_column(default=True)
    write_to: Mapped[bool] = mapped_column(default=False)
    sync_state: Mapped[str | None] = mapped_column(sa.Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    #: Events read inexactly at the last sync, by object key: ``{key: [warning, ...]}``
    #: (``icsexpand.ReadWarning.as_dict``); shown on the calendars page.
    read_warnings: Mapped[dict | None] = mapped_column(sa.JSON)
    #: Moves with every write of this calendar's busy rows (``storage.busy_mirror``).
    mirror_version: Mapped[int] = mapped_column(default=0, server_default="0")
    account: Mapped[CalendarAccount] = relationship(back_populates="calendars")


#: How many calendars the lawyer has connected: read with the lawyer only where asked
#: for (``links.with_agreement``), so that a booking for a lawyer with none reads no
#: calendars (``bookings._calendars_of``; #19). Not a column: a count over ``calendar``.
Lawyer.calendar_count = sa.orm.column_property(
    sa.select(sa.func.count(Calendar.id)).where(Calendar.lawyer_id == Lawyer.id)
    .correlate_except(Calendar).scalar_subquery(),
    deferred=True,
)

#: How many runs of days off the lawyer has, read beside the lawyer where asked for
#: (``links.with_agreement``): the runs themselves are read only if there are any, in a
#: query of their own (joined to the client's extra windows they came back as their
#: product, #19). Not a column: a count over ``day_off``.
Lawyer.day_off_count = sa.orm.column_property(
    sa.select(sa.func.count(DayOff.id)).where(DayOff.lawyer_id == Lawyer.id)
    .correlate_except(DayOff).scalar_subquery(),
    deferred=True,
)

#: How many extra windows the client has, read beside it where asked for
#: (``links.with_agreement``), as ``day_off_count``: the windows are read only if any.
Client.extra_window_count = sa.orm.column_property(
    sa.select(sa.func.count(ExtraWindow.id)).where(ExtraWindow.client_id == Client.id)
    .correlate_except(ExtraWindow).scalar_subquery(),
    deferred=True,
)


#: Busy rows longer than this (``LONG_BUSY_WHERE``) are the only ones that can overlap a
#: window while starting more than this before it: a read of a window is then two index
#: ranges bounded at both ends, the rows starting from a day before it
#: (``ix_busy_window``) and the long ones before that (``ix_busy_long``, partial); both
#: hold every column the read needs.
LONG_BUSY = timedelta(days=1)
#: The partial index's condition, per dialect (a query must repeat it to use the index).
LONG_BUSY_WHERE = {
    "sqlite": 'julianday("end") - julianday(start) > 1',
    "postgresql": "\"end\" - start > interval '1 day'",
}


class BusyBlock(db.Model):
    """The local mirror of busy time read from a calendar; one row per interval."""

    __table_args__ = (
        sa.Index("ix_busy_window", "lawyer_id", "start", "end", "calendar_id"),
        sa.Index("ix_busy_long", "lawyer_id", "start", "end", "calendar_id",
                 sqlite_where=sa.text(LONG_BUSY_WHERE["sqlite"]),
                 postgresql_where=sa.text(LONG_BUSY_WHERE["postgresql"])),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"))
    key: Mapped[str] = mapped_column(sa.String(1000))  # the provider's object key
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)


class BusyMerged(db.Model):
    """A lawyer's busy time merged from the rows that count (``storage.busy_merged``), and
    the state of the lawyer's calendar mirror it was merged from (``stamp``): it may stand
    for the rows only while that state is the current one."""

    lawyer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lawyer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    #: ``busy_merged.stamp`` of the mirror merged; NULL: not merged yet.
    stamp: Mapped[str | None] = mapped_column(sa.Text)
    #: The merged intervals, ``busy_merged.encode``d (little-endian int64 microseconds).
    blocks: Mapped[bytes] = mapped_column(sa.LargeBinary, default=b"")


class OutboxTask(db.Model):
    """Work to do after commit (calendar writes, mail), retried until done."""

    __table_args__ = (sa.Index("ix_outbox_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # done, dead
    attempts: Mapped[int] = mapped_column(default=0)
    #: times the worker's supervisor killed the process running it (service.jobs.supervisor)
    kills: Mapped[int] = mapped_column(default=0, server_default="0")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Intake(AgreementTerms, db.Model):
    """A published intake agreement for new visitors, e.g. "First consultation, 30 min".

    Its public page ``/i/<slug>`` offers the agreed slots to anyone; booking one creates a
    client (``is_new``) with a copy of this agreement. ``max_per_week`` / ``max_per_month``
    cap the calls booked through this intake by all visitors together.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lawyer: Mapped[Lawyer] = relationship()

    @property
    def status(self) -> str:
        return "active" if self.active else "paused"

    @property
    def takes_bookings(self) -> bool:
        """Published, and its lawyer active (see ``Client.takes_bookings``)."""
        return self.active and self.lawyer.active

    def agreement(self) -> Agreement:
        return self.terms()

    def client_agreement(self) -> dict:
        """The agreement's columns, to copy onto the client a booking creates."""
        return {name: getattr(self, name) for name in self.AGREEMENT_FIELDS}


class AuditEvent(db.Model):
    """One change, as the audit log keeps it: append-only (the database refuses UPDATE and
    DELETE of these rows, see migration 0014_firm), no foreign keys (a row outlives what it
    names), no personal data of clients (ids, agreement terms, times: an erasure leaves
    the log as it is). Written by ``service.usecases.audit.record``."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_lawyer_at", "lawyer_id", "at"),
        sa.Index("ix_audit_firm_at", "firm_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    firm_id: Mapped[int | None]
    lawyer_id: Mapped[int | None]  # whose data it is (None: firm-wide, e.g. people)
    actor_kind: Mapped[str] = mapped_column(sa.String(12))  # client, lawyer, assistant, admin, system
    actor_id: Mapped[int | None]  # lawyer id, user id or client id, per actor_kind
    actor_label: Mapped[str] = mapped_column(sa.String(200), default="")
    action: Mapped[str] = mapped_column(sa.String(60))  # e.g. booking.cancelled
    subject_type: Mapped[str] = mapped_column(sa.String(40), default="")  # table name
    subject_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)


class Consent(db.Model):
    """A client's consent to the firm's privacy notice: the version and text they saw, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firm.id"))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(sa.String(5))
    text: Mapped[str] = mapped_column(sa.Text)
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
class ChangeRequest(db.Model):
    """A client's request to move or cancel a call inside the notice ("ask for a change")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
