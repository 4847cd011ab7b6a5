"""Weekly consultation windows as text: ``"tue 16:00-18:00,thu 10:00-12:00"``.

``parse_windows`` is what the CLI and the admin form use; ``format_windows`` gives the
canonical form back (3-letter lowercase weekday, ``HH:MM``, sorted, comma-separated), so
``parse_windows(format_windows(ws)) == ws``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import time

from booking.model import WEEKDAYS, Window

_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NUMBERS = {name: n for n, name in enumerate(WEEKDAYS)} | {
    name: n for n, name in enumerate(_FULL_NAMES)
}
_WINDOW_RE = re.compile(r"(?P<day>\S+)\s+(?P<start>\S+?)\s*-\s*(?P<end>\S+)")
_TIME_RE = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})")


def parse_weekday(text: str) -> int:
    """``"tue"`` / ``"Tuesday"`` → 1 (Monday is 0). Raises ``ValueError`` otherwise."""
    number = _WEEKDAY_NUMBERS.get(text.strip().lower())
    if number is None:
        raise ValueError(
            f"unknown weekday {text.strip()!r} (use mon, tue, wed, thu, fri, sat, sun)"  # pragma: no mutate
        )
    return number


def _parse_time(text: str, part: str) -> time:
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"bad time {text!r} in {part!r} (use HH:MM)")  # pragma: no mutate
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(
            f"bad time {text!r} in {part!r} (hours 0-23, minutes 0-59)"  # pragma: no mutate
        )
    return time(hour, minute)


def _parse_one(part: str) -> Window:
    match = _WINDOW_RE.fullmatch(part)
    if match is None:
        raise ValueError(
            f"bad window {part!r} (expected like 'tue 16:00-18:00')"  # pragma: no mutate
        )
    try:
        weekday = parse_weekday(match["day"])
    except ValueError as exc:
        raise ValueError(f"{exc} in {part!r}") from None  # pragma: no mutate
    start = _parse_time(match["start"], part)
    end = _parse_time(match["end"], part)
    if end <= start:
        raise ValueError(f"window {part!r} must end after it starts")  # pragma: no mutate
    return Window(weekday, start, end)


@functools.lru_cache(maxsize=4096)
def parse_windows(text: str) -> tuple[Window, ...]:
    """Parse comma-separated weekly windows; sorted by weekday and start.

    Raises ``ValueError`` with a one-line message naming the bad part for an unknown
    weekday, a bad time, an end not after the start, empty text, or two windows that
    overlap on the same day (touching windows are fine).

    Remembered per text (the answer is immutable): a booking asks for its client's
    agreement twice and each slot list once, and parsing was 3 % of a booking (#19).
    """
    if not text or not text.strip():
        raise ValueError(
            "no windows given (expected like 'tue 16:00-18:00,thu 10:00-12:00')"  # pragma: no mutate
        )
    windows = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            raise ValueError(
                f"empty window in {text.strip()!r} (stray comma?)"  # pragma: no mutate
            )
        windows.append(_parse_one(part))
    windows.sort()
    for before, after in zip(windows, windows[1:], strict=False):
        if before.weekday == after.weekday and after.start < before.end:
            raise ValueError(
                f"windows {_format_one(before)!r} and {_format_one(after)!r} overlap"  # pragma: no mutate
            )
    return tuple(windows)


def _format_time(value: time) -> str:
    if value.second or value.microsecond:
        raise ValueError(
            f"window time {value.isoformat()} is not a whole minute"  # pragma: no mutate
        )
    return f"{value.hour:02d}:{value.minute:02d}"


def _format_one(window: Window) -> str:
    return f"{WEEKDAYS[window.weekday]} {_format_time(window.start)}-{_format_time(window.end)}"


def format_windows(windows: Iterable[Window]) -> str:
    """The canonical text of ``windows``: ``"tue 16:00-18:00,thu 10:00-12:00"``."""
    return ",".join(_format_one(w) for w in sorted(windows))
