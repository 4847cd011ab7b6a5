"""The lawyer's booking lock on PostgreSQL: the lawyer's row, locked ``FOR UPDATE`` by
the statement that begins a new booking's decision, serialises every write of the
lawyer's bookings (cadence and caps included). SQLite needs none: its writers are one at
a time (``BEGIN IMMEDIATE``).

The statement that takes the lock also draws the new booking's key (``NEXT_BOOKING_ID``),
so that the booking's rows can be written in one statement (``inserts.together``). A
client's booking takes it with the very query that finds the link (``links.find_client``
with ``lock``: one statement fewer, #19) and notes it here; the booking's transaction
then asks ``held`` instead of locking again. The note is good for the transaction that
took the lock only: once it ends (a commit before a calendar server is asked, say), the
lock is gone and the booking takes it anew. A change of a booking (a move, a cancel)
takes the lock alone (``take``).
"""

from __future__ import annotations

import sqlalchemy as sa

from service.storage.extensions import db
from service.storage.models import Lawyer

#: The next key of ``booking.id``, drawn beside the lock (a refused booking leaves a gap,
#: as a rolled-back INSERT does).
NEXT_BOOKING_ID = sa.func.nextval(sa.func.pg_get_serial_sequence("booking", "id"))

_KEY = "lawyer_lock"


def take(lawyer_id: int) -> None:
    """Lock ``lawyer_id``'s row for the current transaction (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` serialises writers anyway)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.select(Lawyer.id).where(Lawyer.id == lawyer_id).with_for_update())


def note(lawyer_id: int, booking_id: int) -> None:
    """The current transaction has locked ``lawyer_id``'s row and drawn ``booking_id``."""
    session = db.session()  # the request's Session behind the scoped_session
    session.info[_KEY] = (session.get_transaction(), lawyer_id, booking_id)


def held(lawyer_id: int) -> int | None:
    """The booking key drawn with the lock on ``lawyer_id`` if the current transaction
    holds that lock (``note``), else None. The note is handed out once."""
    session = db.session()
    noted = session.info.pop(_KEY, None)
    if noted is None:
        return None
    transaction, locked_id, booking_id = noted
    current = session.get_transaction()
    if current is None or transaction is not current or locked_id != lawyer_id:
        return None
    return booking_id
