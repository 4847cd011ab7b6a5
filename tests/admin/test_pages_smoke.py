"""Every admin page renders for a signed-in lawyer, with demo-like data."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/week", "/admin/week?date=2026-03-29", "/admin/week?date=2026-10-25",
     "/admin/clients", "/admin/clients?show=archived", "/admin/clients/new", "/admin/calendars",
     "/admin/settings"],
)
def test_page_renders(frozen, admin, lawyer, make_client, path):
    make_client(lawyer=lawyer, status_day=0, matter="Lease dispute")
    response = admin.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_client_pages_render(frozen, admin, lawyer, make_client):
    client, _ = make_client(lawyer=lawyer)
    for path in (f"/admin/clients/{client.id}", f"/admin/clients/{client.id}/edit"):
        response = admin.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
