"""When a written status update is owed ("a status letter every Friday").

An agreement may name a weekday for the update; the lawyer records the day an update
went out. An update sent up to ``EARLY`` days before the due day counts for it, so
Thursday's letter settles Friday.
"""

from __future__ import annotations

from datetime import date, timedelta

EARLY = timedelta(days=2)

DUE, OVERDUE, SOON = "due", "overdue", "soon"


def state(status_day: int, last_sent: date | None, since: date, today: date) -> tuple[str, date] | None:
    """``(state, due day)`` for one agreement on ``today``, or None when nothing is owed.

    ``status_day``: 0 = Monday. ``since`` is the day the agreement started: the first
    update is due on the first status day after it. States: "due" (today), "overdue" (an
    earlier due day was missed), "soon" (due within ``EARLY`` days and not yet sent).
    """

    def covered(day: date) -> bool:
        return last_sent is not None and last_sent >= day - EARLY

    last_due = today - timedelta(days=(today.weekday() - status_day) % 7)
    if since < last_due and not covered(last_due):
        return (DUE if last_due == today else OVERDUE), last_due
    next_due = last_due + timedelta(days=7)
    if next_due - today <= EARLY and since < next_due and not covered(next_due):
        return SOON, next_due
    return None


def next_due(status_day: int, last_sent: date | None, since: date, today: date) -> date:
    """The status day the next letter is due for: an owed one (possibly past), else the
    first coming status day that no letter sent so far covers."""
    owed = state(status_day, last_sent, since, today)
    if owed is not None:
        return owed[1]
    day = today + timedelta(days=(status_day - today.weekday()) % 7)
    while day <= since or (last_sent is not None and last_sent >= day - EARLY):
        day += timedelta(days=7)
    return day
