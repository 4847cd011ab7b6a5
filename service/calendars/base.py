"""The calendar provider interface: one base class, one module per provider.

A provider talks to one connected account (a CalDAV server, an iCal feed, a Google
account). It reads busy time, keeps a sync state for incremental sync, and writes the
service's own events (calls and prep blocks) under deterministic ids. It knows nothing
about the database: the service stores what it returns (``service/calendars/sync.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext

from booking.intervals import Interval

#: Every event the service writes carries a UID ending in this; readers skip them, since
#: the bookings behind them are already counted from the database.
OWN_UID_SUFFIX = "@counselhours"


def is_own_uid(uid: str | None) -> bool:
    return bool(uid) and str(uid).endswith(OWN_UID_SUFFIX)


class ProviderError(Exception):
    """A calendar problem, worded for the lawyer (no secrets, no tracebacks)."""

    retryable = True


class AuthError(ProviderError):
    """Credentials refused or revoked: retrying will not help until the lawyer acts."""

    retryable = False


class NotFound(ProviderError):
    retryable = False


@dataclass(frozen=True)
class RemoteCalendar:
    id: str  # the provider's id: a calendar URL for CalDAV, an id for Google
    name: str
    writable: bool = True


@dataclass
class SyncResult:
    """What changed since ``state``; keys are the provider's object keys (href, event id).

    ``full`` means the provider listed everything: the stored mirror of the calendar is
    replaced by ``changed``. Otherwise ``changed`` entries replace the stored ones with the
    same key and ``deleted`` keys are removed. An empty interval list means "free".

    ``warnings``: for the keys read, what could not be read exactly (a list of
    ``ReadWarning.as_dict()`` per key; keys without warnings absent). ``None``: the
    provider does not report them (the stored ones are kept).
    """

    state: str | None
    full: bool
    changed: dict[str, list[Interval]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    requests: int = 0
    warnings: dict[str, list[dict]] | None = None


@dataclass(frozen=True)
class AccountSettings:
    """What is stored for an account: non-secret ``config`` and the encrypted ``secret``."""

    config: dict[str, Any]
    secret: dict[str, Any]


@dataclass(frozen=True)
class OutgoingEvent:
    """An event the service writes: a booked call or its prep block."""

    uid: str  # deterministic, ends with OWN_UID_SUFFIX
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    attendee_email: str | None = None
    attendee_name: str | None = None
    #: The call is held by video: a provider that can attach an online meeting (Teams)
    #: does. Set from the booking's ``channel`` where the booking has one.
    online_meeting: bool = False
    location: str = ""
    url: str = ""
    #: Ask the calendar to make a video meeting (Google Meet) under this request id;
    #: ``put_event`` then returns its join link.
    conference_request: str | None = None

    def description_with_client(self) -> str:
        """The description with the client named at its end, for calendars written
        without attendees (Google, Outlook: an attendee would be mailed on every change)."""
        if not self.attendee_email:
            return self.description
        who = f"{self.attendee_name} <{self.attendee_email}>" if self.attendee_name else self.attendee_email
        return f"{self.description}\n\nClient: {who}".strip()


class CalendarProvider(ABC):
    """Base class of all providers. ``kind`` names it in the database and the CLI."""

    kind: ClassVar[str]
    #: What the calendars page calls this kind of account (translated).
    title: ClassVar[Any] = lazy_gettext("Calendar")
    writable: ClassVar[bool] = True

    def __init__(self, config: dict[str, Any], secret: dict[str, Any], tz: ZoneInfo):
        self.config = config  # non-secret settings (URLs, usernames, calendar ids)
        self.secret = secret  # decrypted credentials, never logged
        self.tz = tz  # the lawyer's zone, for floating and all-day events

    @abstractmethod
    def list_calendars(self) -> list[RemoteCalendar]: ...

    @abstractmethod
    def busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        """Busy time straight from the server (the freshness check before booking)."""

    def busy_since(
        self, calendar_id: str, window: Interval, state: str | None
    ) -> list[Interval] | None:
        """Busy time in ``window`` for the check before booking, or ``None`` when the
        server says nothing changed since the sync that stored ``state`` (the mirror is
        then as fresh as the server). Default: always asks (:meth:`busy`)."""
        return self.busy(calendar_id, window)

    def probe(self, calendar_id: str, state: str | None, window: Interval) -> bool:
        """Whether a sync from ``state`` may find changes, asked as cheaply as the server
        allows (CalDAV: one PROPFIND of the ctag / sync-token). Default: always True."""
        return True

    @abstractmethod
    def sync(self, calendar_id: str, state: str | None, window: Interval) -> SyncResult: ...

    def put_event(self, calendar_id: str, event: OutgoingEvent) -> str | None:
        """Create or overwrite the event with ``event.uid``; idempotent. Returns the join
        link of a meeting the calendar made (``event.conference_request``), else None."""
        raise ProviderError(f"{self.kind} calendars are read-only")

    def delete_event(self, calendar_id: str, uid: str) -> None:
        """Delete the event with ``uid``; an event already gone is not an error."""
        raise ProviderError(f"{self.kind} calendars are read-only")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- connecting an account: what the lawyer typed -> what is stored ------------------

    @classmethod
    def settings(
        cls, address: str, username: str = "", password: str = "", *, local_files: bool = False
    ) -> AccountSettings:
        """The stored settings of an account from what the lawyer typed (an address, and a
        login where the kind has one); ``ProviderError`` worded for the lawyer if bad.
        ``local_files``: a path on this machine is allowed (the CLI only)."""
        raise ProviderError(f"{cls.kind} accounts are connected another way")

    @classmethod
    def same_account(cls, stored: AccountSettings, new: AccountSettings) -> bool:
        """Whether ``new`` names the account already stored as ``stored``."""
        return stored.config == new.config

    @classmethod
    def label(cls, settings: AccountSettings, found: list[RemoteCalendar]) -> str:
        """How the account is named on the calendars page."""
        return found[0].name if found else cls.kind


_PROVIDERS = {
    "caldav": "service.calendars.caldav.provider:CalDAVProvider",
    "ics": "service.calendars.ics.provider:ICSProvider",
    "google": "service.calendars.google.provider:GoogleProvider",
    "microsoft": "service.calendars.microsoft.provider:MicrosoftProvider",
}


def load(kind: str) -> type[CalendarProvider]:
    """The provider class for ``kind`` (the one place that picks)."""
    from importlib import import_module

    try:
        module_name, _, cls = _PROVIDERS[kind].partition(":")
    except KeyError:
        raise ProviderError(f"unknown calendar kind {kind!r}") from None
    return getattr(import_module(module_name), cls)
