"""The lawyer's profile: the time-zone picker's search works without JavaScript (sent with
the form: one match saves that zone, several narrow the list and ask again)."""

from __future__ import annotations

import re

from tests.admin.conftest import post

OPTIONS = re.compile(r'<option value="([^"]+)"')


def test_profile_zone_search_without_javascript(frozen, admin, lawyer, db):
    form = {"action": "profile", "name": lawyer.name, "language": "en", "timezone": "Europe/Berlin"}
    response = post(admin, "/admin/practice", {**form, "timezone_q": "Moscow"}, token_from="/admin/practice")
    assert response.status_code == 302
    db.session.refresh(lawyer)
    assert lawyer.timezone == "Europe/Moscow"
    several = post(admin, "/admin/practice", {**form, "timezone_q": "Indiana"}, token_from="/admin/practice")
    assert several.status_code == 422
    page = several.get_data(as_text=True)
    assert "8 time zones match «Indiana»" in page
    assert all(z.startswith("America/Indiana/") for z in OPTIONS.findall(page.split('name="timezone"')[1])[:8])
    db.session.refresh(lawyer)
    assert lawyer.timezone == "Europe/Moscow"
    old = post(admin, "/admin/practice", {**form, "timezone_q": "Asia/Calcutta"}, token_from="/admin/practice")
    assert old.status_code == 302
    db.session.refresh(lawyer)
    assert lawyer.timezone == "Asia/Kolkata"
