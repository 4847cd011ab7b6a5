"""The OpenAPI document: schemathesis checks the API against it; CORS for allow-listed sites."""

from __future__ import annotations

import pytest
import schemathesis
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from service.storage.models import EmbedOrigin
from service.web.openapi import document

SITE = "https://anna-keller.example"
ALL_WEEK = ",".join(f"{d} 09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


#: The real token and a free slot of the app under test, for the generation hooks.
_REAL: dict[str, object] = {}

schema = schemathesis.openapi.from_dict(document("http://counsel.test"))


def _token_shaped(value) -> bool:
    return isinstance(value, str) and 16 <= len(value) <= 64


def _with_real(values: dict, keys: tuple[str, ...]) -> dict:
    """``values`` with the real token (and slot), read when drawn: the fixture sets them."""
    real = {k: _REAL[k] for k in keys if k in _REAL and k in values}
    return {**values, **real}


@schema.hook("filter_query")
def from_not_after_to(context, query):
    """``from`` after ``to`` is a 422 the schema cannot express (a rule across two fields)."""
    if not isinstance(query, dict):
        return True
    first, last = query.get("from"), query.get("to")
    return not (isinstance(first, str) and isinstance(last, str) and first > last
                and len(first) == len(last) == 10)


@schema.hook("filter_body")
def email_the_server_can_accept(context, body):
    """Addresses with special-use domains (``x@localhost``) pass ``format: email`` but are
    refused (422) by the address validator: a rule the schema cannot express."""
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or "@" not in email:
        return True
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@schema.hook("flatmap_query")
def real_token_in_query(context, query):
    if not isinstance(query, dict) or not _token_shaped(query.get("token")):
        return st.just(query)
    return st.sampled_from([(), ("token",)]).map(lambda keys: _with_real(query, keys))


@schema.hook("flatmap_body")
def real_token_and_slot_in_body(context, body):
    if not isinstance(body, dict) or not _token_shaped(body.get("token")):
        return st.just(body)
    choices = [(), ("token",), ("token", "start")]
    return st.sampled_from(choices).map(lambda keys: _with_real(body, keys))


@pytest.fixture
def api_app(app, db, make_client):
    """The app with a client whose token (and a free slot) half the generated requests use.

    The app's clock is real here (schemathesis drives it), so the agreement has windows
    every day: free slots exist whatever today is.
    """
    client, token = make_client(windows=ALL_WEEK, duration_min=30, prep_min=0, notice_hours=1,
                                horizon_days=14)
    client.lawyer.embed_origins.append(EmbedOrigin(origin=SITE))
    db.session.commit()
    with app.test_client() as http:
        free = [s["start"] for s in http.get(f"/api/v1/slots?token={token}").get_json()["slots"]]
    assert free
    _REAL.update(token=token, start=free[0])
    yield app
    _REAL.clear()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_document(case, api_app):
    """No 5xx; every status, content type and body is the documented one."""
    case.call_and_validate(app=api_app)


def test_served_document_is_the_one_tested(client):
    assert client.get("/api/v1/openapi.json").get_json() == document("http://counsel.test")


def test_document_is_openapi_3_1_and_lists_the_errors(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "http://counsel.test/api/v1"}]
    slots = doc["paths"]["/slots"]["get"]
    assert {p["name"] for p in slots["parameters"]} == {"token", "from", "to", "tz"}
    assert set(slots["responses"]) == {"200", "404", "410", "422", "429"}
    booking = doc["paths"]["/bookings"]["post"]
    assert set(booking["responses"]) == {"201", "404", "409", "410", "422", "429", "503"}
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message"]


@pytest.fixture
def site_token(db, make_client):
    client, token = make_client()
    client.lawyer.embed_origins.append(EmbedOrigin(origin=SITE))
    db.session.commit()
    return token


def test_cors_for_the_lawyers_sites_only(client, site_token, make_client, frozen):
    allowed = client.get(f"/api/v1/slots?token={site_token}", headers={"Origin": SITE})
    assert allowed.headers["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in allowed.headers["Vary"]
    other = client.get(f"/api/v1/slots?token={site_token}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    _, elsewhere = make_client()  # a lawyer who allowed no site
    assert "Access-Control-Allow-Origin" not in client.get(
        f"/api/v1/slots?token={elsewhere}", headers={"Origin": SITE}).headers


def test_cors_on_errors_once_the_token_is_known(client, site_token, frozen):
    bad = client.get(f"/api/v1/slots?token={site_token}&from=nope", headers={"Origin": SITE})
    assert bad.status_code == 422 and bad.headers["Access-Control-Allow-Origin"] == SITE
    unknown = client.get(f"/api/v1/slots?token={'x' * 32}", headers={"Origin": SITE})
    assert unknown.status_code == 404 and "Access-Control-Allow-Origin" not in unknown.headers


def test_booking_response_is_readable_by_the_lawyers_site(client, site_token, frozen):
    response = client.post("/api/v1/bookings", headers={"Origin": SITE}, json={
        "token": site_token, "start": "2026-03-04T13:00:00+00:00", "name": "Boris",
        "email": "boris@client.example", "agenda": "Clause 4"})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == SITE


def preflight(client, path, origin):
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})


def test_preflight_for_allow_listed_sites(client, site_token):
    response = preflight(client, "/api/v1/bookings", SITE)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    refused = preflight(client, "/api/v1/bookings", "https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused.headers
    # With the token in the URL the preflight is decided by that token's lawyer.
    assert "Access-Control-Allow-Origin" in preflight(
        client, f"/api/v1/bookings?token={site_token}", SITE).headers
    assert "Access-Control-Allow-Origin" not in preflight(
        client, f"/api/v1/bookings?token={'x' * 32}", SITE).headers


def test_no_cors_outside_the_api(client, site_token):
    page = client.get(f"/b/{site_token}", headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in page.headers
