"""The lawyer's practice settings, for the admin area and the CLI alike: profile, caps,
days off, embedding sites, one-off extra windows, public intakes.

Each function checks its input and raises ``Refused("invalid_<field>", message)`` naming
the problem; nothing is written on a refusal. The caller commits.
"""

from __future__ import annotations

from datetime import date, time
from urllib.parse import urlsplit

import sqlalchemy as sa

from booking import terms
from service.core.zones import canonical, is_zone
from service.storage.extensions import db
from service.storage.models import DayOff, EmbedOrigin, ExtraWindow, Intake, Lawyer
from service.usecases import intakes
from service.usecases.clients import agreement_columns
from service.usecases.errors import Refused

LANGUAGES = ("en", "ru")
CAP_MAX = 100
DAY_OFF_MAX_DAYS = 366
NOTE_MAX = 200


def _one_line(value: object, field: str, maximum: int = 200, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if (required and not text) or len(text) > maximum or any(ch in text for ch in "\r\n\x00"):
        raise Refused(f"invalid_{field}", f"The {field} must be one line of at most {maximum} characters.")
    return text


def set_profile(lawyer: Lawyer, name: object, timezone: object, language: object) -> None:
    name = _one_line(name, "name")
    if not is_zone(timezone):
        raise Refused("invalid_timezone", f"Unknown time zone {str(timezone)[:64]!r}.")
    if language not in LANGUAGES:
        raise Refused("invalid_language", "The language must be English or Russian.")
    lawyer.name, lawyer.timezone, lawyer.language = name, canonical(timezone), language


def set_caps(lawyer: Lawyer, per_day: int | None, per_week: int | None) -> None:
    """The lawyer-wide caps on client calls; None or 0 removes a cap."""
    for field, value in (("max_per_day", per_day), ("max_per_week", per_week)):
        if value is not None and not 0 <= value <= CAP_MAX:
            raise Refused(f"invalid_{field}", f"The limit must be between 0 and {CAP_MAX}, not {value}.")
    lawyer.max_per_day = per_day or None
    lawyer.max_per_week = per_week or None


def add_day_off(lawyer: Lawyer, first: date, last: date | None, note: object = "") -> DayOff:
    """Days without any calls; the note is the lawyer's own and shown to no client."""
    last = last or first
    if last < first:
        raise Refused("invalid_last_day", "The last day must not be before the first.")
    if (last - first).days > DAY_OFF_MAX_DAYS:
        raise Refused("invalid_last_day", "A period of days off is at most a year.")
    note = _one_line(note or "", "note", NOTE_MAX, required=False)
    period = DayOff(lawyer=lawyer, first_day=first, last_day=last, note=note)
    db.session.add(period)
    return period


def remove_day_off(lawyer: Lawyer, period_id: int) -> None:
    period = db.session.get(DayOff, period_id)
    if period is None or period.lawyer_id != lawyer.id:
        raise Refused("unknown_setting", "No such days off.")
    db.session.delete(period)


def normalized_origin(origin: object) -> str:
    """``https://site.example`` from what the lawyer typed; ``invalid_origin`` otherwise."""
    text = origin.strip() if isinstance(origin, str) else ""
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        host = None
    if (parts.scheme if host else "") not in ("http", "https") or not host or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or any(ch in text for ch in "\r\n\x00 "):
        raise Refused("invalid_origin", f"{text[:100]!r} must look like https://www.your-firm.example")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def allow_embed(lawyer: Lawyer, origin: object) -> str:
    normalized = normalized_origin(origin)
    if normalized not in {o.origin for o in lawyer.embed_origins}:
        lawyer.embed_origins.append(EmbedOrigin(origin=normalized))
    return normalized


def remove_embed(lawyer: Lawyer, origin_id: int) -> None:
    origin = db.session.get(EmbedOrigin, origin_id)
    if origin is None or origin.lawyer_id != lawyer.id:
        raise Refused("unknown_setting", "No such site.")
    lawyer.embed_origins.remove(origin)


def add_extra_window(client, day: date, start: time, end: time) -> ExtraWindow:
    """A one-off window for ``client`` on ``day`` (the lawyer's wall-clock time)."""
    if end <= start:
        raise Refused("invalid_window", "The window must end after it starts.")
    extra = ExtraWindow(client=client, day=day, start=start, end=end)
    db.session.add(extra)
    return extra


def remove_extra_window(client, window_id: int) -> None:
    extra = db.session.get(ExtraWindow, window_id)
    if extra is None or extra.client_id != client.id:
        raise Refused("unknown_setting", "No such window.")
    db.session.delete(extra)


def save_intake(lawyer: Lawyer, intake: Intake | None, slug: object, title: object, language: object,
                note: object, agreement: terms.Terms) -> Intake:
    """Create (``intake`` None) or update a public intake with a validated agreement."""
    if not intakes.valid_slug(slug):
        raise Refused("invalid_slug", "The address name is 1-64 lowercase letters, digits and inner hyphens.")
    taken = db.session.scalar(sa.select(Intake.id).where(Intake.slug == slug))
    if taken is not None and (intake is None or taken != intake.id):
        raise Refused("invalid_slug", f"The address name {slug!r} is already taken.")
    title = _one_line(title, "title")
    if language not in LANGUAGES:
        raise Refused("invalid_language", "The language must be English or Russian.")
    if intake is None:
        intake = Intake(lawyer=lawyer)
        db.session.add(intake)
    intake.slug, intake.title, intake.language = slug, title, language
    intake.note = (note or "").strip() if isinstance(note, str) else ""
    for name, value in agreement_columns(agreement).items():
        setattr(intake, name, value)
    return intake


def set_intake_active(intake: Intake, active: bool) -> None:
    intake.active = active


def embed_snippet(base_url: str, intake: Intake) -> str:
    return f'<script src="{base_url}/embed.js" data-intake="{intake.slug}" async></script>'
