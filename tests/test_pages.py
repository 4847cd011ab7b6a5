"""The client's pages: booking, confirmation, manage (cancel, reschedule), the .ics file."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from service.storage.models import Booking, OutboxTask, token_hash
from service.web import formtoken

WED_14 = "2026-03-04T13:00:00+00:00"


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def slot_starts(html: str) -> list[str]:
    return re.findall(r'data-slot-start="([^"]+)"', html)


def post_booking(client, token, start=WED_14, **fields):
    page = client.get(f"/b/{token}").get_data(as_text=True)
    data = {
        "form_token": form_token(page),
        "start": start,
        "name": "Boris Petrov",
        "email": "boris@client.example",
        "agenda": "Lease <b>termination</b> & deposit",
    }
    data.update(fields)
    return client.post(f"/b/{token}", data=data)


def test_booking_page_shows_terms_and_slots_in_client_zone(client, make_client, frozen):
    _, token = make_client(
        note="Status letter every Friday; urgent matters by e-mail.", max_per_week=1
    )
    response = client.get(f"/b/{token}?tz=America/New_York")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Anna Keller" in html
    assert "Status letter every Friday" in html
    assert "At most 1 call a week." in html
    assert "Calls of 30 minutes" in html
    assert slot_starts(html)[0] == WED_14
    assert "8:00" in html  # 14:00 Berlin is 08:00 in New York
    for field in ("name", "email", "agenda"):
        assert f'name="{field}"' in html
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_unknown_zone_falls_back_to_lawyer_zone(client, make_client, frozen):
    _, token = make_client()
    html = client.get(f"/b/{token}?tz=Not/AZone").get_data(as_text=True)
    assert '<option value="Europe/Berlin" selected>' in html


@pytest.mark.db_matrix
def test_book_through_the_page_then_manage(client, make_client, frozen, db):
    _, token = make_client()
    response = post_booking(client, token)
    assert response.status_code == 303
    manage = client.get(response.headers["Location"])
    html = manage.get_data(as_text=True)
    booking = db.session.scalar(sa.select(Booking))
    assert f'data-booking-uid="{booking.uid}"' in html
    assert "Lease &lt;b&gt;termination&lt;/b&gt; &amp; deposit" in html  # escaped
    ics_path = re.search(r'href="([^"]+invite\.ics)"', html).group(1)
    ics = client.get(ics_path)
    assert ics.mimetype == "text/calendar"
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("dtstart").isoformat() == WED_14
    assert str(event["uid"]).startswith(booking.uid)


def test_form_errors_keep_the_entries_and_write_nothing(client, make_client, frozen, db):
    _, token = make_client()
    response = post_booking(client, token, agenda="", name="Boris P.")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "data-error" in html and "Boris P." in html
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    missing_start = post_booking(client, token, start="")
    assert missing_start.status_code == 422


def test_forged_or_missing_form_token_is_refused(client, make_client, frozen, db):
    _, token = make_client()
    _, other = make_client(email="other@client.example")
    other_page = client.get(f"/b/{other}").get_data(as_text=True)
    response = client.post(
        f"/b/{token}",
        data={
            "form_token": form_token(other_page),
            "start": WED_14,
            "name": "X",
            "email": "x@client.example",
            "agenda": "y",
        },
    )
    assert response.status_code == 400
    assert client.post(f"/b/{token}", data={"start": WED_14}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_get_never_changes_anything(client, make_client, frozen, db):
    _, token = make_client()
    location = post_booking(client, token).headers["Location"]
    manage_token = location.split("/m/")[1].split("?")[0]
    for path in (f"/m/{manage_token}/cancel", f"/m/{manage_token}/reschedule"):
        assert client.get(path).status_code == 405
    assert db.session.scalar(sa.select(Booking)).status == "confirmed"


@pytest.mark.db_matrix
def test_cancel_and_reschedule(client, make_client, frozen, db):
    _, token = make_client()
    location = post_booking(client, token).headers["Location"]
    manage_token = location.split("/m/")[1].split("?")[0]
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert WED_14 not in slot_starts(page)  # its own slot is not offered again...
    assert "2026-03-04T13:30:00+00:00" in slot_starts(page)  # ...but its neighbours are
    moved = client.post(
        f"/m/{manage_token}/reschedule",
        data={"form_token": form_token(page), "start": "2026-03-09T09:00:00+00:00"},
    )
    assert moved.status_code == 303
    booking = db.session.scalar(sa.select(Booking))
    assert booking.start.isoformat() == "2026-03-09T09:00:00+00:00" and booking.sequence == 1
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    asked = client.post(f"/m/{manage_token}/cancel", data={"form_token": form_token(page)})
    assert asked.status_code == 200 and "data-confirm-cancel" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Booking)).status == "confirmed"  # not before the confirmation
    cancelled = client.post(f"/m/{manage_token}/cancel", data={"form_token": form_token(page), "confirm": "yes"})
    assert cancelled.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(sa.select(Booking)).status == "cancelled"
    # The freed slot is offered again.
    assert "2026-03-09T09:00:00+00:00" in slot_starts(
        client.get(f"/b/{token}").get_data(as_text=True)
    )
    events = [
        t.payload["event"]
        for t in db.session.scalars(
            sa.select(OutboxTask).where(OutboxTask.kind == "mail.booking").order_by(OutboxTask.id)
        )
    ]
    assert events == ["booked", "booked", "rescheduled", "rescheduled", "cancelled", "cancelled"]
    again = client.post(f"/m/{manage_token}/cancel", data={"form_token": form_token(page)})
    assert again.status_code == 409


@pytest.mark.db_matrix
def test_changes_close_at_the_notice_deadline(client, make_client, frozen, db):
    _, token = make_client()
    location = post_booking(client, token).headers["Location"]
    manage_token = location.split("/m/")[1].split("?")[0]
    frozen.move_to("2026-03-03T13:30:00+00:00")  # 23.5 h before the call, notice is 24 h
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "too close to be changed online" in page and "Cancel the call" not in page
    fresh_token = formtoken.issue("manage", token_hash(manage_token))  # a still-valid form
    response = client.post(f"/m/{manage_token}/cancel", data={"form_token": fresh_token})
    assert response.status_code == 409
    assert db.session.scalar(sa.select(Booking)).status == "confirmed"


@pytest.mark.parametrize("path", ["/b/nope", "/b/" + "a" * 40, "/m/" + "b" * 40, "/m/x/invite.ics"])
def test_unknown_tokens_are_404_pages(client, make_client, frozen, path):
    make_client()
    response = client.get(path)
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_russian_client_gets_russian_page(client, make_client, frozen):
    _, token = make_client(language="ru")
    html = client.get(f"/b/{token}").get_data(as_text=True)
    assert '<html lang="ru">' in html
