"""Security headers on every page the app serves (public, token and admin pages)."""

from __future__ import annotations

import re

import pytest

WED_14 = "2026-03-04T13:00:00+00:00"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.fixture
def urls(app, client, make_client, frozen):
    """A URL for every GET route, with real tokens where the route takes one."""
    _, token = make_client()
    booked = client.post("/api/v1/bookings", json={
        "token": token, "start": WED_14, "name": "Boris", "email": "boris@client.example",
        "agenda": "Clause 4"}).get_json()
    manage = booked["manage_url"].rsplit("/", 1)[-1]
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments:
            if arg == "token":
                values[arg] = manage if rule.rule.startswith(("/m/", "/embed/m/")) else token
            else:
                converter = rule._converters[arg].__class__.__name__
                values[arg] = 1 if "Integer" in converter else "x"
        path = rule.build(values, append_unknown=False)[1]
        found.append(path)
    return found


def get(client, path):
    """GET and close (file responses hold their file open until closed)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def test_every_page_has_a_strict_policy(client, urls):
    assert "/b/" in " ".join(urls) and "/m/" in " ".join(urls)
    for path in urls:
        response = get(client, path)
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        policy = headers.get("Content-Security-Policy", "")
        if response.mimetype == "text/html":
            assert "default-src 'self'" in policy and "frame-ancestors" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        if response.mimetype == "text/html" and response.status_code == 200:
            assert not INLINE.search(response.get_data(as_text=True)), f"inline script/style on {path}"


def test_admin_pages_forbid_inline_code(client, urls):
    for path in [u for u in urls if u.startswith("/admin")] or ["/admin/"]:
        policy = get(client, path).headers.get("Content-Security-Policy", "")
        assert "unsafe-inline" not in policy, path


def test_token_pages_never_leak_their_url_nor_get_indexed(client, urls):
    token_pages = [u for u in urls if re.match(r"/(embed/)?[bm]/", u)]
    assert len(token_pages) >= 3
    for path in token_pages:
        headers = get(client, path).headers
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert "noindex" in headers["X-Robots-Tag"], path
        assert headers["Cache-Control"] == "no-store", path


def test_unknown_token_pages_get_the_same_headers(client):
    for path in ("/b/" + "x" * 32, "/m/" + "y" * 32):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response.headers["X-Robots-Tag"]
