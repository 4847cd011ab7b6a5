"""Regression tests for the rough edges a new user met (#13): the already-booked message,
the replaced link, localized error pages, a cancelled call's page, confirmations."""

from __future__ import annotations

import re

import pytest

from tests.test_pages import post_booking

WED_14 = "2026-03-04T13:00:00+00:00"
WED_15 = "2026-03-04T14:00:00+00:00"


def test_regression_second_booking_in_the_week_says_already_booked_and_links_it(client, make_client, frozen):
    """A double submit in a week already holding the client's call said "the agreed number
    of calls for that week is reached"; it now says they are booked and links the call."""
    _, token = make_client(max_per_week=1)
    first = post_booking(client, token)
    assert first.status_code in (302, 303)
    manage = first.headers["Location"].split("?")[0]
    again = post_booking(client, token, start=WED_15)
    page = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "already have a consultation booked" in page and "data-already-booked" in page
    assert manage.rsplit("/", 1)[-1] in page
    assert "agreed number of calls" not in page


def test_api_answers_already_booked(client, make_client, frozen):
    _, token = make_client(max_per_week=1)
    body = {"token": token, "name": "Boris", "email": "boris@client.example", "agenda": "x"}
    assert client.post("/api/v1/bookings", json={**body, "start": WED_14}).status_code == 201
    again = client.post("/api/v1/bookings", json={**body, "start": WED_15})
    error = again.get_json()["error"]
    assert again.status_code == 409 and error["code"] == "slot_client_week_limit"  # the API's code stays
    assert "already have a consultation booked" in error["message"]


@pytest.mark.parametrize("lang, words", [("ru", "Такой страницы не существует"), ("en", "does not exist")])
def test_404_speaks_the_visitors_language(client, app, lang, words):
    page = client.get("/no/such/page", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert words in page


def test_regression_replaced_link_says_so_in_the_clients_language(client, make_client, frozen, db):
    """The old link after "new link" was a bare 404; now a 410 naming whom to ask."""
    from service.usecases import clients

    person, old = make_client(language="ru")
    clients.regenerate_link(person)
    db.session.commit()
    page = client.get(f"/b/{old}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 410 and "заменена" in text and person.lawyer.email in text
    api = client.get(f"/api/v1/slots?token={old}")
    assert api.status_code == 410 and api.get_json()["error"]["code"] == "link_replaced"


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_SLOTS": "2/minute"}


def test_regression_429_on_a_clients_page_speaks_the_clients_language(client, make_client):
    """Real clock: the limiter's in-memory counters do not work under freezegun."""
    _, token = make_client(language="ru")
    for _ in range(2):
        assert client.get(f"/b/{token}", headers={"Accept-Language": "en"}).status_code == 200
    page = client.get(f"/b/{token}", headers={"Accept-Language": "en"})
    assert page.status_code == 429
    assert 'lang="ru"' in page.get_data(as_text=True) and "Слишком много" in page.get_data(as_text=True)


def test_regression_a_missing_setting_is_one_line_from_the_cli(tmp_path):
    """``flask lawyer allow-embed`` without SECRET_KEY printed a 33-line traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENCRYPTION_KEY", "ENV", "DATABASE_URL")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "lawyer", "allow-embed", "--lawyer", "1",
         "--origin", "https://www.firm.example"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY is not set" in lines[0] and "ENV=development" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_regression_russian_wording_of_the_booking_page_and_mail(client, make_client, frozen, app):
    """«Повестка» reads as a court summons; the zone was shown as a raw IANA id."""
    _, token = make_client(language="ru", name="Борис Петров")
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert "Консультации с" in page and "Повестка" not in page
    booked = client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": "Борис Петров",
                                                    "email": "boris@client.example", "agenda": "Пункт 4"})
    manage = client.get(booked.get_json()["manage_url"].removeprefix("http://counsel.test")).get_data(as_text=True)
    # Shown in words; the raw zone id only as form values (hidden inputs, the zone picker).
    visible = re.sub(r"<[^>]+>", "", manage.split("<select")[0])
    assert "по берлинскому времени" in manage and "Europe/Berlin" not in visible


def test_zone_words():
    from flask_babel import force_locale

    from service import create_app
    from service.usecases.wording import zone_words
    from tests.conftest import app_config

    with create_app(app_config(__import__("pathlib").Path("/tmp"))).test_request_context():
        with force_locale("ru"):
            assert zone_words("Europe/Moscow", nominative=True) == "московское время"
            assert zone_words("Europe/Berlin") == "по берлинскому времени"
        with force_locale("en"):
            assert zone_words("Europe/Berlin") == "Berlin time"


def test_demo_notes_are_in_the_demo_clients_language(runner, db):
    from service.storage.models import Client

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    for client in db.session.query(Client):
        cyrillic = any("а" <= ch <= "я" for ch in client.note.lower())
        assert cyrillic == (client.language == "ru"), (client.name, client.note)


def test_regression_a_moved_call_says_moved_to_with_its_zone_and_the_reason(client, make_client, frozen, db):
    """A call the lawyer moved showed only its new time, as if nothing had happened; in
    Russian it then read «Перенесена на среда», a weekday in the wrong case."""
    from datetime import datetime

    from service.storage.models import utcnow
    from service.usecases import bookings, steer

    person, _ = make_client(language="ru")
    booking = steer.book_for_client(person, datetime.fromisoformat(WED_14), "Пункт 4", utcnow())
    steer.move(booking, datetime.fromisoformat(WED_15), utcnow(), reason="Заседание в суде")
    db.session.commit()
    manage = bookings.manage_url(booking).split("/m/", 1)[1]
    page = client.get(f"/m/{manage}").get_data(as_text=True)
    moved = page.split("data-moved>", 1)[1].split("</p>", 1)[0]
    assert moved.startswith("Перенесена. Новое время: среда, 4 марта"), moved  # never «на среда»
    assert "15:00" in moved and "Заседание в суде" in moved  # WED_15 is 15:00 in Berlin
    assert "по берлинскому времени" in page


def test_favicon(client, make_client):
    _, token = make_client()
    assert 'rel="icon"' in client.get(f"/b/{token}").get_data(as_text=True)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/static/favicon.svg")
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
