"""Bad input to the admin area gets a 4xx answer or a form with a message, never a 500."""

from __future__ import annotations

import pytest

from tests.admin.conftest import csrf_token

pytestmark = pytest.mark.db_matrix

GARBAGE = [
    {},
    {"status": "x" * 5000, "hours": "-1", "notes": "x" * 30000, "write_to": "abc", "conflict": ["1", "x"]},
    {"name": "\x00", "email": "@", "windows-0-weekday": "9", "windows-0-start": "99:99", "windows-0-end": "",
     "duration_min": "1e9", "prep_min": "-5", "horizon_days": "0", "language": "xx", "step_min": "7",
     "status_day": "8", "action": "save"},
    {f"windows-{i}-weekday": "1" for i in range(100)} | {"windows-0-start": "10:00", "windows-0-end": "11:00"},
    {"url": "https://" + "a" * 3000, "username": "\r\nX-Injected: 1", "password": ""},
    {"hours": "168.5", "action": "password", "current": "", "new": "short", "repeat": "other"},
]


def test_every_admin_post_survives_garbage(admin, lawyer, make_client, app):
    client, _ = make_client(lawyer=lawyer)
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "POST" not in rule.methods:
            continue
        if rule.endpoint in ("admin.logout", "admin.settings"):
            continue  # they end the session; covered in test_auth
        url = rule.build({arg: client.id for arg in rule.arguments})[1]
        for data in GARBAGE:
            response = admin.post(url, data=data | {"csrf_token": csrf_token(admin, "/admin/")})
            assert response.status_code < 500, (url, data, response.status_code)


@pytest.mark.parametrize("query", ["date=2026-13-01", "date=%00", "date=" + "9" * 500, "date=2026-03-02&date=x"])
def test_week_query_garbage_is_4xx_or_ok(admin, query):
    assert admin.get(f"/admin/week?{query}").status_code in (200, 400)


def test_unknown_ids_are_404(admin):
    for path in ("/admin/clients/999999", "/admin/clients/999999/edit", "/admin/clients/abc"):
        assert admin.get(path).status_code == 404
