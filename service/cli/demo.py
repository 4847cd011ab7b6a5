"""Demo data for ``make run``: a lawyer and two clients with different agreements."""

from __future__ import annotations

import click
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from service.core import urls
from service.core.crypto import decrypt, encrypt
from service.storage.extensions import db
from service.storage.models import (
    Booking,
    BusyBlock,
    Calendar,
    CalendarAccount,
    Client,
    Lawyer,
    token_hash,
)
from service.usecases.clients import create_client

DEMO_EMAIL = "anna@counsel.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the local demo only


def seed() -> None:
    """Seed when the database is empty; print the demo links either way."""
    if db.session.scalar(sa.select(sa.func.count(Lawyer.id))) == 0:
        lawyer = Lawyer(
            name="Anna Keller",
            email=DEMO_EMAIL,
            timezone="Europe/Berlin",
            password_hash=generate_password_hash(DEMO_PASSWORD, method="scrypt"),
            max_per_day=4,
        )
        db.session.add(lawyer)
        create_client(
            lawyer,
            name="Boris Petrov",
            email="boris@client.example",
            matter="Lease dispute, Petrov v. Nordbau GmbH",
            language="ru",
            windows="tue 16:00-18:00,thu 10:00-12:00",
            duration_min=45,
            prep_min=30,
            buffer_min=15,
            notice_hours=24,
            horizon_days=30,
            max_per_week=1,
            status_day=4,
            # Shown to the client, so in the client's language (Russian).
            note="Письменный отчёт о ходе дела — каждую пятницу; срочные вопросы — по электронной почте.",
        )
        create_client(
            lawyer,
            name="Clara Schmidt",
            email="clara@client.example",
            matter="Company formation",
            language="en",
            windows="mon 09:00-12:00,wed 09:00-12:00,fri 14:00-16:00",
            duration_min=30,
            prep_min=15,
            buffer_min=0,
            notice_hours=12,
            horizon_days=21,
            max_per_week=2,
            note="Written questions by e-mail are answered within two working days.",
        )
        db.session.commit()
        click.echo("Seeded the demo lawyer and two demo clients.")
    lawyer = db.session.scalar(sa.select(Lawyer).where(Lawyer.email == DEMO_EMAIL))
    if lawyer is None:
        return
    click.echo(f"Admin login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    for client in db.session.scalars(sa.select(Client).where(Client.lawyer_id == lawyer.id)):
        click.echo(f"Demo client {client.name}: {urls.booking_url(decrypt(client.token_enc))}")


def seed_week(monday) -> None:
    """Calls, prep blocks and calendar busy time in the demo lawyer's week of ``monday``.

    For the week picture's screenshot and browser test; idempotent per week.
    """
    import secrets
    from datetime import datetime, time, timedelta


    lawyer = db.session.scalar(sa.select(Lawyer).where(Lawyer.email == DEMO_EMAIL))
    zone = lawyer.zone
    by_name = {c.name: c for c in db.session.scalars(sa.select(Client).where(Client.lawyer_id == lawyer.id))}
    if "Dmitri Orlov" not in by_name:
        by_name["Dmitri Orlov"], _ = create_client(
            lawyer, name="Dmitri Orlov", email="dmitri@client.example", matter="Employment claim",
            language="en", windows="mon 14:00-16:00,thu 15:00-17:30", duration_min=60, prep_min=45,
            buffer_min=0, notice_hours=48, horizon_days=30, status_day=0,
        )

    def at(offset: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(monday + timedelta(days=offset), time(hour, minute), zone)

    calls = [
        ("Clara Schmidt", 0, 10, 0, "Shareholder agreement: vesting clause, notary date"),
        ("Boris Petrov", 1, 16, 0, "Ответ арендодателя от 12 марта; принимать ли предложение о мировом соглашении"),
        ("Clara Schmidt", 2, 9, 30, "Articles of association, second draft"),
        ("Dmitri Orlov", 3, 15, 0, "Dismissal letter received; deadline for the claim"),
        ("Clara Schmidt", 4, 14, 30, "Bank account opening documents"),
    ]
    for name, day, hour, minute, agenda in calls:
        client = by_name[name]
        start = at(day, hour, minute)
        if db.session.scalar(sa.select(Booking.id).where(Booking.client_id == client.id, Booking.start == start)):
            continue
        end = start + timedelta(minutes=client.duration_min)
        manage = secrets.token_urlsafe(24)
        db.session.add(Booking(
            uid=secrets.token_hex(16), lawyer_id=lawyer.id, client_id=client.id, start=start, end=end,
            blocked_start=start - timedelta(minutes=client.prep_min),
            blocked_end=end + timedelta(minutes=client.buffer_min),
            name=client.name, email=client.email, agenda=agenda,
            manage_token_hash=token_hash(manage), manage_token_enc=encrypt(manage),
        ))
    account = db.session.scalar(sa.select(CalendarAccount).where(CalendarAccount.lawyer_id == lawyer.id))
    if account is None:
        account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="https://calendar.example/…",
                                  config={"display": "https://calendar.example/…"})
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id="feed", name="Office", conflict=True))
        db.session.add(account)
        db.session.flush()
    calendar = account.calendars[0]
    busy = [(0, 12, 30, 13, 30), (1, 9, 0, 12, 0), (2, 13, 0, 15, 0), (3, 10, 30, 11, 30), (4, 9, 0, 10, 0)]
    for day, h1, m1, h2, m2 in busy:
        key = f"demo-{(monday + timedelta(days=day)).isoformat()}-{h1}"
        if not db.session.scalar(sa.select(BusyBlock.id).where(BusyBlock.key == key)):
            db.session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=lawyer.id, key=key,
                                     start=at(day, h1, m1), end=at(day, h2, m2)))
    db.session.commit()
