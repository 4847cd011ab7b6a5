"""Honest demand: how much of the week's agreed consultation time is already taken.

The agreed hours are the union of every active agreement's windows in the week (outside
the lawyer's days off); the taken part is where booked calls (with their preparation and
buffer) or busy time in the lawyer's calendar cover them. Nothing is padded: both figures
come from the same intervals the slots are computed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from booking.intervals import Interval, merge


@dataclass(frozen=True)
class Demand:
    taken_minutes: int
    agreed_minutes: int


def _minutes(delta: timedelta) -> float:
    return delta / timedelta(minutes=1)


def week_demand(windows: Iterable[Interval], taken: Iterable[Interval]) -> Demand:
    """Minutes of the windows' union, and of it the minutes covered by ``taken`` (UTC)."""
    agreed = merge(windows)
    covered = merge(taken)
    total = sum(_minutes(w.end - w.start) for w in agreed)
    used = 0.0
    j = 0
    for w in agreed:  # both lists are sorted and disjoint: one sweep
        while j < len(covered) and covered[j].end <= w.start:
            j += 1
        k = j
        while k < len(covered) and covered[k].start < w.end:
            used += _minutes(min(w.end, covered[k].end) - max(w.start, covered[k].start))
            k += 1
    return Demand(taken_minutes=round(used), agreed_minutes=round(total))
