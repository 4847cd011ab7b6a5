"""The JSON API: slots and bookings, and every bad input it must refuse cleanly."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, OutboxTask

# With NOW = Mon 2 Mar 2026 09:00 Berlin and 24 h notice, the first window is Wed 4 Mar
# 14:00-16:00 Berlin (13:00-15:00 UTC).
WED_14 = "2026-03-04T13:00:00+00:00"


def slots(client, token, **params):
    query = "&".join(f"{k}={v}" for k, v in {"token": token, **params}.items())
    return client.get(f"/api/v1/slots?{query}")


def book(client, token, start=WED_14, **body):
    payload = {
        "token": token,
        "start": start,
        "name": "Boris",
        "email": "boris@client.example",
        "agenda": "Draft settlement, clause 4",
    }
    payload.update(body)
    return client.post("/api/v1/bookings", json=payload)


def test_slots_lists_agreed_free_slots_in_utc(client, make_client, frozen):
    _, token = make_client()
    response = slots(client, token, **{"from": "2026-03-02", "to": "2026-03-09"})
    assert response.status_code == 200
    starts = [s["start"] for s in response.get_json()["slots"]]
    # Monday 2nd is inside the notice; Wed 4th 14:00-16:00 and Mon 9th 10:00-12:00 Berlin.
    assert starts == [
        "2026-03-04T13:00:00+00:00",
        "2026-03-04T13:30:00+00:00",
        "2026-03-04T14:00:00+00:00",
        "2026-03-04T14:30:00+00:00",
        "2026-03-09T09:00:00+00:00",
        "2026-03-09T09:30:00+00:00",
        "2026-03-09T10:00:00+00:00",
        "2026-03-09T10:30:00+00:00",
    ]


def test_slots_in_requested_zone_with_offset(client, make_client, frozen):
    _, token = make_client()
    response = slots(
        client, token, **{"from": "2026-03-04", "to": "2026-03-04", "tz": "Asia/Kathmandu"}
    )
    first = response.get_json()["slots"][0]
    assert first == {"start": "2026-03-04T18:45:00+05:45", "end": "2026-03-04T19:15:00+05:45"}


@pytest.mark.db_matrix
def test_booking_returns_201_and_blocks_the_slot_with_its_prep(client, make_client, frozen, db):
    _, token = make_client()
    response = book(client, token)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["start"] == WED_14 and body["end"] == "2026-03-04T13:30:00+00:00"
    assert body["manage_url"].startswith("http://counsel.test/m/")
    booking = db.session.scalar(sa.select(Booking))
    assert booking.uid == body["uid"]
    assert booking.blocked_start == datetime.fromisoformat("2026-03-04T12:30:00+00:00")
    # The next slot (14:30) would need prep from 14:00, which the call occupies.
    starts = [
        s["start"]
        for s in slots(client, token, **{"from": "2026-03-04", "to": "2026-03-04"}).get_json()[
            "slots"
        ]
    ]
    assert WED_14 not in starts and "2026-03-04T13:30:00+00:00" not in starts
    assert "2026-03-04T14:00:00+00:00" in starts
    # Follow-up work was recorded in the same transaction.
    kinds = sorted(t.kind for t in db.session.scalars(sa.select(OutboxTask)))
    assert kinds == ["mail.booking", "mail.booking", "reminder.client", "reminder.client", "reminder.prep"]


@pytest.mark.db_matrix
def test_prep_block_of_one_client_blocks_another_clients_slot(
    client, make_client, make_lawyer, frozen
):
    lawyer = make_lawyer()
    _, first = make_client(lawyer=lawyer)
    _, second = make_client(
        lawyer=lawyer,
        name="Clara",
        email="clara@client.example",
        windows="wed 14:00-16:00",
        duration_min=60,
        prep_min=60,
    )
    assert book(client, first, start="2026-03-04T14:00:00+00:00").status_code == 201  # 15:00 Berlin
    starts = [
        s["start"]
        for s in slots(client, second, **{"from": "2026-03-04", "to": "2026-03-04"}).get_json()[
            "slots"
        ]
    ]
    # Clara's 14:00 call (prep 13:00-14:00) ends at 15:00, where Boris's prep starts at 14:30.
    assert starts == []


@pytest.mark.db_matrix
def test_same_slot_twice_is_409(client, make_client, frozen, db):
    _, token = make_client()
    assert book(client, token).status_code == 201
    again = book(client, token)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "slot_busy"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1


@pytest.mark.db_matrix
def test_weekly_cadence_refuses_second_call(client, make_client, frozen):
    _, token = make_client(max_per_week=1)
    assert book(client, token).status_code == 201
    second = book(client, token, start="2026-03-04T14:30:00+00:00")
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "slot_client_week_limit"
    # The following week is still open.
    assert book(client, token, start="2026-03-09T09:00:00+00:00").status_code == 201


@pytest.mark.db_matrix
def test_notice_and_horizon(client, make_client, frozen):
    _, token = make_client(
        windows="mon 10:00-12:00,mon 14:00-16:00", notice_hours=24, horizon_days=8
    )
    too_soon = book(client, token, start="2026-03-02T13:00:00+00:00")  # today 14:00 Berlin
    assert too_soon.status_code == 409 and too_soon.get_json()["error"]["code"] == "slot_too_soon"
    beyond = book(client, token, start="2026-03-16T09:00:00+00:00")
    assert beyond.status_code == 409 and beyond.get_json()["error"]["code"] == "slot_beyond_horizon"
    listed = slots(client, token, **{"from": "2026-03-01", "to": "2026-12-31"}).get_json()["slots"]
    assert [s["start"][:10] for s in listed] == ["2026-03-09"] * 8  # clamped, not an error


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-03-04T13:10:00+00:00", "slot_not_on_step"),
        ("2026-03-05T13:00:00+00:00", "slot_outside_windows"),
        ("2026-03-01T13:00:00+00:00", "slot_past"),
    ],
)
def test_starts_not_offered_are_refused(client, make_client, frozen, start, code):
    _, token = make_client()
    response = book(client, token, start=start)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"start": "tomorrow"}, "invalid_start"),
        ({"start": "2026-03-04T14:00:00"}, "invalid_start"),  # no offset
        ({"start": None}, "invalid_start"),
        ({"email": "not-an-address"}, "invalid_email"),
        ({"email": "a@b.example\r\nBcc: victim@x.example"}, "invalid_email"),
        ({"email": ""}, "invalid_email"),
        ({"agenda": "   "}, "invalid_agenda"),
        ({"agenda": "x" * 5001}, "invalid_agenda"),
        ({"agenda": 42}, "invalid_agenda"),
        ({"name": ""}, "invalid_name"),
        ({"name": "Eve\nBcc: x@y.example"}, "invalid_name"),
    ],
)
def test_malformed_booking_is_422_and_writes_nothing(client, make_client, frozen, db, body, code):
    _, token = make_client()
    response = book(client, token, **body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxTask.id))) == 0


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"', "null"])
def test_non_object_bodies_are_422(client, make_client, frozen, raw):
    make_client()
    response = client.post("/api/v1/bookings", data=raw, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_body"


def test_unknown_token_is_404(client, make_client, frozen):
    make_client()
    assert slots(client, "x" * 32).status_code == 404
    assert book(client, "y" * 32).status_code == 404
    assert slots(client, "short").get_json()["error"]["code"] == "unknown_token"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "invalid_date"),
        ({"to": "yesterday"}, "invalid_date"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "invalid_range"),
        ({"tz": "Mars/Olympus"}, "invalid_timezone"),
        ({"tz": ""}, "invalid_timezone"),
    ],
)
def test_bad_slot_queries_are_422(client, make_client, frozen, params, code):
    _, token = make_client()
    response = slots(client, token, **params)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code


@pytest.mark.db_matrix
def test_far_dates_are_clamped_not_500(client, make_client, frozen):
    _, token = make_client()
    response = slots(client, token, **{"from": "0001-01-01", "to": "9999-12-31"})
    assert response.status_code == 200 and response.get_json()["slots"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok"
