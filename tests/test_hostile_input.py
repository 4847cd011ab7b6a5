"""Regressions found by the fuzzer (tests/test_fuzz.py), pinned as plain cases."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.db_matrix

WED_14 = "2026-03-04T13:00:00+00:00"


def raw_post(client, body: dict):
    # json.dumps writes a lone surrogate as the escape "\ud800", which JSON allows.
    return client.post("/api/v1/bookings", data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("token", ["\ud800" * 20, "A" * 31 + "\x00", "\udfff" + "A" * 20])
def test_lone_surrogate_or_nul_in_a_json_token_is_404_not_500(client, make_client, frozen, token):
    """A lone surrogate cannot be UTF-8 encoded: hashing the token raised, a 500."""
    make_client()
    response = raw_post(client, {"token": token, "start": WED_14})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_token"


@pytest.mark.parametrize("field", ["name", "email", "agenda"])
def test_lone_surrogate_in_the_contact_fields_is_422_not_500(client, make_client, frozen, field):
    _, token = make_client()
    body = {"token": token, "start": WED_14, "name": "Boris", "email": "boris@client.example",
            "agenda": "Clause 4"}
    body[field] = "x\ud800y" if field != "email" else "b\ud800@client.example"
    response = raw_post(client, body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == f"invalid_{field}"
