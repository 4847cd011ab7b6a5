"""How a call happens: phone numbers in and out, video links, the office, on every surface
(JSON, pages, invite, CLI), and switching channel on the manage page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from service.storage.models import Booking, Client
from tests.test_pages import form_token


def booking_form_token(client, token: str) -> str:
    return form_token(client.get(f"/b/{token}").get_data(as_text=True))

WED_14 = "2026-03-04T13:00:00+00:00"
WED_15 = "2026-03-04T14:00:00+00:00"


def book(client, token, start=WED_14, **extra):
    body = {"token": token, "start": start, "name": "Boris Petrov", "email": "boris@client.example",
            "agenda": "Lease", **extra}
    return client.post("/api/v1/bookings", json=body)


@pytest.mark.parametrize(
    ("typed", "extra", "client_fields", "stored"),
    [
        ("+7 912 345-67-89", {}, {}, "+79123456789"),
        ("8 (912) 345 67 89", {}, {"language": "ru"}, "+79123456789"),
        ("8 (912) 345 67 89", {"tz": "Europe/Moscow"}, {}, "+79123456789"),
        ("030 1234567", {"tz": "Europe/Berlin"}, {}, "+49301234567"),
        ("(201) 555-0123", {"region": "us"}, {}, "+12015550123"),
        ("07400 123456", {"tz": "Europe/London"}, {}, "+447400123456"),
        ("+33 1 23 45 67 89", {"tz": "Asia/Tokyo"}, {}, "+33123456789"),
    ],
)
def test_phone_numbers_from_several_countries_are_stored_as_e164(
    frozen, client, make_client, db, typed, extra, client_fields, stored
):
    _, token = make_client(channels="phone", **client_fields)
    response = book(client, token, phone=typed, **extra)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["channel"] == "phone" and body["phone"] == stored
    assert "join_url" not in body
    booking = db.session.scalar(sa.select(Booking))
    assert booking.phone == stored and booking.channel == "phone"
    assert db.session.scalar(sa.select(Client.phone)) == stored  # remembered for next time


@pytest.mark.parametrize("typed", ["call me maybe", "+7 123", "12345", "8 (912) 345 67 89", "", "+" + "9" * 60])
def test_garbage_phone_numbers_are_422_and_nothing_is_booked(frozen, client, make_client, db, typed):
    """"8 (912) ..." without a region (English client, no zone) cannot be read: 422, not a guess."""
    _, token = make_client(channels="phone")
    response = book(client, token, phone=typed)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_phone"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_a_channel_outside_the_agreement_is_refused(frozen, client, make_client, db):
    _, token = make_client(channels="video")
    response = book(client, token, channel="office")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_channel"
    assert book(client, token, channel="fax").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_national_display_for_the_clients_country_international_for_others(frozen, client, make_client, db):
    _, token = make_client(channels="phone", language="ru")
    manage_url = book(client, token, phone="+7 912 345-67-89").get_json()["manage_url"]
    page = client.get(manage_url.replace("http://counsel.test", "")).get_data(as_text=True)
    assert "8 (912) 345-67-89" in page
    booking = db.session.scalar(sa.select(Booking))
    from service.usecases import channels

    assert channels.phone_display(booking.phone, "DE") == "+7 912 345-67-89"


def test_video_links_are_jitsi_rooms_unique_per_call_and_unguessable(frozen, client, make_client, db):
    _, token = make_client()
    first = book(client, token).get_json()
    second = book(client, token, start=WED_15).get_json()
    assert first["channel"] == second["channel"] == "video"
    for body in (first, second):
        assert re.fullmatch(r"https://meet\.jit\.si/CounselHours-[0-9a-f]{32}", body["join_url"])
        assert body["location"] == body["join_url"]
    assert first["join_url"] != second["join_url"]


@pytest.mark.parametrize("app_overrides", [{"JITSI_BASE_URL": "https://jitsi.firm.example/rooms"}])
def test_jitsi_base_url_is_configurable(frozen, client, make_client, app_overrides):
    _, token = make_client()
    assert book(client, token).get_json()["join_url"].startswith("https://jitsi.firm.example/rooms/CounselHours-")


def test_office_calls_carry_the_lawyers_address(frozen, client, make_client, make_lawyer, db):
    lawyer = make_lawyer(office_address="Friedrichstraße 10, 10117 Berlin")
    _, token = make_client(lawyer=lawyer, channels="office")
    body = book(client, token).get_json()
    assert body["channel"] == "office" and body["location"] == "Friedrichstraße 10, 10117 Berlin"
    assert "join_url" not in body
    ics = client.get(body["manage_url"].replace("http://counsel.test", "") + "/invite.ics")
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["LOCATION"]) == "Friedrichstraße 10, 10117 Berlin"


def test_invite_carries_location_url_description_and_a_valarm(frozen, client, make_client, db):
    _, token = make_client()
    body = book(client, token).get_json()
    ics = client.get(body["manage_url"].replace("http://counsel.test", "") + "/invite.ics")
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["LOCATION"]) == body["join_url"]
    assert str(event["URL"]) == body["join_url"]
    assert body["join_url"] in str(event["DESCRIPTION"]) and "Lease" in str(event["DESCRIPTION"])
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER").total_seconds() == -60 * 60  # REMINDER_SHORT_MINUTES


def test_the_confirmation_page_and_the_widget_show_the_join_link(frozen, client, make_client, db):
    _, token = make_client()
    body = book(client, token).get_json()
    path = body["manage_url"].replace("http://counsel.test", "")
    for page in (path, path.replace("/m/", "/embed/m/")):
        html = client.get(page).get_data(as_text=True)
        assert f'href="{body["join_url"]}"' in html and "data-join-link" in html


def test_the_booking_form_books_a_phone_call_with_the_number(frozen, client, make_client, db):
    _, token = make_client(channels="video,phone")
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert 'name="channel" value="phone"' in page and 'name="phone"' in page
    response = client.post(f"/b/{token}", data={
        "form_token": booking_form_token(client, token), "start": WED_14, "name": "Boris", "email": "b@client.example",
        "agenda": "Lease", "channel": "phone", "phone": "+49 30 1234567", "tz": "Europe/Berlin"})
    assert response.status_code == 303
    booking = db.session.scalar(sa.select(Booking))
    assert (booking.channel, booking.phone, booking.join_url) == ("phone", "+49301234567", None)


def test_the_booking_form_without_a_number_for_a_phone_call_says_so(frozen, client, make_client, db):
    _, token = make_client(channels="phone")
    response = client.post(f"/b/{token}", data={
        "form_token": booking_form_token(client, token), "start": WED_14, "name": "Boris", "email": "b@client.example",
        "agenda": "Lease", "channel": "phone", "phone": ""})
    assert response.status_code == 422
    assert "phone number" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_the_client_switches_channel_on_the_manage_page(frozen, client, make_client, db):
    _, token = make_client(channels="video,phone")
    body = book(client, token).get_json()
    path = body["manage_url"].replace("http://counsel.test", "")
    page = client.get(path).get_data(as_text=True)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = client.post(f"{path}/channel", data={"form_token": form_token, "channel": "phone", "phone": "garbage"})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(Booking.channel)) == "video"
    response = client.post(f"{path}/channel", data={"form_token": form_token, "channel": "phone",
                                                     "phone": "+7 912 345-67-89"})
    assert response.status_code == 303
    booking = db.session.scalar(sa.select(Booking))
    assert (booking.channel, booking.phone, booking.sequence) == ("phone", "+79123456789", 1)
    response = client.post(f"{path}/channel", data={"form_token": form_token, "channel": "office"})
    assert response.status_code == 422  # not in this agreement


def test_cli_client_create_takes_a_channel(runner, make_lawyer, db):
    lawyer = make_lawyer()
    args = ["client", "create", "--lawyer", str(lawyer.id), "--name", "Vera", "--email", "vera@client.example",
            "--windows", "mon 10:00-12:00", "--duration", "30", "--prep", "15"]
    result = runner.invoke(args=[*args, "--channel", "phone,video", "--phone", "+7 912 345 67 89"])
    assert result.exit_code == 0, result.output
    client = db.session.scalar(sa.select(Client))
    assert (client.channels, client.phone) == ("phone,video", "+79123456789")
    result = runner.invoke(args=[*args, "--channel", "fax"])
    assert result.exit_code != 0 and "--channel" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=[*args])
    assert result.exit_code == 0
    assert db.session.scalars(sa.select(Client.channels).order_by(Client.id)).all()[-1] == "video"
