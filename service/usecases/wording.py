"""Turning domain values into words and local times for the pages, in the user's language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.dates import format_time as _format_time
from babel.dates import get_day_names
from flask_babel import get_locale, gettext, lazy_gettext, ngettext

from booking.model import Slot
from booking.windows import parse_windows
from service.storage.models import Booking, Client, Intake

EXPIRED_FORM = lazy_gettext("This form has expired. Please choose your time again.").__str__
CHOOSE_SLOT = lazy_gettext("Please choose a time.").__str__


@dataclass(frozen=True)
class DaySlots:
    day: date
    label: str
    slots: list[tuple[Slot, str, str]]  # slot, ISO start, local start label


def format_date(day: date, fmt: str = "full") -> str:
    return _format_date(day, fmt, locale=get_locale())


def format_time(instant: datetime, fmt: str = "short", tzinfo: ZoneInfo | None = None) -> str:
    """Babel's formatting in the given zone (Flask-Babel's would use one app-wide zone)."""
    return _format_time(instant, fmt, tzinfo=tzinfo, locale=get_locale())


def format_datetime(instant: datetime, date_fmt: str = "medium") -> str:
    """An aware datetime in its own zone, per locale, to the minute ("Mar 3, 2026, 15:00")."""
    return "{}, {}".format(
        format_date(instant.date(), date_fmt), format_time(instant, "short", tzinfo=instant.tzinfo)
    )


def local(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz))


def group_by_day(slots: Iterable[Slot], tz: str) -> list[DaySlots]:
    zone = ZoneInfo(tz)
    days: dict[date, list[tuple[Slot, str, str]]] = {}
    for slot in slots:
        start = slot.start.astimezone(zone)
        days.setdefault(start.date(), []).append(
            (slot, slot.start.isoformat(), format_time(start, "short", tzinfo=zone))
        )
    return [
        DaySlots(day, format_date(day, "full"), entries) for day, entries in sorted(days.items())
    ]


def when(booking: Booking, tz: str) -> str:
    zone = ZoneInfo(tz)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    return "{day}, {start}–{end}".format(
        day=format_date(start.date(), "full"),
        start=format_time(start, "short", tzinfo=zone),
        end=format_time(end, "short", tzinfo=zone),
    )


def weekday_name(weekday: int, width: str = "wide", title: bool = True) -> str:
    """Monday is 0; ``title``: capitalised for use on its own ("Friday", "Пятница"),
    else as inside a sentence ("Friday", "пятница")."""
    name = get_day_names(width, context="stand-alone", locale=get_locale())[weekday]
    return name[:1].upper() + name[1:] if title else name


def _weekday_name(weekday: int) -> str:
    return get_day_names("wide", context="format", locale=get_locale())[weekday]


def windows_words(windows: str) -> str:
    """ "tue 16:00-18:00,thu 10:00-12:00" as "Tue 16:00–18:00; Thu 10:00–12:00" per locale."""
    return "; ".join(
        f"{weekday_name(w.weekday, 'abbreviated')} {w.start:%H:%M}–{w.end:%H:%M}" for w in parse_windows(windows)
    )


def agreement_terms(client: Client | Intake, caps: bool = True) -> list[str]:
    """The agreement in plain words, one sentence per line.

    ``caps=False`` leaves out the weekly/monthly caps: an intake's caps count the calls of
    all its visitors together, not a promise to one visitor.
    """
    lines: list[str] = []
    windows = parse_windows(client.windows)
    parts = []
    for w in windows:
        parts.append(
            gettext("%(day)s %(start)s–%(end)s", day=_weekday_name(w.weekday), start=w.start.strftime("%H:%M"), end=w.end.strftime("%H:%M"))
        )
    lines.append(
        ngettext(
            "Calls of %(num)d minute, in these windows (%(tz)s time): %(windows)s.",
            "Calls of %(num)d minutes, in these windows (%(tz)s time): %(windows)s.",
            client.duration_min,
            tz=client.lawyer.timezone,
            windows="; ".join(parts),
        )
    )
    if caps and client.max_per_week:
        lines.append(ngettext("At most %(num)d call a week.", "At most %(num)d calls a week.", client.max_per_week))
    if caps and client.max_per_month:
        lines.append(ngettext("At most %(num)d call a month.", "At most %(num)d calls a month.", client.max_per_month))
    if client.notice_next_working_day:
        lines.append(gettext("Book at least one working day ahead, so the call can be prepared."))
    elif client.notice_hours:
        lines.append(
            ngettext(
                "Book at least %(num)d hour ahead, so the call can be prepared.",
                "Book at least %(num)d hours ahead, so the call can be prepared.",
                client.notice_hours,
            )
        )
    lines.append(ngettext("Times are offered up to %(num)d day ahead.", "Times are offered up to %(num)d days ahead.", client.horizon_days))
    return lines


#: «по берлинскому времени»: the adjective (dative) of a zone's city, for common zones.
_RU_CITY_DATIVE = {
    "Europe/Berlin": "берлинскому", "Europe/Moscow": "московскому", "Europe/London": "лондонскому",
    "Europe/Paris": "парижскому", "Europe/Vienna": "венскому", "Europe/Zurich": "цюрихскому",
    "Europe/Kyiv": "киевскому", "Europe/Minsk": "минскому", "Europe/Riga": "рижскому",
    "Europe/Vilnius": "вильнюсскому", "Europe/Tallinn": "таллинскому", "Europe/Warsaw": "варшавскому",
    "Europe/Prague": "пражскому", "Europe/Helsinki": "хельсинкскому", "Europe/Istanbul": "стамбульскому",
    "Europe/Samara": "самарскому", "Asia/Yekaterinburg": "екатеринбургскому",
    "Asia/Novosibirsk": "новосибирскому", "Asia/Vladivostok": "владивостокскому",
    "Asia/Almaty": "алматинскому", "Asia/Tbilisi": "тбилисскому", "Asia/Yerevan": "ереванскому",
    "Asia/Dubai": "дубайскому", "Asia/Tokyo": "токийскому", "America/New_York": "нью-йоркскому",
    "Europe/Kaliningrad": "калининградскому", "Asia/Jerusalem": "иерусалимскому",
}


def zone_words(tz: str, nominative: bool = False) -> str:
    """A zone as a person says it: «по берлинскому времени» / "Berlin time", not the IANA id.

    ``nominative``: «московское время» (a label) rather than «по московскому времени».
    """
    from babel.dates import get_timezone_location

    locale = get_locale()
    if tz == "UTC":
        return "UTC"
    try:
        city = get_timezone_location(tz, locale=locale, return_city=True)
    except (LookupError, ValueError):
        return tz
    if str(locale).startswith("ru"):
        dative = _RU_CITY_DATIVE.get(tz)
        if dative:
            if nominative:
                return dative.removesuffix("ому") + "ое время"
            return f"по {dative} времени"
        return f"время: {city}" if nominative else f"по времени: {city}"
    return f"{city} time"
