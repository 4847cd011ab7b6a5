"""Half-open time intervals ``[start, end)`` of aware datetimes.

The one interval module: slot computation and conflict checks both use it.

Give it UTC datetimes (``availability`` converts before it merges): Python compares two
datetimes that share a ``tzinfo`` by their wall-clock time and ignores ``fold``, so
intervals in a DST zone would sort wrongly inside the autumn fold.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple


class Interval(NamedTuple):
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        """True if the two share any instant (touching ends do not overlap)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals; empty ones are dropped."""
    ordered = sorted(i for i in intervals if i.start < i.end)
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, end)
        else:
            merged.append(Interval(start, end))
    return merged


class BusyIndex:
    """Merged busy intervals with O(log n) overlap queries."""

    def __init__(self, intervals: Iterable[Interval]):
        self._merged: Sequence[Interval] = merge(intervals)
        self._starts = [i.start for i in self._merged]

    def __len__(self) -> int:
        return len(self._merged)

    def __iter__(self):
        return iter(self._merged)

    def overlapping(self, candidate: Interval) -> Interval | None:
        """The first merged busy interval overlapping ``candidate``, or None."""
        # Merged intervals are disjoint and sorted: only the last one starting at or
        # before candidate.start and the first one starting after it can overlap.
        pos = bisect_right(self._starts, candidate.start)
        for idx in (pos - 1, pos):
            if 0 <= idx < len(self._merged) and self._merged[idx].overlaps(candidate):
                return self._merged[idx]
        return None

    def is_free(self, candidate: Interval) -> bool:
        return self.overlapping(candidate) is None

    def is_free_between(self, start: datetime, end: datetime) -> bool:
        """``is_free(Interval(start, end))`` without building the interval (hot loop)."""
        pos = bisect_right(self._starts, start)
        if pos and self._merged[pos - 1].end > start:
            return False
        return not (pos < len(self._starts) and self._starts[pos] < end)
