"""The time-zone picker's search works without JavaScript: the search box is sent with the
form; one match chooses that zone, several narrow the list (grouped by region) with a line
saying so; old names find their current one. On the booking page and the lawyer's profile."""

from __future__ import annotations

import re

import pytest

from service.core.zones import choose_zone, find_zones

OPTIONS = re.compile(r'<option value="([^"]+)"')


@pytest.mark.parametrize(("text", "found"), [
    ("tokyo", ["Asia/Tokyo"]), ("  New York ", ["America/New_York"]), ("new_york", ["America/New_York"]),
    ("Asia/Calcutta", ["Asia/Kolkata"]), ("us/eastern", ["America/New_York"]), ("Europe/Kiev", ["Europe/Kyiv"]),
    ("paris", ["Europe/Paris"]), ("utc", ["UTC"]), ("xyzzy", []), ("", []), ("A" * 5000, []),
])
def test_find_zones(text, found):
    assert find_zones(text) == found


def test_a_search_with_several_matches_chooses_nothing_unless_the_list_agrees():
    assert choose_zone("Europe/Berlin", "new") == (None, ["America/New_York", "America/North_Dakota/New_Salem"])
    assert choose_zone("America/New_York", "new")[0] == "America/New_York"  # the live filter's choice
    assert choose_zone("Europe/Berlin", "tokyo")[0] == "Asia/Tokyo"  # the search wins over the old choice
    assert choose_zone("Europe/Berlin", "")[0] == "Europe/Berlin"


def test_regression_booking_page_zone_search_without_javascript(client, make_client, frozen):
    """The search box was hidden and only JavaScript filtered: without it, no search at all."""
    _, token = make_client()
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert re.search(r'<input type="search" name="tz_q" value=""[^>]*data-zone-search', page)
    assert "data-zone-search" in page and " hidden>" not in page.split("data-zone-search")[1][:300]
    assert '<optgroup label="Asia">' in page
    for old in ("Asia/Calcutta", "US/Eastern", "Europe/Kiev"):
        assert f'value="{old}"' not in page
    shown = client.get(f"/b/{token}?tz=Europe/Berlin&tz_q=Tokyo").get_data(as_text=True)
    assert '<option value="Asia/Tokyo" selected>' in shown
    assert re.search(r"10:00\W*PM", shown)  # Wednesday 14:00 in Berlin is 22:00 in Tokyo
    assert 'name="tz_q" value=""' in shown  # answered: the box is empty again


def test_booking_page_zone_search_with_several_matches_narrows_the_list(client, make_client, frozen):
    _, token = make_client()
    page = client.get(f"/b/{token}?tz=Europe/Berlin&tz_q=new").get_data(as_text=True)
    assert OPTIONS.findall(page.split("data-tz-form")[1]) == ["America/New_York", "America/North_Dakota/New_Salem"]
    assert "2 time zones match «new»" in page and 'name="tz_q" value="new"' in page
    nothing = client.get(f"/b/{token}?tz=Europe/Berlin&tz_q=Atlantis").get_data(as_text=True)
    assert "No time zone matches «Atlantis»" in nothing
    assert '<option value="Europe/Berlin" selected>' in nothing  # the page stays in the zone it had


def test_booking_page_zone_search_speaks_russian(client, make_client, frozen):
    _, token = make_client(language="ru")
    page = client.get(f"/b/{token}?tz=Europe/Berlin&tz_q=Atlantis").get_data(as_text=True)
    assert "Не нашлось часового пояса «Atlantis»" in page


def test_a_russian_page_finds_zones_by_their_russian_city_names(client, make_client, frozen):
    assert find_zones("москва", "ru") == ["Europe/Moscow"] and find_zones("Нью-Йорк", "ru") == ["America/New_York"]
    _, token = make_client(language="ru")
    page = client.get(f"/b/{token}?tz=Europe/Berlin&tz_q=Москва").get_data(as_text=True)
    assert '<option value="Europe/Moscow" selected>' in page
