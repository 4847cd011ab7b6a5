"""What an agreement may say: one table of bounds (``BOUNDS``) and the one check against it.

Everyone who takes an agreement from a person runs ``validate_agreement``: the CLI
(``client create``, ``intake create``) and the admin area's client form, which also
builds its number ranges from ``BOUNDS``. The engine runs ``check_agreement`` on every
``Agreement`` it is given (see there for what it checks).

Besides each field's bounds, ``validate_agreement`` applies two rules across fields:

- the call fits in at least one window (a longer call could never be offered);
- the notice is shorter than the horizon (``notice < horizon_days * 24`` hours). With a
  notice as long as the horizon no instant is both far enough ahead and near enough, so
  the client's page would stay empty for ever: that is a typing mistake, not a choice.

Refusals are ``AgreementError`` (a ``ValueError``): the field's name, a code, the numbers
involved, and a one-line English message. Callers may word it their own way (the admin
area translates it; the CLI names its option) from ``code`` and ``params``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from booking.model import Agreement, Window
from booking.windows import format_windows, parse_windows


@dataclass(frozen=True)
class Bound:
    """The values one agreement field may take: ``minimum..maximum`` in ``unit``.

    ``optional``: the field may be empty (None: no cap, or the default it stands for).
    ``choices``: only these values (still within ``minimum..maximum``).
    """

    name: str
    minimum: int
    maximum: int
    unit: str
    optional: bool = False
    choices: tuple[int, ...] | None = None

    def allows(self, value: int | None) -> bool:
        if value is None:
            return self.optional
        if self.choices is not None:
            return value in self.choices
        return self.minimum <= value <= self.maximum


DURATION = Bound("duration", 5, 8 * 60, "minutes")
PREP = Bound("prep", 0, 8 * 60, "minutes")
BUFFER_AFTER = Bound("buffer_after", 0, 4 * 60, "minutes")
NOTICE = Bound("notice", 0, 30 * 24, "hours")
HORIZON = Bound("horizon_days", 1, 365, "days")
MAX_PER_WEEK = Bound("max_per_week", 1, 50, "calls", optional=True)
MAX_PER_MONTH = Bound("max_per_month", 1, 200, "calls", optional=True)
STEP = Bound("step", 15, 30, "minutes", optional=True, choices=(15, 30))  # None: the duration
STATUS_DAY = Bound("status_day", 0, 6, "(0 = Monday)", optional=True, choices=tuple(range(7)))

#: Every bounded field of an agreement, in the order they are checked.
BOUNDS: dict[str, Bound] = {
    b.name: b
    for b in (DURATION, PREP, BUFFER_AFTER, NOTICE, HORIZON, MAX_PER_WEEK, MAX_PER_MONTH, STEP,
              STATUS_DAY)
}

_WHOLE = re.compile(r"[+-]?[0-9]+")  # one optional sign, ASCII digits
_UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1)}


class AgreementError(ValueError):
    """An agreement refused: ``field`` (a ``BOUNDS`` name or "windows"), ``code`` and the
    numbers in ``params``. Codes: "not_a_number", "required", "range", "choice",
    "windows" (``params["problem"]``), "does_not_fit", "notice_not_before_horizon"."""

    def __init__(self, field: str, code: str, **params: object) -> None:
        self.field, self.code, self.params = field, code, params
        super().__init__(self.describe(field))

    def describe(self, label: str) -> str:
        """The one-line message with ``label`` naming the field (e.g. a CLI option)."""
        p = self.params
        unit = f" {p['unit']}" if p.get("unit") else ""
        if self.code == "not_a_number":
            return f"{label} must be a whole number, not {p['value']!r}"
        if self.code == "required":
            return f"{label} is required"
        if self.code == "range":
            return f"{label} must be between {p['minimum']} and {p['maximum']}{unit}, not {p['value']}"
        if self.code == "below":
            return f"{label} must be at least {p['minimum']}{unit}, not {p['value']}"
        if self.code == "choice":
            options = ", ".join(str(c) for c in p["choices"])
            return f"{label} must be one of {options}{unit}, not {p['value']}"
        if self.code == "windows":
            return f"{label}: {p['problem']}"
        if self.code == "does_not_fit":
            return f"{label} {p['duration']} does not fit in any window (longest: {p['longest']} min)"
        if self.code == "notice_not_before_horizon":
            return (
                f"{label} of {p['notice']} hours must be shorter than the horizon of"
                f" {p['horizon_days']} days ({p['horizon_days'] * 24} hours)"
            )
        return f"{label} is not allowed"


@dataclass(frozen=True)
class Terms:
    """A validated agreement in whole units: minutes, hours (notice), days (horizon)."""

    windows: tuple[Window, ...]
    duration: int
    prep: int
    buffer_after: int
    notice: int
    notice_next_working_day: bool
    horizon_days: int
    max_per_week: int | None
    max_per_month: int | None
    step: int | None
    status_day: int | None

    @property
    def windows_text(self) -> str:
        """The canonical windows text, e.g. ``"tue 16:00-18:00,thu 10:00-12:00"``."""
        return format_windows(self.windows)

    def agreement(self) -> Agreement:
        """The engine's value for these terms."""
        return Agreement(
            windows=self.windows,
            duration=timedelta(minutes=self.duration),
            prep=timedelta(minutes=self.prep),
            buffer_after=timedelta(minutes=self.buffer_after),
            notice=timedelta(hours=self.notice),
            notice_next_working_day=self.notice_next_working_day,
            horizon_days=self.horizon_days,
            max_per_week=self.max_per_week,
            max_per_month=self.max_per_month,
            step=timedelta(minutes=self.step) if self.step else None,
        )


