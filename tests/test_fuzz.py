"""Hostile input against every public endpoint and form: never a 5xx.

Covered: /api/v1/slots, /api/v1/bookings, /b/<token> and /embed/b/<token> (page and
form), /m/<token> and /embed/m/<token>, /m/<token>/cancel|reschedule,
/m/<token>/invite.ics, /i/<slug> and /embed/i/<slug> (page and form).

Hypothesis drives the Flask test client with random tokens, query strings, JSON and
form bodies, headers and raw bytes; a share of the examples carries real tokens and
offered slots so the deeper paths (booking, moving, cancelling) are reached too.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.storage.models import token_hash
from service.web import formtoken

pytestmark = [pytest.mark.slow, pytest.mark.db_matrix]

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),  # raise it for a deeper local run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def app_overrides():
    big = "1000000/minute"
    return {"RATELIMIT_BOOKING": big, "RATELIMIT_BOOKING_TOKEN": big, "RATELIMIT_SLOTS": big}


@pytest.fixture
def world(app, client, make_client):
    """A client link, a callback link, a booking's manage token and offered slot starts."""
    from service.storage.models import utcnow
    from service.usecases.availability import slots_for

    lawyer_client, token = make_client(windows="mon 08:00-20:00,tue 08:00-20:00,wed 08:00-20:00,"
                                               "thu 08:00-20:00,fri 08:00-20:00", notice_hours=0,
                                       max_per_week=50)
    result = app.test_cli_runner().invoke(args=["client", "callback-link", "--token", token])
    callback = result.output.split()[-1].rsplit("/", 1)[-1]
    starts = [s.start.isoformat() for s in slots_for(lawyer_client, utcnow())][:200]
    booked = client.post("/api/v1/bookings", json={
        "token": token, "start": starts[-1], "name": "Boris", "email": "boris@client.example",
        "agenda": "Clause 4"})
    assert booked.status_code == 201, booked.get_json()
    manage = booked.get_json()["manage_url"].rsplit("/", 1)[-1]
    result = app.test_cli_runner().invoke(args=[
        "intake", "create", "--lawyer", str(lawyer_client.lawyer_id), "--slug", "first-consultation",
        "--title", "First consultation", "--windows", "mon 08:00-20:00,wed 08:00-20:00",
        "--duration", "30", "--prep", "0", "--notice", "0"])
    assert result.exit_code == 0, result.output
    return {"token": token, "callback": callback, "manage": manage, "starts": starts[:-1],
            "slug": "first-consultation"}


# -- strategies -----------------------------------------------------------------------

# Hypothesis' text() never makes lone surrogates; JSON can carry them ("\ud800"), so mix them in.
_any_char = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from("\x00\r\n"))
any_text = st.lists(_any_char, max_size=80).map("".join)  # NUL, controls, lone surrogates
url_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)  # encodable in URLs/forms
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
hostile_any = st.sampled_from([
    "", " ", "\x00", "null", "0", "-1", "9" * 40, "1e309", "NaN", "../../etc/passwd",
    "<script>alert(1)</script>", "' OR 1=1 --", "%00", "%", "\r\nSet-Cookie: x=1",
    "2026-02-30", "0000-00-00", "9999-12-31", "0001-01-01", "2026-03-04T25:00:00+00:00",
    "2026-03-04T10:00:00+99:00", "2026-03-04T10:00:00", "2026-03-04T10:00:00Z",
    "Europe/Berlin", "Etc/GMT+14", "UTC", "../UTC", "x" * 5000, "\ud800" * 20, "é" * 64,
])
hostile = hostile_any.filter(lambda s: "\ud800" not in s)  # what URLs and forms can carry
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), any_text,
                   hostile_any)
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(any_text, inner, max_size=4), max_leaves=12)


def pick_token(world, kind):
    """Real tokens, near misses, and token-sized junk that URLs and forms can carry."""
    junk = st.text(st.characters(exclude_categories=("Cs",)), min_size=16, max_size=64)
    return st.one_of(st.just(world[kind]), st.sampled_from(["token", "callback", "manage"]).map(world.get),
                     url_text, hostile, junk,
                     st.just(world[kind][:-1] + "\x00"), st.just(world[kind] * 3))


json_token_junk = st.one_of(st.lists(_any_char, min_size=16, max_size=64).map("".join),
                            st.sampled_from(["\ud800" * 32, "A" * 31 + "\x00", "\udfff" + "A" * 20]))


def pick_start(world):
    return st.one_of(st.sampled_from(world["starts"]), hostile, url_text, st.none())


