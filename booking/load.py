"""The week's commitments: what the agreements promise, against what the lawyer can give.

Each agreement commits, per week, its cadence × (call + preparation + buffer), plus its
status letters × the minutes the lawyer spends on one letter. The cadence is the agreed
cap: calls a week, or calls a month spread over the weeks of a year (× 12 / 52), the
smaller when both are set. An agreement without a cap has no measurable cadence: it
commits only its letters and is reported as uncapped. Exact fractions are summed and
rounded to whole minutes once, at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_LETTER_MINUTES = 20
WEEKS_PER_MONTH = Fraction(52, 12)


@dataclass(frozen=True)
class Commitment:
    """One agreement's terms that commit time, in minutes."""

    key: object  # the client, opaque
    duration: int
    prep: int = 0
    buffer: int = 0
    max_per_week: int | None = None
    max_per_month: int | None = None
    letters_per_week: int = 0  # 1 with a weekly status day

    def calls_per_week(self) -> Fraction | None:
        rates = []
        if self.max_per_week is not None:
            rates.append(Fraction(self.max_per_week))
        if self.max_per_month is not None:
            rates.append(Fraction(self.max_per_month) / WEEKS_PER_MONTH)
        return min(rates) if rates else None

    def minutes(self, letter_minutes: int) -> Fraction:
        calls = self.calls_per_week() or Fraction(0)
        return calls * (self.duration + self.prep + self.buffer) + self.letters_per_week * letter_minutes


@dataclass(frozen=True)
class Load:
    calls: int  # committed minutes a week for calls (with prep and buffer)
    letters: int  # committed minutes a week for status letters
    uncapped: tuple[object, ...]  # keys of agreements without a cadence

    @property
    def total(self) -> int:
        return self.calls + self.letters


def committed(commitments: Iterable[Commitment], letter_minutes: int = DEFAULT_LETTER_MINUTES) -> Load:
    calls = letters = Fraction(0)
    uncapped = []
    for c in commitments:
        rate = c.calls_per_week()
        if rate is None:
            uncapped.append(c.key)
        else:
            calls += rate * (c.duration + c.prep + c.buffer)
        letters += c.letters_per_week * letter_minutes
    whole_calls = round(calls)
    # Round the sum once, so calls + letters is the rounded total.
    return Load(calls=whole_calls, letters=round(calls + letters) - whole_calls, uncapped=tuple(uncapped))


def replaced(commitments: Iterable[Commitment], new: Commitment) -> list[Commitment]:
    """The commitments with ``new`` in place of the one with the same key (or added)."""
    return [c for c in commitments if c.key != new.key] + [new]


def over_capacity(load: Load, capacity: int | None) -> int | None:
    """Minutes a week the committed load exceeds ``capacity`` by; None when it does not
    (or no capacity is set)."""
    if capacity is None or load.total <= capacity:
        return None
    return load.total - capacity
