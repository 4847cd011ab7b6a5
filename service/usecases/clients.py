"""Clients and their agreements as the admin area edits them; links and callback links."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask_babel import force_locale, gettext

from booking import terms
from booking.model import Window
from booking.windows import format_windows, parse_windows
from service.core import urls
from service.core.crypto import decrypt, encrypt
from service.storage.extensions import db
from service.storage.models import CallbackLink, Client, Lawyer, new_token, token_hash
from service.usecases import audit, wording

CALLBACK_MAX_HOURS = 24 * 14
AGREEMENT_FIELDS = (
    "duration_min", "prep_min", "buffer_min", "notice_hours", "notice_next_working_day",
    "horizon_days", "max_per_week", "max_per_month",
)
STATUSES = ("active", "paused", "archived")


@dataclass(frozen=True)
class WindowRowData:
    weekday: str  # "0".."6" or "" for an empty row
    start: str
    end: str
    remove: bool = False


class WindowsError(ValueError):
    """Every problem of the window rows, worded for the lawyer (``problems``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _row_time(text: str | None) -> time | None:
    try:
        value = time.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value if not value.second and not value.microsecond else None


def windows_text(rows: Iterable[WindowRowData]) -> str:
    """The canonical windows text from editor rows; ``WindowsError`` listing every problem.

    Empty rows and rows marked "remove" are skipped; each other row needs a day and a
    start before its end; rows of one day must not overlap (touching is fine).
    """
    problems: list[str] = []
    windows: list[Window] = []
    for row in rows:
        if row.remove or (not row.weekday and not row.start and not row.end):
            continue
        if row.weekday not in {str(n) for n in range(7)}:
            problems.append(gettext("Choose a day for every window."))
            continue
        day = wording.weekday_name(int(row.weekday))
        start, end = _row_time(row.start), _row_time(row.end)
        if start is None or end is None:
            problems.append(gettext("%(day)s: please give both times of the window, e.g. 10:00 and 12:00.", day=day))
        elif end <= start:
            problems.append(gettext("%(day)s: the window from %(start)s to %(end)s must end after it starts.",
                                    day=day, start=f"{start:%H:%M}", end=f"{end:%H:%M}"))
        else:
            windows.append(Window(int(row.weekday), start, end))
    windows.sort()
    for before, after in zip(windows, windows[1:], strict=False):
        if before.weekday == after.weekday and after.start < before.end:
            problems.append(gettext("%(day)s: two windows overlap (%(first)s and %(second)s).",
                                    day=wording.weekday_name(before.weekday),
                                    first=f"{before.start:%H:%M}–{before.end:%H:%M}",
                                    second=f"{after.start:%H:%M}–{after.end:%H:%M}"))
    if not windows and not problems:
        problems.append(gettext("Add at least one window."))
    if problems:
        raise WindowsError(problems)
    return format_windows(windows)


def rows_of(windows: str) -> list[WindowRowData]:
    return [
        WindowRowData(str(w.weekday), w.start.strftime("%H:%M"), w.end.strftime("%H:%M"))
        for w in parse_windows(windows)
    ]


def agreement_columns(checked: terms.Terms) -> dict:
    """The agreement columns (``Client`` and ``Intake`` share them) of validated terms."""
    return {
        "windows": checked.windows_text,
        "duration_min": checked.duration,
        "prep_min": checked.prep,
        "buffer_min": checked.buffer_after,
        "notice_hours": checked.notice,
        "notice_next_working_day": checked.notice_next_working_day,
        "horizon_days": checked.horizon_days,
        "max_per_week": checked.max_per_week,
        "max_per_month": checked.max_per_month,
        "step_min": checked.step,
    }


def checked_agreement(data: dict) -> dict:
    """The edit form's ``data`` with the agreement validated by ``booking.terms`` and
    normalised; ``terms.AgreementError`` for the first problem (nothing is changed)."""
    checked = terms.validate_agreement(
        windows=data["windows"],
        duration=data["duration_min"],
        prep=data["prep_min"],
        buffer_after=data["buffer_min"],
        notice=data["notice_hours"],
        notice_next_working_day=bool(data.get("notice_next_working_day")),
        horizon_days=data["horizon_days"],
        max_per_week=data.get("max_per_week"),
        max_per_month=data.get("max_per_month"),
        step=data.get("step_min"),
        status_day=data.get("status_day"),
    )
    return {**data, **agreement_columns(checked), "status_day": checked.status_day}


PERSONAL_FIELDS = ("name", "email", "matter", "note")
TERMS_FIELDS = ("windows", *AGREEMENT_FIELDS, "step_min", "status_day", "language")


def agreement_snapshot(client: Client) -> dict:
    """The agreement as the audit log keeps it: its terms, no personal data."""
    return {name: getattr(client, name) for name in TERMS_FIELDS}


def _personal(client: Client) -> dict:
    return {name: getattr(client, name) for name in PERSONAL_FIELDS}


def apply_agreement(client: Client, data: dict, *, record: bool = True) -> None:
    """Copy form data checked by ``checked_agreement`` onto ``client`` (the caller commits);
    the audit log gets the terms before and after, and the names of changed personal fields."""
    before, personal = agreement_snapshot(client), _personal(client)
    _apply(client, data)
    if not record:
        return
    diff = audit.changes(before, agreement_snapshot(client))
    changed = [name for name, value in _personal(client).items() if personal[name] != value]
    if diff is None and not changed:
        return
    old, new = diff or ({}, {})
    if changed:
        new = {**new, "personal_fields_changed": changed}
    audit.record(None, "agreement.changed", client, before=old, after=new)


def _apply(client: Client, data: dict) -> None:
    client.name = data["name"].strip()
    client.email = data["email"].strip()
    client.matter = (data.get("matter") or "").strip()
    client.language = data["language"]
    client.note = (data.get("note") or "").strip()
    client.windows = data["windows"]
    for field in AGREEMENT_FIELDS:
        setattr(client, field, data[field])
    client.step_min = data["step_min"]
    client.status_day = data["status_day"]
    chosen = [c for c in ("video", "phone", "office") if data.get(f"channel_{c}")]
    if chosen:  # the admin form's channel fields
        default = data["default_channel"] if data.get("default_channel") in chosen else chosen[0]
        client.channels = ",".join([default, *(c for c in chosen if c != default)])
        client.agenda_confirm_hours = data.get("agenda_confirm_hours") or None


def form_data(client: Client) -> dict:
    """The edit form's initial values for ``client`` (with one empty window row)."""
    data = {name: getattr(client, name) for name in ("name", "email", "matter", "language", "note", *AGREEMENT_FIELDS)}
    data["windows"] = [row.__dict__ for row in rows_of(client.windows)] + [{}]
    data["step_min"] = str(client.step_min or "")
    data["status_day"] = "" if client.status_day is None else str(client.status_day)
    allowed = client.channel_list
    for channel in ("video", "phone", "office"):
        data[f"channel_{channel}"] = channel in allowed
    data["default_channel"] = allowed[0]
    data["agenda_confirm_hours"] = client.agenda_confirm_hours
    return data


def new_client_defaults(lawyer: Lawyer) -> dict:
    """The new-client form's starting values: a common arrangement (one 45-minute call a
    week with 30 minutes of preparation, a day's notice, a month ahead), in the lawyer's
    language, with one weekly window to adjust and an empty row."""
    return {
        "language": lawyer.language, "windows": [{"weekday": "1", "start": "16:00", "end": "18:00"}, {}],
        "duration_min": 45, "prep_min": 30, "buffer_min": 0, "notice_hours": 24, "horizon_days": 30,
        "max_per_week": 1, "step_min": "", "status_day": "",
    }


def create_client(lawyer: Lawyer, *, record: bool = True, **fields) -> tuple[Client, str]:
    """Create a client with a fresh link token (the caller commits); returns (client, token)."""
    token = new_token()
    client = Client(lawyer=lawyer, token_hash=token_hash(token), token_enc=encrypt(token), **fields)
    db.session.add(client)
    if record:
        audit.record(None, "client.created", client, after=agreement_snapshot(client))
    return client, token


def new_client(lawyer: Lawyer, data: dict) -> tuple[Client, str]:
    client, token = create_client(lawyer, name="", email="", windows="", duration_min=0, record=False)
    apply_agreement(client, data, record=False)
    audit.record(None, "client.created", client, after=agreement_snapshot(client))
    return client, token


def set_status(client: Client, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if client.status != status:
        audit.record(None, "client.status", client, before={"status": client.status}, after={"status": status})
    client.status = status


def booking_url(client: Client) -> str:
    return urls.booking_url(decrypt(client.token_enc))


def regenerate_link(client: Client) -> str:
    """A new booking link; the old one stops working at commit. Returns the new token."""
    token = new_token()
    client.replaced_token_hash = client.token_hash
    client.token_hash = token_hash(token)
    client.token_enc = encrypt(token)
    audit.record(None, "client.link_regenerated", client)
    return token


def create_callback(client: Client, hours: int, now: datetime) -> tuple[CallbackLink, str]:
    """A single-use link valid ``hours`` hours (the caller commits)."""
    if not client.takes_bookings:
        raise ValueError(gettext("Only active clients can get a callback link."))
    if not 1 <= hours <= CALLBACK_MAX_HOURS:
        raise ValueError(gettext("A callback link is valid between 1 hour and 14 days."))
    token = new_token()
    link = CallbackLink(client=client, token_hash=token_hash(token), expires_at=now + timedelta(hours=hours), created_at=now)
    db.session.add(link)
    audit.record(None, "client.callback_link", client, after={"expires_at": link.expires_at.isoformat()})
    return link, token


def callback_message(client: Client, url: str, expires_at: datetime) -> str:
    """The ready-to-send text for the client, in the client's language."""
    zone = client.lawyer.zone
    with force_locale(client.language):
        until = wording.format_datetime(expires_at.astimezone(zone), "medium")
        return gettext(
            "Hello %(name)s,\n\nthank you for your call. So that I can prepare and give you a proper answer, "
            "please choose a time for our call here:\n%(url)s\n\n"
            "The link works once and until %(until)s (%(tz)s time). "
            "Please write down in the form what you want to discuss.\n\n%(lawyer)s",
            name=client.name, url=url, until=until, tz=client.lawyer.timezone, lawyer=client.lawyer.name,
        )


def windows_of(client: Client) -> tuple[Window, ...]:
    return parse_windows(client.windows)