def headers():
    return st.fixed_dictionaries({}, optional={
        "X-Forwarded-For": header_text,
        "Accept-Language": st.sampled_from(["ru", "en", "*", "xx;q=abc", "ru-RU,ru;q=0.9", ""]),
        "Content-Type": st.sampled_from(["application/json", "text/plain",
                                         "application/x-www-form-urlencoded", "multipart/form-data"]),
    })


def ok(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])


def path_part(text: str) -> str:
    return quote(text, safe="") or "x"


# -- the endpoints ----------------------------------------------------------------------


def test_fuzz_slots_api(client, world):
    @FUZZ
    @given(token=pick_token(world, "token"),
           params=st.dictionaries(st.sampled_from(["from", "to", "tz", "token", "x"]),
                                  st.one_of(url_text, hostile), max_size=4),
           raw=st.one_of(st.none(), st.binary(max_size=60)))
    def run(token, params, raw):
        if raw is not None:  # any bytes, invalid UTF-8 included
            ok(client.get("/api/v1/slots?" + quote_from_bytes(raw, safe="=&")))
        else:
            ok(client.get("/api/v1/slots", query_string={"token": token, **params}))

    run()


def test_fuzz_booking_api(client, world):
    @FUZZ
    @given(body=st.one_of(
        st.fixed_dictionaries({"token": st.one_of(pick_token(world, "token"), json_token_junk, scalar),
                               "start": st.one_of(pick_start(world), scalar)},
                              optional={"name": st.one_of(scalar, st.just("Boris")),
                                        "email": st.one_of(scalar, st.just("b@client.example")),
                                        "agenda": st.one_of(scalar, json_value),
                                        "extra": json_value}),
        json_value),
        raw=st.one_of(st.none(), st.binary(max_size=200)), hdrs=headers())
    def run(body, raw, hdrs):
        data = raw if raw is not None else json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
        ok(client.post("/api/v1/bookings", data=data, headers=hdrs))

    run()


def test_fuzz_booking_page_and_form(client, world):
    @FUZZ
    @given(token=pick_token(world, "token"), tz=st.one_of(url_text, hostile),
           form=st.dictionaries(st.sampled_from(["start", "name", "email", "agenda", "form_token", "tz"]),
                                st.one_of(url_text, hostile), max_size=6),
           start=pick_start(world), signed=st.booleans(), hdrs=headers(),
           prefix=st.sampled_from(["/b/", "/embed/b/"]))
    def run(token, tz, form, start, signed, hdrs, prefix):
        hdrs.pop("Content-Type", None)
        path = f"{prefix}{path_part(token)}"
        ok(client.get(path, query_string={"tz": tz}, headers=hdrs))
        if signed and isinstance(token, str):
            form["form_token"] = formtoken.issue("book", token_hash(token))
            form.setdefault("start", start or "")
        ok(client.post(path, data=form, headers=hdrs))

    run()


def test_fuzz_manage_pages_and_forms(client, world):
    @FUZZ
    @given(token=pick_token(world, "manage"), action=st.sampled_from(["cancel", "reschedule"]),
           form=st.dictionaries(st.sampled_from(["start", "form_token", "tz"]),
                                st.one_of(url_text, hostile), max_size=3),
           start=pick_start(world), signed=st.booleans(), tz=url_text)
    def run(token, action, form, start, signed, tz):
        path = f"/m/{path_part(token)}"
        ok(client.get(path, query_string={"tz": tz}))
        ok(client.get(f"/embed/m/{path_part(token)}", query_string={"tz": tz}))
        ok(client.get(f"{path}/invite.ics"))
        if signed and isinstance(token, str):
            form["form_token"] = formtoken.issue("manage", token_hash(token))
            form.setdefault("start", start or "")
        ok(client.post(f"{path}/{action}", data=form))

    run()


def test_fuzz_public_intake_page_and_form(client, world):
    slugs = st.one_of(st.just(world["slug"]), url_text, hostile, st.just(world["slug"].upper()))

    @FUZZ
    @given(slug=slugs, tz=st.one_of(url_text, hostile),
           form=st.dictionaries(st.sampled_from(["start", "name", "email", "agenda", "form_token", "tz"]),
                                st.one_of(url_text, hostile), max_size=6),
           start=pick_start(world), signed=st.booleans(), prefix=st.sampled_from(["/i/", "/embed/i/"]))
    def run(slug, tz, form, start, signed, prefix):
        path = f"{prefix}{path_part(slug)}"
        ok(client.get(path, query_string={"tz": tz}))
        if signed:
            form["form_token"] = formtoken.issue("intake", slug)
            form.setdefault("start", start or "")
        ok(client.post(path, data=form))

    run()
