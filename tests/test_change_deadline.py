"""The manage page and the cancel/reschedule writes share booking.changes' deadline."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from service.storage.models import Booking, token_hash
from service.web import formtoken
from tests.test_pages import post_booking

SECOND = timedelta(seconds=1)


def booked(client, make_client) -> str:
    _, token = make_client()
    location = post_booking(client, token).headers["Location"]
    return location.split("/m/")[1].split("?")[0]


def test_manage_page_and_cancel_agree_one_second_before_the_deadline(client, make_client, frozen, db):
    manage_token = booked(client, make_client)
    booking = db.session.scalar(sa.select(Booking))
    frozen.move_to((booking.start - booking.client.agreement().notice - SECOND).isoformat())
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "Cancel the call" in page
    fresh = formtoken.issue("manage", token_hash(manage_token))
    assert client.post(f"/m/{manage_token}/cancel", data={"form_token": fresh, "confirm": "yes"}).status_code == 303
    assert db.session.scalar(sa.select(Booking)).status == "cancelled"


def test_manage_page_and_cancel_agree_exactly_at_the_deadline(client, make_client, frozen, db):
    """Exactly at the deadline both the page and the write say it is too late."""
    manage_token = booked(client, make_client)
    booking = db.session.scalar(sa.select(Booking))
    frozen.move_to((booking.start - booking.client.agreement().notice).isoformat())
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "too close to be changed online" in page and "Cancel the call" not in page
    fresh = formtoken.issue("manage", token_hash(manage_token))
    assert client.post(f"/m/{manage_token}/cancel", data={"form_token": fresh}).status_code == 409
    assert db.session.scalar(sa.select(Booking)).status == "confirmed"
