"""No 500 from input (issue #12), table-driven over every URL of the app: out-of-range
dates and instants, out-of-range or non-numeric ids and weekdays, CR/LF in ``next=``,
deeply nested JSON — through every route, as query and as form, signed in."""

from __future__ import annotations

import json

import pytest

from tests.admin.conftest import csrf_token, log_in

pytestmark = pytest.mark.db_matrix

WHEN = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01", "9999-12-31",
        "2026-03-04T13:00:00+99:00", "-1", ""]
IDS = ["0", "-1", str(2**31), str(2**63), "9" * 30, "x", "²", "٣", "1e3", " 1"]
DAYS = ["x", "-1", "7", "99999999999999999999", "²", "1.5"]
NEXT = ["/admin/\r\nSet-Cookie: x=1", "/admin/%0d%0aX: 1", "/admin/\x00", "//evil.example", "/admin/ x"]

#: One hostile value for every parameter name the app reads, in several variants.
def variants() -> list[dict]:
    rows = []
    for n in range(max(len(WHEN), len(IDS), len(DAYS), len(NEXT))):
        rows.append({
            "start": WHEN[n % len(WHEN)], "date": WHEN[n % len(WHEN)], "from": WHEN[n % len(WHEN)],
            "to": WHEN[(n + 1) % len(WHEN)], "day": WHEN[n % len(WHEN)],
            "first_day": WHEN[n % len(WHEN)], "last_day": WHEN[(n + 2) % len(WHEN)],
            "status_day": DAYS[n % len(DAYS)], "write_to": IDS[n % len(IDS)],
            "conflict": IDS[n % len(IDS)], "client": IDS[n % len(IDS)], "hours": IDS[n % len(IDS)],
            "next": NEXT[n % len(NEXT)], "tz": "Mars/Olympus\r\n", "show": "archived",
            "windows-0-weekday": DAYS[n % len(DAYS)], "windows-0-start": "25:99", "windows-0-end": "-1",
            "duration_min": IDS[n % len(IDS)], "max_per_week": IDS[n % len(IDS)],
            "status": "paused", "action": ["save", "language", "approval", "add_row"][n % 4],
        })
    return rows


def url_args(rule, value: str) -> dict:
    return {arg: value for arg in rule.arguments}


SKIP = {"static", "admin.logout", "public.embed_script"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in SKIP:
            yield rule


def test_no_500_from_out_of_range_input_through_every_url(app, admin, lawyer, make_client, frozen):
    """Out-of-range datetimes, ids and weekdays, CR/LF in next=: 500s through forms and URLs."""
    client, token = make_client(lawyer=lawyer)
    booked = admin.post("/api/v1/bookings", json={"token": token, "start": "2026-03-04T13:00:00+00:00",
                                                   "name": "Boris", "email": "boris@client.example",
                                                   "agenda": "x"})
    assert booked.status_code == 201
    manage = booked.json["manage_url"].rsplit("/", 1)[-1]
    checked = 0
    for rule in routes(app):
        arg_values = ["1"] + (IDS[:6] if any("int" in str(c) for c in rule._converters.values()) else [])
        for value in arg_values:
            args = {}
            for arg, converter in rule._converters.items():
                if type(converter).__name__.endswith("IntConverter") or "Integer" in type(converter).__name__:
                    args[arg] = value
                elif arg == "token":
                    args[arg] = manage if rule.endpoint.startswith("public.") and "/m/" in rule.rule else token
                else:
                    args[arg] = "first-consultation"
            path = rule.rule
            for arg, v in args.items():
                path = path.replace(f"<int:{arg}>", v).replace(f"<{arg}>", v)
            for data in variants():
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    if method == "GET":
                        response = admin.get(path, query_string={k: v for k, v in data.items()})
                    else:
                        form = dict(data, csrf_token=csrf_token(admin, "/admin/"))
                        response = admin.open(path, method=method, data=form)
                    checked += 1
                    assert response.status_code < 500, (method, path, data, response.status_code)
                    if rule.endpoint == "admin.settings" and admin.get("/admin/").status_code != 200:
                        log_in(admin, lawyer.email)
    assert checked > 300


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_no_500_from_deeply_nested_json(client, make_client, frozen, depth):
    """Deeply nested JSON raised RecursionError: a 500."""
    _, token = make_client()
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth,
                 json.dumps({"token": token, "start": "2026-03-04T13:00:00+00:00", "name": "B",
                             "email": "b@client.example", "agenda": "x"})[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"):
        for path in ("/api/v1/bookings", "/hooks/google", f"/b/{token}"):
            response = client.post(path, data=body, content_type="application/json")
            assert response.status_code < 500, (path, depth, response.status_code)
            if path.startswith("/api/"):
                assert response.status_code in (400, 404, 413, 422)


def test_no_500_from_crlf_in_next(client, lawyer):
    for target in NEXT:
        response = log_in(client, lawyer.email, query_string={"next": target})
        assert response.status_code == 302
        assert "\n" not in response.headers["Location"] and "evil" not in response.headers["Location"]
        assert response.headers["Location"] in ("/admin/",) or response.headers["Location"].startswith("/admin")
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                   "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00"])
def test_no_500_from_out_of_range_start_in_the_api(client, make_client, frozen, start):
    _, token = make_client()
    response = client.post("/api/v1/bookings", json={"token": token, "start": start, "name": "B",
                                                      "email": "b@client.example", "agenda": "x"})
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_start"
    slots = client.get(f"/api/v1/slots?token={token}&from={start[:10]}&to={start[:10]}")
    assert slots.status_code == 200  # far days are clamped to the horizon (test_api)


@pytest.mark.parametrize("path", ["/admin/clients/99999999999999999999", "/admin/clients/2147483648/edit",
                                  "/admin/bookings/99999999999999999999/approve"])
def test_no_500_from_out_of_range_ids_in_urls(admin, path):
    response = admin.get(path) if "approve" not in path else admin.post(
        path, data={"csrf_token": csrf_token(admin, "/admin/")})
    assert response.status_code == 404
