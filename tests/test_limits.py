"""Rate limits: booking per address and per link, slots, admin login; real client address."""

from __future__ import annotations

import random
import secrets
import shutil
import subprocess
import time

import pytest
import redis
from flask import Blueprint
from limits import parse
from limits.storage import storage_from_string

from service import create_app
from service.core.config import ConfigError
from service.storage.models import token_hash
from service.web import formtoken, limits
from tests.conftest import app_config
from tests.servers import free_port, require_redis

# The limiter's in-memory storage expires counters from a timer thread that freezegun
# does not freeze, so these tests run on the real clock and book a past start: every
# answer is a 409 until the limit answers 429 (refused requests count as well).
PAST = "2020-03-04T13:00:00+00:00"


@pytest.fixture
def app_overrides():
    return {
        "RATELIMIT_BOOKING": "3/minute",
        "RATELIMIT_BOOKING_TOKEN": "5/minute",
        "RATELIMIT_SLOTS": "4/minute",
        "RATELIMIT_LOGIN": "2/minute",
    }


def api_book(client, token, ip="192.0.2.1", headers=None):
    body = {"token": token, "start": PAST, "name": "Boris", "email": "boris@client.example",
            "agenda": "Clause 4"}
    return client.post("/api/v1/bookings", json=body, headers=headers or {},
                       environ_base={"REMOTE_ADDR": ip})


def form_book(client, token, ip="192.0.2.1"):
    data = {"form_token": formtoken.issue("book", token_hash(token)), "start": PAST,
            "name": "Boris", "email": "boris@client.example", "agenda": "Clause 4"}
    return client.post(f"/b/{token}", data=data, environ_base={"REMOTE_ADDR": ip})


def test_booking_api_is_limited_per_address_with_a_json_429(client, make_client):
    _, token = make_client()
    assert [api_book(client, token).status_code for _ in range(3)] == [409, 409, 409]
    limited = api_book(client, token)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "wait" in limited.get_json()["error"]["message"]
    assert int(limited.headers["Retry-After"]) > 0
    assert api_book(client, token, ip="192.0.2.2").status_code == 409  # someone else: fine


def test_booking_form_shares_the_counter_and_answers_a_page(client, make_client):
    _, token = make_client()
    assert api_book(client, token).status_code == 409
    assert form_book(client, token).status_code == 409
    assert api_book(client, token).status_code == 409
    page = form_book(client, token)
    assert page.status_code == 429
    assert page.mimetype == "text/html" and b"Too many requests" in page.data


def test_booking_is_limited_per_link_across_addresses(client, make_client):
    lawyer_client, token = make_client()
    _, other_token = make_client(lawyer=lawyer_client.lawyer, email="clara@client.example")
    codes = [api_book(client, token, ip=f"198.51.100.{i}").status_code for i in range(6)]
    assert codes[:5] == [409] * 5 and codes[5] == 429
    assert api_book(client, other_token, ip="198.51.100.99").status_code == 409  # its own budget


def test_forged_forwarded_for_buys_no_fresh_limit(client, make_client):
    _, token = make_client()
    codes = [api_book(client, token, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(5)]
    assert codes == [409, 409, 409, 429, 429]


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1, "RATELIMIT_BOOKING": "2/minute"}])
def test_behind_one_proxy_the_proxys_view_of_the_client_counts(client, make_client):
    """The proxy appends the real peer; whatever the client put before it is ignored."""
    _, token = make_client()

    def via_proxy(forged: str, real: str):
        return api_book(client, token, ip="10.0.0.1", headers={"X-Forwarded-For": f"{forged}, {real}"})

    codes = [via_proxy(f"203.0.113.{i}", "198.51.100.7").status_code for i in range(3)]
    assert codes == [409, 409, 429]
    assert via_proxy("203.0.113.50", "198.51.100.8").status_code == 409  # another real client


