"""Slot answers replayed in front of Flask (``service/web/replay.py``, #19).

The replay keeps a slots API answer for ``SLOTS_REPLAY_MS`` and gives it again, byte for
byte, to the same request, without entering the app; a commit in this process, the time
running out, or a request that is personal (cookie, Origin) goes to the app again. A
write by another process (here: another engine on the same database, which this app's
engine never sees commit) is visible once the time has run out.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service import create_app
from service.core.config import ConfigError
from tests.conftest import app_config

pytestmark = pytest.mark.db_matrix

RANGE = {"from": "2026-03-02", "to": "2026-03-13"}
WED_14 = "2026-03-04T13:00:00+00:00"  # 14:00 in Berlin


@pytest.fixture
def app_overrides() -> dict:
    return {"SLOTS_REPLAY_MS": 1000}


@pytest.fixture
def entered(app):
    """The requests that reached the app's views (a replayed one does not)."""
    seen: list[str] = []

    @app.before_request
    def count():
        from flask import request

        seen.append(request.full_path)

    return seen


def slots(client, token, **headers):
    headers = {name: value for name, value in headers.items() if value is not None}
    return client.get("/api/v1/slots", query_string={"token": token, **RANGE}, headers=headers)


def starts(response) -> list[str]:
    return [slot["start"] for slot in response.get_json()["slots"]]


def test_the_same_request_is_answered_again_without_entering_the_app(client, make_client, entered, frozen):
    _, token = make_client()
    first = slots(client, token)
    again = slots(client, token)
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and WED_14 in starts(first)
    assert sorted(again.headers.items()) == sorted(first.headers.items())
    assert len(entered) == 1
    other_range = client.get("/api/v1/slots", query_string={"token": token, "from": "2026-03-02"})
    assert other_range.status_code == 200 and len(entered) == 2


def test_a_booking_in_this_process_ends_the_replay_at_once(client, make_client, entered, frozen):
    _, token = make_client()
    assert WED_14 in starts(slots(client, token))
    booked = client.post("/api/v1/bookings", json={
        "token": token, "start": WED_14, "name": "Boris", "email": "boris@client.example",
        "agenda": "Draft settlement"})
    assert booked.status_code == 201
    after = slots(client, token)
    assert WED_14 not in starts(after)
    assert len(entered) == 3


def test_a_write_of_another_process_shows_once_the_replay_time_has_run_out(app, db, client, make_client,
                                                                           entered, frozen):
    row, token = make_client()
    assert slots(client, token).status_code == 200
    other = sa.create_engine(db.engine.url)  # another process's connection: no commit seen here
    try:
        with other.begin() as connection:
            connection.execute(sa.text("UPDATE client SET status = 'archived' WHERE id = :id"), {"id": row.id})
    finally:
        other.dispose()
    db.session.rollback()  # the test's own session (one app context for all requests) reads anew
    frozen.tick(timedelta(milliseconds=999))
    assert slots(client, token).status_code == 200  # within the replay time: the answer kept
    assert len(entered) == 1
    frozen.tick(timedelta(milliseconds=1))
    assert slots(client, token).status_code == 404  # the link is archived
    assert len(entered) == 2


def test_personal_requests_and_refusals_always_reach_the_app(client, make_client, entered, frozen):
    _, token = make_client()
    for _ in range(2):
        client.set_cookie("lang", "ru")
        assert slots(client, token).status_code == 200
        client.delete_cookie("lang")
        assert slots(client, token, Authorization="Bearer x").status_code == 200
        assert slots(client, "not-a-token").status_code == 404
        assert client.head("/api/v1/slots", query_string={"token": token, **RANGE}).status_code == 200
    assert len(entered) == 8


def test_the_widgets_requests_are_replayed_per_origin(db, client, make_client, entered, frozen):
    from service.storage.models import EmbedOrigin

    row, token = make_client()
    db.session.add(EmbedOrigin(lawyer_id=row.lawyer_id, origin="https://lawyer.example"))
    db.session.commit()
    answers = [slots(client, token, Origin=origin) for origin in
               ("https://lawyer.example", "https://other.example", "https://lawyer.example",
                "https://other.example", None)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.headers.get("Access-Control-Allow-Origin") for a in answers] == [
        "https://lawyer.example", None, "https://lawyer.example", None, None]
    assert len(entered) == 3  # each origin once, and the request without one


def test_an_answer_computed_while_this_process_committed_is_not_kept(app, db, client, make_client, frozen):
    """A commit during the request (another thread, here a hook of the request itself)
    may have changed what the answer was computed from: the answer is given, not kept."""
    from service.storage.models import AuditEvent

    _, token = make_client()
    commits = []

    @app.before_request
    def commit_meanwhile():
        if len(commits) < 1:
            db.session.add(AuditEvent(actor_kind="system", action="test.meanwhile"))
            db.session.commit()
        commits.append(1)

    assert slots(client, token).status_code == 200  # committed meanwhile: not kept
    assert slots(client, token).status_code == 200  # computed again, kept
    assert slots(client, token).status_code == 200  # replayed
    assert len(commits) == 2


@pytest.mark.parametrize("app_overrides", [{"SLOTS_REPLAY_MS": 1000, "RATELIMIT_ENABLED": True,
                                            "RATELIMIT_SLOTS": "3/minute"}])
def test_replayed_answers_count_against_the_slots_limit(app, client, make_client):
    """Not under a frozen clock: the memory storage's expiry thread reads the real one."""
    _, token = make_client()
    answers = [slots(client, token).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    refused = slots(client, token)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert app.extensions["slots_replay"].answers  # the answer was kept and replayed


@pytest.mark.parametrize("app_overrides", [{"SLOTS_REPLAY_MS": 0}])
def test_replay_off(client, make_client, entered, frozen):
    _, token = make_client()
    for _ in range(3):
        assert slots(client, token).status_code == 200
    assert len(entered) == 3


@pytest.mark.parametrize("value", ["-1", "1s", "0.5"])
def test_a_bad_replay_setting_fails_at_start_up(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SLOTS_REPLAY_MS", value)
    config = app_config(tmp_path)
    config.pop("SLOTS_REPLAY_MS")
    with pytest.raises(ConfigError, match="SLOTS_REPLAY_MS"):
        create_app(config)


def test_the_replay_refuses_to_start_if_the_views_limits_need_the_request(tmp_path, monkeypatch):
    """A limit keyed on more than the address (a token in the body, say) cannot be counted
    in front of Flask: the replay would let such requests through uncounted."""
    from service.web import limits, replay

    monkeypatch.setattr(replay, "RULES", (limits.SLOTS_BY_IP, limits.BOOKING_BY_TOKEN))
    with pytest.raises(RuntimeError, match="limited by address"):
        create_app(app_config(tmp_path, SLOTS_REPLAY_MS=1000))
