"""Demo data for ``make run``: a lawyer and two clients with different agreements."""

from __future__ import annotations

import click
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from service.cli import client_url, create_client
from service.crypto import decrypt
from service.extensions import db
from service.models import Client, Lawyer

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
            note="Status letter every Friday; urgent matters by e-mail.",
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
        click.echo(f"Demo client {client.name}: {client_url(decrypt(client.token_enc))}")
