"""Letter tests: the SMTP server of the mail tests, a signed-in lawyer, booking factories."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.admin.conftest import PASSWORD, log_in
from tests.mail.conftest import smtp  # noqa: F401 - the aiosmtpd fixture

SINCE = datetime(2026, 2, 1, 9, tzinfo=UTC)  # the agreements in these tests began then


@pytest.fixture
def lawyer(make_lawyer):
    from werkzeug.security import generate_password_hash

    return make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))


@pytest.fixture
def admin(client, lawyer):
    assert log_in(client, lawyer.email).status_code == 302
    return client


@pytest.fixture
def agreed(db, make_client, lawyer):
    """``agreed(**fields) -> (client, token)``: a client of ``lawyer`` since ``SINCE``."""

    def make(**fields):
        client, token = make_client(lawyer=lawyer, **fields)
        client.created_at = SINCE
        db.session.commit()
        return client, token

    return make


def add_booking(db, client, start: datetime, agenda="Agenda", notes="", for_letter=False, minutes=30,
                prep=30, outcome=None, status="confirmed"):
    from service.storage.models import Booking

    booking = Booking(uid=secrets.token_hex(16), lawyer_id=client.lawyer_id, client_id=client.id,
                      start=start, end=start + timedelta(minutes=minutes),
                      blocked_start=start - timedelta(minutes=prep), blocked_end=start + timedelta(minutes=minutes),
                      name=client.name, email=client.email, agenda=agenda, notes=notes, for_letter=for_letter,
                      outcome=outcome, status=status,
                      manage_token_hash=secrets.token_hex(32), manage_token_enc="x")
    db.session.add(booking)
    db.session.commit()
    return booking