def test_slot_lists_are_limited_per_address_api_and_pages(client, make_client):
    _, token = make_client()
    assert client.get(f"/api/v1/slots?token={token}").status_code == 200
    assert client.get(f"/b/{token}").status_code == 200
    assert client.get(f"/api/v1/slots?token={token}").status_code == 200
    assert client.get(f"/api/v1/slots?token={'x' * 20}").status_code == 404  # counted too
    assert client.get(f"/api/v1/slots?token={token}").status_code == 429
    page = client.get(f"/b/{token}")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def _late_admin(app, view):
    """A stand-in for the admin blueprint whose own hook refuses POSTs (like its CSRF check)."""
    from flask import request

    admin = Blueprint("admin", __name__, url_prefix="/admin")
    admin.add_url_rule("/login", "login", view, methods=["GET", "POST"])
    admin.before_request(lambda: ("bad CSRF token", 400) if request.method == "POST" else None)
    app.register_blueprint(admin)


def test_admin_login_posts_are_limited_by_endpoint_name(app, client):
    """Counted before the blueprint's own hooks: a POST refused by CSRF counts too."""
    if "admin.login" not in app.view_functions:  # the admin blueprint may not be merged yet
        _late_admin(app, lambda: "login form")
    codes = [client.post("/admin/login").status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429
    assert client.get("/admin/login").status_code == 200  # showing the form is not limited
    assert "Too many requests" in client.post("/admin/login").get_data(as_text=True)


def test_limited_decorator_for_other_blueprints(app, client):
    @limits.limited(limits.LOGIN_BY_IP)
    def reset_password():
        return "ok"

    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/reset", "reset", reset_password, methods=["GET", "POST"])
    app.register_blueprint(extra)  # after create_app: rules are looked up per request
    assert [client.post("/reset").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/reset").status_code == 200  # LOGIN_BY_IP counts POSTs only


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_unreachable_limit_storage_does_not_break_booking(client, make_client):
    _, token = make_client()
    assert api_book(client, token).status_code == 409
    assert client.get(f"/api/v1/slots?token={token}").status_code == 200


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_ENABLED": False}])
def test_limits_can_be_switched_off(client, make_client):
    _, token = make_client()
    assert {api_book(client, token).status_code for _ in range(8)} == {409}


def test_malformed_limit_fails_at_start(tmp_path):
    from service import create_app

    with pytest.raises(ConfigError, match="RATELIMIT_BOOKING"):
        create_app(app_config(tmp_path, RATELIMIT_BOOKING="ten per minute"))
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app(app_config(tmp_path, TRUSTED_PROXIES=-1))


def test_limit_keys_never_hold_the_link_token(app, make_client):
    _, token = make_client()
    with app.test_request_context("/api/v1/bookings", method="POST", json={"token": token}):
        key = limits.token_key()
    assert token not in key and key.startswith("token:")



def test_regression_answers_under_the_limit_carry_no_rate_limit_headers(client, make_client):
    """#19: the X-RateLimit-* headers cost the limit storage one more round trip on every
    answer (a third of a cached slots answer under Redis); only a 429 says when to retry."""
    _, token = make_client()
    answer = client.get(f"/api/v1/slots?token={token}")
    assert answer.status_code == 200
    assert not [name for name in (key for key, _ in answer.headers.items()) if name.lower().startswith("x-ratelimit")]
    assert "Retry-After" not in answer.headers


def test_retry_after_is_within_the_broken_limits_window(client, make_client):
    _, token = make_client()
    for _ in range(3):
        api_book(client, token)
    limited = api_book(client, token)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


# -- counted in Redis, shared by processes, in batches ------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix():
    """A fresh counter namespace in the local Redis, emptied afterwards."""
    require_redis(REDIS_URL)
    prefix = f"ch-test-{secrets.token_hex(4)}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(match=f"*{prefix}*"))
    if keys:
        store.delete(*keys)


def _counters(count: int, batch: int = 50) -> list[limits.SharedCounter]:
    """``count`` processes' counters: each its own Redis connections, one shared counter."""
    return [limits.SharedCounter(storage_from_string(REDIS_URL), batch) for _ in range(count)]


def test_two_app_instances_sharing_redis_refuse_past_the_limit(app, db, db_url, tmp_path, make_client,
                                                               redis_prefix):
    """Two apps (two workers, or two hosts) on one Redis: one limit for the address."""
    shared = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix,
              "RATELIMIT_SLOTS": "5/minute"}
    _, token = make_client()
    apps = [create_app(app_config(tmp_path, DATABASE_URL=db_url, **shared)) for _ in range(2)]
    browsers = [a.test_client() for a in apps]
    codes = [browsers[i % 2].get(f"/api/v1/slots?token={token}").status_code for i in range(8)]
    assert codes == [200] * 5 + [429] * 3
    for other in apps:
        with other.app_context():
            db.engine.dispose()


def test_batched_counting_never_grants_more_than_the_limit_across_processes(redis_prefix):
    """Three processes hit one address in a random order: at most the limit is granted,
    at most (processes - 1) x (batch - 1) fewer, with one round trip per batch."""
    item = parse("1000/minute")  # batches of 10 (1/100 of the limit)
    counters = _counters(3)
    assert {c.batch(item) for c in counters} == {10}
    rng = random.Random(19)
    granted = [0, 0, 0]
    for _ in range(1300):
        who = rng.randrange(3)
        granted[who] += counters[who].hit(item, redis_prefix, "slots", "198.51.100.7")
    assert 1000 - 2 * 9 <= sum(granted) <= 1000
    assert all(granted)  # every process had its share
    trips = sum(c.round_trips for c in counters)
    assert trips <= 1000 // 10 + 3 * 3, trips  # a batch each, and a window end each
    # Full: refused without asking Redis again, and another address has its own budget.
    assert not any(c.hit(item, redis_prefix, "slots", "198.51.100.7") for c in counters)
    assert sum(c.round_trips for c in counters) == trips
    assert counters[0].hit(item, redis_prefix, "slots", "198.51.100.8")


def test_a_batch_never_outlives_its_window_in_redis(redis_prefix):
    """A batch is spent only while its window lives in Redis: a later window starts its
    own count, so hits left over never add to the next window's limit."""
    item = parse("1000/hour")
    first, second = _counters(2)
    assert first.hit(item, redis_prefix, "s", "a") and second.hit(item, redis_prefix, "s", "a")
    key = "LIMITS:" + item.key_for(redis_prefix, "s", "a")
    # At most this (PTTL counts whole milliseconds, measured after asking).
    expires = time.time() + (redis.Redis.from_url(REDIS_URL).pttl(key) + 1) / 1000
    for counter in (first, second):  # the one that opened the window, and the one that joined
        assert counter.reset_at(item, redis_prefix, "s", "a") <= expires


def test_small_limits_are_counted_one_request_at_a_time(redis_prefix):
    """The default limits (10 or 120 a minute) are exact across processes: batch 1."""
    item = parse("120/minute")
    counters = _counters(4)
    granted = sum(counters[i % 4].hit(item, redis_prefix, "slots", "x") for i in range(130))
    assert granted == 120
    assert {c.batch(item) for c in counters} == {1}


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
                                            "RATELIMIT_SLOTS": "3/minute"}])
def test_redis_down_still_limits_in_memory(client, make_client):
    _, token = make_client()
    codes = [client.get(f"/api/v1/slots?token={token}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_limits_go_back_to_redis_when_it_answers_again(redis_prefix, tmp_path):
    """Down: counted in memory; up again (asked after 1 s): counted in Redis again."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    limiter = limits.Limiter(f"redis://127.0.0.1:{port}/0", redis_prefix, batch=50)
    item = parse("5/minute")
    assert limiter.hit(item, "slots", "a")  # Redis is not there: memory
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        store = redis.Redis(port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                store.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        time.sleep(1.1)  # the first retry is after 1 s
        assert limiter.hit(item, "slots", "a")
        assert store.get("LIMITS:" + item.key_for(redis_prefix, "slots", "a")) == b"1"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_endpoints_without_limits_never_touch_the_storage(app, client):
    counter = app.extensions["counsel_limiter"].primary
    before = counter.round_trips
    assert [client.get("/healthz").status_code for _ in range(3)] == [200] * 3
    assert counter.round_trips == before
