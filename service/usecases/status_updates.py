"""Written status updates owed to clients ("a status letter every Friday").

An agreement may name a weekday (``Client.status_day``); the lawyer records the day an
update went out (``Client.status_updated_on``). An update sent up to ``EARLY`` days
before the due day counts for it, so Thursday's letter settles Friday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from service.storage.extensions import db
from service.storage.models import Client, Lawyer

EARLY = timedelta(days=2)

DUE, OVERDUE, SOON = "due", "overdue", "soon"


def state(status_day: int, last_sent: date | None, since: date, today: date) -> tuple[str, date] | None:
    """``(state, due day)`` for one agreement on ``today``, or None when nothing is owed.

    ``since`` is the day the agreement started: the first update is due on the first
    status day after it. States: "due" (today), "overdue" (an earlier due day was
    missed), "soon" (due within ``EARLY`` days and not yet sent).
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


@dataclass(frozen=True)
class OwedUpdate:
    client: Client
    state: str
    due_on: date

    @property
    def last_sent(self) -> date | None:
        return self.client.status_updated_on


def lawyer_today(lawyer: Lawyer, now: datetime) -> date:
    return now.astimezone(lawyer.zone).date()


def owed_updates(lawyer: Lawyer, now: datetime, states: tuple[str, ...] = (DUE, OVERDUE, SOON)) -> list[OwedUpdate]:
    """The status updates the lawyer owes on the lawyer's today, most urgent first."""
    today = lawyer_today(lawyer, now)
    clients = db.session.scalars(
        sa.select(Client)
        .where(Client.lawyer_id == lawyer.id, Client.status == "active", Client.status_day.is_not(None))
        .order_by(Client.name, Client.id)
    )
    owed = []
    for client in clients:
        since = client.created_at.astimezone(lawyer.zone).date()
        result = state(client.status_day, client.status_updated_on, since, today)
        if result is not None and result[0] in states:
            owed.append(OwedUpdate(client, *result))
    order = {OVERDUE: 0, DUE: 1, SOON: 2}
    return sorted(owed, key=lambda o: (order[o.state], o.due_on))
