"""Calls the lawyer books or moves: inside the agreement, or outside it on purpose.

``check_lawyer_start`` is ``availability.check_start`` for the lawyer's side. Without
``outside_terms`` it applies every rule of the agreement (windows, step, notice, horizon,
days off, cadence, caps), exactly as the client's link does. With ``outside_terms`` (the
lawyer's override) only two rules remain: the call starts in the future, and the call
with its preparation and buffer touches no other booking of the lawyer.

Busy time from the lawyer's calendars is refused unless ``over_busy`` (the lawyer saw the
clash and confirmed it). Another booking is never overlapped, not even when confirmed:
the database forbids two overlapping bookings of one lawyer (an exclusion constraint /
triggers), and a lawyer cannot hold two calls at once; move or cancel the other call first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from booking.availability import (
    SlotRefused,
    _blocks,
    _Rules,
    _show,
    _slot,
    check_start,
    refuse_collision,
)
from booking.intervals import Interval
from booking.model import Agreement, BookedCall, LawyerRules, Slot
from booking.walltime import to_utc


def check_lawyer_start(
    agreement: Agreement,
    lawyer: LawyerRules,
    *,
    client: object,
    now: datetime,
    busy: Iterable[Interval] = (),
    bookings: Iterable[BookedCall] = (),
    start: datetime,
    outside_terms: bool = False,
    over_busy: bool = False,
) -> Slot:
    """The slot at ``start`` for a call the lawyer books, or ``SlotRefused``.

    Reasons beyond ``check_start``'s: ``other_booking`` (the call or its preparation
    overlaps another booking; never overridable).
    """
    bookings = list(bookings)
    busy = list(busy)
    tz = lawyer.timezone
    call_start = to_utc(start, "start")
    if outside_terms:
        _Rules.build(agreement, lawyer, now)  # the agreement's own bounds still hold
        if call_start < to_utc(now, "now"):
            raise SlotRefused("past", f"{_show(call_start, tz)} is in the past")
        slot = _slot(call_start, agreement)
    else:
        try:
            slot = check_start(
                agreement, lawyer, client=client, now=now, busy=(), bookings=bookings, start=start
            )
        except SlotRefused as exc:
            if exc.reason != "busy":
                raise
            slot = _slot(call_start, agreement)
    refuse_collision("other_booking", "overlaps another call booked", slot,
                     _blocks((), bookings, slot.prep_start, slot.blocked_end), tz)
    if not over_busy:
        refuse_collision("busy", "collides with busy time in your calendar", slot,
                         _blocks(busy, (), slot.prep_start, slot.blocked_end), tz)
    return slot
