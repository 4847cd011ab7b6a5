"""Rate limits shared by 4 gunicorn workers through real Redis; forged headers buy nothing."""

from __future__ import annotations

import re
import secrets
from collections import Counter

import pytest
import redis

from tests.servers import Gunicorn, in_app, race, request, require_redis, server_env

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
PAST = "2020-03-04T13:00:00+00:00"  # refused with 409: counts without booking anything


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_redis(REDIS_URL)
    tmp = tmp_path_factory.mktemp("limits")
    prefix = f"ch-test-{secrets.token_hex(4)}"
    env = server_env(
        f"sqlite:///{tmp / 'limits.db'}", tmp / "instance",
        RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix,
        RATELIMIT_BOOKING="5/minute", RATELIMIT_BOOKING_TOKEN="8/minute", RATELIMIT_SLOTS="6/minute",
    )
    try:
        with Gunicorn(env, workers=4, log_dir=tmp) as gunicorn:
            yield gunicorn
    finally:
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)


def new_token(server) -> str:
    def work():
        from service.storage.extensions import db
        from service.storage.models import Lawyer
        from service.usecases.clients import create_client

        lawyer = Lawyer(name="Anna", email=f"anna-{secrets.token_hex(4)}@limits.example",
                        timezone="Europe/Berlin")
        db.session.add(lawyer)
        _, token = create_client(lawyer, name="Boris", email="boris@client.example",
                                 windows="mon 10:00-12:00", duration_min=30, prep_min=0)
        db.session.commit()
        return token

    return in_app(server.env, work)


def booking(token: str, forged: str | None = None) -> tuple:
    body = {"token": token, "start": PAST, "name": "Boris", "email": "boris@client.example",
            "agenda": "Clause 4"}
    return ("POST", "/api/v1/bookings", body, {"X-Forwarded-For": forged} if forged else None)


def pids(server, path_part: str) -> set[str]:
    return {line.split()[0] for line in server.access_log.read_text().splitlines() if path_part in line}


def test_booking_limit_is_shared_by_all_workers_despite_forged_forwarded_for(server):
    token = new_token(server)
    replies = []
    for batch in range(6):  # until several workers have answered (the kernel picks them)
        calls = [booking(token, forged=f"203.0.113.{i}, 198.51.100.{batch}") for i in range(20)]
        calls = [("POST", "/api/v1/bookings?case=shared", *call[2:]) for call in calls]
        replies += race(server.url, calls)
        if len(pids(server, "case=shared")) > 1:
            break
    assert len(pids(server, "case=shared")) > 1, "one worker answered everything"
    assert Counter(r.status for r in replies) == {409: 5, 429: len(replies) - 5}
    assert all(r.json()["error"]["code"] == "rate_limited" for r in replies if r.status == 429)


def test_booking_limit_per_link_is_shared_across_real_addresses(server):
    token = new_token(server)
    statuses = [
        request(server.url, *booking(token)[:2], body=booking(token)[2], source=f"127.0.0.{10 + i}").status
        for i in range(12)
    ]
    assert statuses == [409] * 8 + [429] * 4


def test_slot_limit_is_shared_by_all_workers(server):
    token = new_token(server)
    calls = [("GET", f"/api/v1/slots?token={token}", None, {"X-Forwarded-For": f"192.0.2.{i}"})
             for i in range(16)]
    replies = race(server.url, calls)
    assert Counter(r.status for r in replies) == {200: 6, 429: 10}
    log = server.access_log.read_text()
    assert not re.search(r'"GET /api/v1/slots\?token=\S+ HTTP/1.1" 500', log)
