"""Whether a client may still move or cancel a booked call themselves.

The agreed notice works both ways: a call cannot be booked later than the notice before
it, and it cannot be changed online later than that either (the lawyer has started
preparing). Exactly at the deadline it is too late.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

ChangeRefusal = Literal["cancelled", "too_late"]


def change_deadline(start: datetime, notice: timedelta) -> datetime:
    """The last instant (exclusive) a call starting at ``start`` may be changed online."""
    return start - notice


def may_change(
    *, active: bool, start: datetime, notice: timedelta, now: datetime
) -> ChangeRefusal | None:
    """None if the client may move or cancel the call now, else why not.

    ``active``: the booking still stands (not cancelled). "cancelled" wins over
    "too_late": a cancelled call cannot be changed whenever it was.
    """
    if not active:
        return "cancelled"
    if now >= change_deadline(start, notice):
        return "too_late"
    return None
