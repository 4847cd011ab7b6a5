"""How a call happens: by phone, by video, or at the lawyer's office.

An agreement (a client's or an intake's) allows one or more channels, the first being the
default; the client picks one when booking and may switch later among the allowed ones.

- ``phone``: the client's number, checked and normalised with ``phonenumbers``; stored as
  E.164, shown national-style to those in the number's country. The lawyer calls.
- ``video``: a meeting link per call. A Jitsi Meet room on ``JITSI_BASE_URL`` with an
  unguessable name, made at booking; or, when the lawyer's destination calendar is a
  Google calendar, a Google Meet link that Google creates with the calendar event
  (``conferenceData.createRequest``): ``join_url`` stays empty until the worker has
  written the event (``service.calendars.writeback``).
- ``office``: the lawyer's address, from the lawyer's profile.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, lazy_gettext

from service.core import phones
from service.storage.extensions import db
from service.storage.models import Booking, Calendar, CalendarAccount, Client, Intake, Lawyer
from service.usecases.errors import Refused

CHANNELS = ("phone", "video", "office")
DEFAULT = "video"

#: What each channel is called, in the current language.
NAMES = {
    "phone": lazy_gettext("Phone call"),
    "video": lazy_gettext("Video call"),
    "office": lazy_gettext("At the office"),
}


def parse_channels(text: str) -> str:
    """``"phone, video"`` → ``"phone,video"``; ``ValueError`` naming a bad entry."""
    wanted: list[str] = []
    for part in (text or "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in CHANNELS:
            raise ValueError(f"unknown channel {name!r}: choose from phone, video, office")
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        raise ValueError("give at least one channel: phone, video or office")
    return ",".join(wanted)


def name(channel: str) -> str:
    return str(NAMES.get(channel, channel))


# -- phone numbers ---------------------------------------------------------------------

regions = phones.regions
phone_display = phones.display

_PHONE_MESSAGES = {
    "missing": "Please give the phone number to call you on.",
    "needs_country": "Please give the phone number with its country code, e.g. +49 30 1234567.",
    "invalid": "The phone number is not valid.",
}


def normalise_phone(raw: object, candidates: list[str]) -> str:
    """The number in E.164 (``+79123456789``) or ``Refused("invalid_phone")``."""
    try:
        return phones.normalise(raw, candidates)
    except phones.PhoneError as exc:
        raise Refused("invalid_phone", _PHONE_MESSAGES[exc.code]) from None


# -- choosing a channel ------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    channel: str
    phone: str | None = None  # E.164
    client_tz: str | None = None


def choose(
    subject: Client | Intake,
    channel: object = None,
    phone: object = None,
    *,
    tz: str | None = None,
    region: str | None = None,
    language: str | None = None,
) -> Choice:
    """The channel asked for (or the agreement's default) with its details, checked."""
    allowed = subject.channel_list
    if channel in (None, ""):
        channel = allowed[0]
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise Refused("invalid_channel", "channel: choose phone, video or office.")
    if channel not in allowed:
        raise Refused("invalid_channel", "This kind of call is not part of the agreement.")
    number = None
    if channel == "phone":
        saved = getattr(subject, "phone", None)
        if phone in (None, "") and saved:
            number = saved
        else:
            language = language or getattr(subject, "language", None)
            number = normalise_phone(phone, regions(region, tz, language))
    return Choice(channel, number, tz)


def default_choice(client: Client) -> Choice:
    """For bookings made without the client (the lawyer's side): the agreement's default
    channel; phone only when the client's number is known, else the next allowed one."""
    for channel in client.channel_list:
        if channel != "phone" or client.phone:
            return Choice(channel, client.phone if channel == "phone" else None)
    return Choice("phone", None)


def apply(booking: Booking, choice: Choice, *, writes_to_google: bool | None = None) -> None:
    """Set the booking's channel and its details (a video link, the phone number).
    ``writes_to_google``: whether the lawyer's destination is a Google calendar, if known."""
    previous = booking.channel if booking.id else None
    booking.channel = choice.channel
    if choice.client_tz:
        booking.client_tz = choice.client_tz
    if choice.channel == "phone":
        booking.phone = choice.phone
        if choice.phone and booking.client is not None:
            booking.client.phone = choice.phone
    if choice.channel == "video" and (previous != "video" or not booking.video_provider):
        _video_link(booking, writes_to_google)


def _video_link(booking: Booking, writes_to_google: bool | None = None) -> None:
    if writes_to_google is None:
        writes_to_google = _writes_to_google(booking.lawyer_id)
    if writes_to_google:
        booking.video_provider, booking.join_url = "meet", None  # Google makes it
    else:
        booking.video_provider, booking.join_url = "jitsi", jitsi_url()


def jitsi_url() -> str:
    """A Jitsi Meet room with an unguessable name (128 random bits)."""
    base = current_app.config["JITSI_BASE_URL"].rstrip("/") + "/"
    return f"{base}CounselHours-{secrets.token_hex(16)}"


def _writes_to_google(lawyer_id: int) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count(Calendar.id))
        .join(CalendarAccount, Calendar.account_id == CalendarAccount.id)
        .where(Calendar.lawyer_id == lawyer_id, Calendar.write_to.is_(True), CalendarAccount.kind == "google")
    ) > 0


def fall_back_to_jitsi(booking: Booking) -> None:
    """Google has not made a Meet link in time (the calendar is unreachable): use Jitsi."""
    booking.video_provider, booking.join_url = "jitsi", jitsi_url()


# -- the details in words ------------------------------------------------------------------


def location(booking: Booking, region: str | None = None) -> str:
    """The LOCATION of the call: the number, the link, or the address."""
    if booking.channel == "phone":
        return phone_display(booking.phone, region)
    if booking.channel == "video":
        return booking.join_url or ""
    if booking.channel == "office":
        return " ".join(_office(booking.client.lawyer).split())
    return ""


def _office(lawyer: Lawyer) -> str:
    return (lawyer.office_address or "").strip()


def pending_link(booking: Booking) -> bool:
    """A Google Meet link that Google has not made yet."""
    return booking.channel == "video" and not booking.join_url


def details(booking: Booking, *, for_lawyer: bool = False, region: str | None = None) -> str:
    """One or two lines saying how the call happens, in the current language."""
    if booking.channel == "phone":
        number = phone_display(booking.phone, region)
        if for_lawyer:
            return gettext("Phone call: call the client on %(number)s.", number=number)
        return gettext("Phone call: %(lawyer)s will call you on %(number)s.",
                       lawyer=booking.client.lawyer.name, number=number)
    if booking.channel == "video":
        if booking.join_url:
            return gettext("Video call: join at %(url)s", url=booking.join_url)
        return gettext("Video call: the link follows by e-mail shortly.")
    if booking.channel == "office":
        address = _office(booking.client.lawyer)
        return gettext("At the office: %(address)s", address=address) if address else gettext("At the office.")
    return ""


def region_of(booking: Booking) -> str | None:
    """The country the client most likely reads numbers in (for national display)."""
    found = regions(None, booking.client_tz, booking.client.language if booking.client else None)
    return found[0] if found else None