def _whole(bound: Bound, value: object) -> int | None:
    """``value`` as an int (from an int or its decimal text; "" and None are empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if bound.optional:
            return None
        raise AgreementError(bound.name, "required")
    if isinstance(value, bool):
        raise AgreementError(bound.name, "not_a_number", value=value)
    if isinstance(value, int):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else None
        if text is None or _WHOLE.fullmatch(text) is None or len(text) > 12:
            raise AgreementError(bound.name, "not_a_number", value=value)
        number = int(text)
    if not bound.allows(number):
        if bound.choices is not None:
            raise AgreementError(bound.name, "choice", choices=bound.choices, unit=bound.unit,
                                 value=number)
        raise AgreementError(bound.name, "range", minimum=bound.minimum, maximum=bound.maximum,
                             unit=bound.unit, value=number)
    return number


def longest_window(windows: Iterable[Window]) -> int:
    """The longest window's length in minutes (wall-clock)."""
    return max(
        (w.end.hour * 60 + w.end.minute) - (w.start.hour * 60 + w.start.minute) for w in windows
    )


def validate_agreement(
    *,
    windows: str | Iterable[Window],
    duration: object,
    prep: object = 0,
    buffer_after: object = 0,
    notice: object = 24,
    horizon_days: object = 30,
    max_per_week: object = None,
    max_per_month: object = None,
    step: object = None,
    status_day: object = None,
    notice_next_working_day: bool = False,
) -> Terms:
    """The agreement normalised (``Terms``), or ``AgreementError`` for the first problem.

    Numbers may be ints or their decimal text; "" and None mean "empty" for the optional
    fields. Windows are a windows text or parsed ``Window`` values. Checked in this
    order: windows, each field of ``BOUNDS``, the call fits a window, notice < horizon.
    """
    try:
        parsed = parse_windows(windows) if isinstance(windows, str) else tuple(windows)
        format_windows(parsed)
    except ValueError as exc:
        raise AgreementError("windows", "windows", problem=str(exc)) from None
    if not parsed:
        raise AgreementError("windows", "windows", problem="no windows given")
    raw = {
        "duration": duration, "prep": prep, "buffer_after": buffer_after, "notice": notice,
        "horizon_days": horizon_days, "max_per_week": max_per_week,
        "max_per_month": max_per_month, "step": step, "status_day": status_day,
    }
    values = {name: _whole(bound, raw[name]) for name, bound in BOUNDS.items()}
    longest = longest_window(parsed)
    if values["duration"] > longest:
        raise AgreementError("duration", "does_not_fit", duration=values["duration"], longest=longest)
    if values["notice"] >= values["horizon_days"] * 24:
        raise AgreementError("notice", "notice_not_before_horizon", notice=values["notice"],
                             horizon_days=values["horizon_days"])
    return Terms(windows=parsed, notice_next_working_day=bool(notice_next_working_day), **values)


def check_agreement(agreement: Agreement) -> None:
    """``AgreementError`` unless every length of ``agreement`` reaches its ``BOUNDS`` minimum.

    The engine checks the minimums only: below them a computation is meaningless (a call
    of no length, negative preparation, a notice in the past). The maximums and choices
    are limits of what may be agreed, enforced by ``validate_agreement`` where a person
    types the agreement; the engine itself is run with longer spans on purpose (the slot
    cache computes two days past the horizon), and with other steps and caps in its tests.
    """
    lengths = (
        (DURATION, agreement.duration),
        (PREP, agreement.prep),
        (BUFFER_AFTER, agreement.buffer_after),
        (NOTICE, agreement.notice),
    )
    for bound, value in lengths:
        unit = _UNITS[bound.unit]
        if value < bound.minimum * unit:
            raise AgreementError(bound.name, "below", minimum=bound.minimum, unit=bound.unit,
                                 value=_amount(value, bound.unit))
    if agreement.horizon_days < HORIZON.minimum:
        raise AgreementError(HORIZON.name, "below", minimum=HORIZON.minimum, unit=HORIZON.unit,
                             value=agreement.horizon_days)


def _amount(value: timedelta, unit: str) -> str:
    """``value`` as a number of ``unit`` (e.g. "-5", "-0.01667")."""
    count = value / _UNITS[unit]
    return str(int(count)) if count == int(count) else f"{count:.4g}"
