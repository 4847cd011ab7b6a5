"""Written status updates owed to clients ("a status letter every Friday").

An agreement may name a weekday (``Client.status_day``); the lawyer records the day an
update went out (``Client.status_updated_on``). When an update is owed is the domain's
rule (``booking.status_updates.state``); this module reads the clients it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from booking.status_updates import DUE, OVERDUE, SOON, state
from service.storage.extensions import db
from service.storage.models import Client, Lawyer


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
