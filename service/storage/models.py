"""Storage: SQLAlchemy models. Every instant is stored in UTC and read back aware."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.intervals import Interval
from booking.model import Agreement, BookedCall, DateWindow, LawyerRules
from booking.windows import parse_windows
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


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """An unguessable bearer token (192 bits)."""
    return secrets.token_urlsafe(24)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

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
        off = set()
        for period in self.days_off:
            day = period.first_day
            while day <= period.last_day:
                off.add(day)
                day += timedelta(days=1)
        return LawyerRules(
            timezone=self.zone,
            days_off=frozenset(off),
            max_per_day=self.max_per_day,
            max_per_week=self.max_per_week,
        )


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

    def terms(self, extra_windows: tuple[DateWindow, ...] = ()) -> Agreement:
        return Agreement(
            windows=parse_windows(self.windows),
            duration=timedelta(minutes=self.duration_min),
            prep=timedelta(minutes=self.prep_min),
            buffer_after=timedelta(minutes=self.buffer_min),
            notice=timedelta(hours=self.notice_hours),
            notice_next_working_day=self.notice_next_working_day,
            horizon_days=self.horizon_days,
            max_per_week=self.max_per_week,
            max_per_month=self.max_per_month,
            step=timedelta(minutes=self.step_min) if self.step_min else None,
            extra_windows=extra_windows,
        )


class Client(AgreementTerms, db.Model):
    """A client of the lawyer together with the agreement made with them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320))
    matter: Mapped[str] = mapped_column(sa.String(300), default="")
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    status: Mapped[str] = mapped_column(sa.String(10), default="active")  # paused, archived
    is_new: Mapped[bool] = mapped_column(default=False)
    intake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"), index=True)  # came from
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # lookup
    token_enc: Mapped[str] = mapped_column(sa.Text)  # encrypted, to show the link again
    # The link before the last "new link": it answers "replaced, ask your lawyer".
    replaced_token_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    status_day: Mapped[int | None]  # 0 = Monday
    status_updated_on: Mapped[date | None] = mapped_column(sa.Date)  # last status update sent

    lawyer: Mapped[Lawyer] = relationship(back_populates="clients")
    extra_windows: Mapped[list[ExtraWindow]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )

    def agreement(self) -> Agreement:
        return self.terms(
            tuple(DateWindow(w.day, w.start, w.end) for w in self.extra_windows)
        )


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
    agenda: Mapped[str] = mapped_column(sa.Text)
    notes: Mapped[str] = mapped_column(sa.Text, default="")  # the lawyer's, after the call
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    manage_token_enc: Mapped[str] = mapped_column(sa.Text)  # for links in mail and calendar
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE, bumped on change
    callback_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_link.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How a past call went, as the lawyer marks it: held, no_show, late_cancel (None: unmarked).
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
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
    #: Moves with every write of this calendar's busy rows (``storage.busy_mirror``).
    mirror_version: Mapped[int] = mapped_column(default=0, server_default="0")

    account: Mapped[CalendarAccount] = relationship(back_populates="calendars")


class BusyBlock(db.Model):
    """The local mirror of busy time read from a calendar; one row per interval."""

    __table_args__ = (
        sa.Index("ix_busy_lawyer_start", "lawyer_id", "start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"))
    key: Mapped[str] = mapped_column(sa.String(1000))  # the provider's object key
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)


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

    def agreement(self) -> Agreement:
        return self.terms()

    def client_agreement(self) -> dict:
        """The agreement's columns, to copy onto the client a booking creates."""
        return {name: getattr(self, name) for name in self.AGREEMENT_FIELDS}


class ChangeRequest(db.Model):
    """A client's request to move or cancel a call inside the notice ("ask for a change")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyer.id"), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
