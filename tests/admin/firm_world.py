"""A small world of two firms for role tests: lawyers A and B in firm 1 (A administers
it), an assistant of A, an assistant of B, and the admin of firm 2; A has a client with a
booking, a calendar connection and a dead outbox task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from werkzeug.security import generate_password_hash

from service.storage import outbox
from service.storage.models import (
    Assignment,
    Booking,
    Calendar,
    CalendarAccount,
    Lawyer,
    User,
    new_token,
    token_hash,
)
from service.usecases import firms
from tests.admin.conftest import PASSWORD

SECRET_NAME = "Zinaida Secretclient"
SECRET_EMAIL = "zinaida@secret.example"
SECRET_AGENDA = "Hidden merger of Vostok and Zapad"


@dataclass
class World:
    firm1: object
    firm2: object
    lawyer_a: Lawyer
    lawyer_b: Lawyer
    assistant_a: User
    assistant_b: User
    admin_2: User
    client_a: object
    booking_a: Booking
    account_a: CalendarAccount
    calendar_a: Calendar
    task_a: object


def _hash() -> str:
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def build(db, make_client) -> World:
    firm1 = firms.create_firm("Keller & Partner", "keller")
    firm2 = firms.create_firm("Other Firm", "other")
    db.session.flush()
    lawyer_a = Lawyer(name="Anna Keller", email="anna@keller.example", timezone="Europe/Berlin",
                      password_hash=_hash(), firm_id=firm1.id, firm_admin=True)
    lawyer_b = Lawyer(name="Boris Brandt", email="boris@keller.example", timezone="Europe/Berlin",
                      password_hash=_hash(), firm_id=firm1.id)
    db.session.add_all([lawyer_a, lawyer_b])
    db.session.flush()
    assistant_a = User(firm_id=firm1.id, email="asya@keller.example", name="Asya", role="assistant",
                       password_hash=_hash())
    assistant_b = User(firm_id=firm1.id, email="bella@keller.example", name="Bella", role="assistant",
                       password_hash=_hash())
    admin_2 = User(firm_id=firm2.id, email="root@other.example", name="Other admin", role="admin",
                   password_hash=_hash())
    db.session.add_all([assistant_a, assistant_b, admin_2])
    db.session.flush()
    db.session.add_all([Assignment(user_id=assistant_a.id, lawyer_id=lawyer_a.id),
                        Assignment(user_id=assistant_b.id, lawyer_id=lawyer_b.id)])
    db.session.commit()
    client_a, _ = make_client(lawyer=lawyer_a, name=SECRET_NAME, email=SECRET_EMAIL, matter="Merger")
    start = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    booking_a = Booking(uid="u-a", lawyer_id=lawyer_a.id, client_id=client_a.id, start=start,
                        end=start + timedelta(minutes=30), blocked_start=start - timedelta(minutes=30),
                        blocked_end=start + timedelta(minutes=30), name=SECRET_NAME, email=SECRET_EMAIL,
                        agenda=SECRET_AGENDA, manage_token_hash=token_hash(new_token()), manage_token_enc="x")
    account_a = CalendarAccount(lawyer_id=lawyer_a.id, kind="ics", label="Anna's feed", config={})
    db.session.add_all([booking_a, account_a])
    db.session.flush()
    calendar_a = Calendar(account_id=account_a.id, lawyer_id=lawyer_a.id, remote_id="feed", name="Feed")
    db.session.add(calendar_a)
    task_a = outbox.enqueue("mail.booking", {"booking_id": booking_a.id}, lawyer_id=lawyer_a.id)
    task_a.status = "dead"
    db.session.commit()
    return World(firm1, firm2, lawyer_a, lawyer_b, assistant_a, assistant_b, admin_2, client_a, booking_a,
                 account_a, calendar_a, task_a)
