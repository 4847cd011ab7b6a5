"""The widget's pages: framing rules, no cookies, CSP-clean markup, the booking flow."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from service.storage.models import EmbedOrigin, Intake

WED_14 = "2026-03-04T13:00:00+00:00"
SITES = ("https://anna-keller.example", "https://www.anna-keller.example")


@pytest.fixture
def browser(app):
    """A client without a cookie jar: what a frame with third-party cookies blocked gets."""
    return app.test_client(use_cookies=False)


@pytest.fixture
def embedded(db, make_client):
    client, token = make_client()
    for site in SITES:
        client.lawyer.embed_origins.append(EmbedOrigin(origin=site))
    db.session.add(Intake(lawyer=client.lawyer, slug="first", title="First consultation",
                          windows="wed 14:00-16:00", duration_min=30, prep_min=15))
    db.session.commit()
    return token


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"]).group(1)


def assert_not_framable(response):
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def assert_framable_by_sites(response):
    assert frame_ancestors(response) == " ".join(SITES)
    assert "X-Frame-Options" not in response.headers


def form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def test_embed_pages_are_framable_only_by_the_allow_listed_sites(browser, embedded, frozen):
    assert_framable_by_sites(browser.get(f"/embed/b/{embedded}"))
    assert_framable_by_sites(browser.get("/embed/i/first"))


def test_every_other_page_refuses_frames(browser, embedded, frozen):
    for path in (f"/b/{embedded}", "/i/first", "/healthz", f"/api/v1/slots?token={embedded}",
                 "/embed/b/unknown-token-unknown-token", "/embed/i/unknown", "/no-such-page"):
        assert_not_framable(browser.get(path))


def test_embed_page_of_a_lawyer_without_sites_refuses_frames(browser, make_client, frozen):
    _, token = make_client()
    assert_not_framable(browser.get(f"/embed/b/{token}"))


def test_booking_in_the_frame_needs_no_cookie_and_stays_in_the_frame(browser, embedded, frozen):
    page = browser.get(f"/embed/b/{embedded}?tz=Europe/Berlin")
    assert "Set-Cookie" not in page.headers
    html = page.get_data(as_text=True)
    assert f'action="/embed/b/{embedded}"' in html
    assert f'data-parent-origins="{" ".join(SITES)}"' in html
    booked = browser.post(f"/embed/b/{embedded}", data={
        "form_token": form_token(html), "start": WED_14, "name": "Boris",
        "email": "boris@client.example", "agenda": "Clause 4", "tz": "Europe/Berlin"})
    assert booked.status_code == 303 and "Set-Cookie" not in booked.headers
    assert re.fullmatch(r"/embed/m/[\w-]+\?tz=Europe/Berlin&booked=1", booked.headers["Location"])
    confirmation = browser.get(booked.headers["Location"])
    assert_framable_by_sites(confirmation)
    assert "Set-Cookie" not in confirmation.headers
    html = confirmation.get_data(as_text=True)
    assert re.search(r'data-booking-uid="[0-9a-f]{32}"', html)
    assert f'data-booking-start="{WED_14}"' in html and "data-just-booked" in html
    assert 'data-booking-end="2026-03-04T13:30:00+00:00"' in html
    # Changes happen on the full manage page, opened outside the frame.
    assert re.search(r'href="/m/[\w-]+\?tz=Europe/Berlin" target="_blank" rel="noopener"', html)
    assert "/cancel" not in html and "/reschedule" not in html


def test_refused_booking_re_renders_inside_the_frame(browser, embedded, frozen):
    html = browser.get(f"/embed/b/{embedded}").get_data(as_text=True)
    response = browser.post(f"/embed/b/{embedded}", data={
        "form_token": form_token(html), "start": WED_14, "name": "Boris", "email": "bad", "agenda": "x"})
    assert response.status_code == 422
    assert_framable_by_sites(response)
    assert 'class="embed"' in response.get_data(as_text=True)


def test_intake_booking_in_the_frame(browser, embedded, frozen):
    html = browser.get("/embed/i/first").get_data(as_text=True)
    assert 'action="/embed/i/first"' in html
    booked = browser.post("/embed/i/first", data={
        "form_token": form_token(html), "start": WED_14, "name": "Vera",
        "email": "vera@visitor.example", "agenda": "Tenancy"})
    assert booked.status_code == 303 and booked.headers["Location"].startswith("/embed/m/")
    assert "data-booking-uid" in browser.get(booked.headers["Location"]).get_data(as_text=True)


def test_form_token_is_bound_to_the_link_not_to_a_cookie(browser, embedded, make_client, frozen):
    _, other = make_client()
    token_for_other = form_token(browser.get(f"/embed/b/{other}").get_data(as_text=True))
    response = browser.post(f"/embed/b/{embedded}", data={
        "form_token": token_for_other, "start": WED_14, "name": "B", "email": "b@c.example", "agenda": "x"})
    assert response.status_code == 400


class _InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "style" or "style" in names or any(n.startswith("on") for n in names):
            self.problems.append(f"<{tag} {sorted(names)}>")
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")


def test_pages_need_no_inline_script_or_style(browser, embedded, frozen):
    """The CSP allows scripts and styles from 'self' only: none may be inline."""
    html = browser.get(f"/embed/b/{embedded}").get_data(as_text=True)
    booked = browser.post(f"/embed/b/{embedded}", data={
        "form_token": form_token(html), "start": WED_14, "name": "B",
        "email": "b@c.example", "agenda": "x"})
    for path in (f"/embed/b/{embedded}", f"/b/{embedded}", "/i/first", "/embed/i/first",
                 booked.headers["Location"]):
        finder = _InlineFinder()
        finder.feed(browser.get(path).get_data(as_text=True))
        assert finder.problems == [], path


def test_embed_script_is_served_for_any_site(browser):
    with browser.get("/embed.js") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert "CounselHours" in response.get_data(as_text=True)
