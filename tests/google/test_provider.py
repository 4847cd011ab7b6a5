"""GoogleProvider through the real google-api-python-client against tests/google_fake.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.intervals import Interval
from service.calendars.base import AuthError, OutgoingEvent, ProviderError, load
from service.calendars.google.events import event_id, uid_from_event_id
from service.calendars.google.provider import GoogleProvider
from tests.google.conftest import at, timed

WINDOW = Interval(datetime(2030, 3, 25, tzinfo=UTC), datetime(2030, 4, 8, tzinfo=UTC))


def test_load_picks_google():
    assert load("google") is GoogleProvider


def test_event_id_is_base32hex_and_reversible():
    uid = "b7Kx-9_q.prep@counselhours"
    eid = event_id(uid)
    assert set(eid) <= set("abcdefghijklmnopqrstuv0123456789") and 5 <= len(eid) <= 1024
    assert uid_from_event_id(eid) == uid
    assert uid_from_event_id("x" * 10) is None  # outside base32hex
    assert uid_from_event_id("abc123def456_20300325T100000Z") is None  # a recurring instance


def test_list_calendars_primary_first_with_write_access(provider, fake):
    fake.add_calendar("team@group.calendar.google.com", "Team", access_role="writer")
    calendars = provider.list_calendars()
    assert calendars[0].id == "lawyer@example.com" and provider.primary_id == calendars[0].id
    writable = {c.id: c.writable for c in calendars}
    assert writable == {
        "lawyer@example.com": True,
        "court@group.calendar.google.com": False,
        "team@group.calendar.google.com": True,
    }


def test_list_calendars_pages(provider, fake):
    for n in range(260):
        fake.add_calendar(f"c{n}@group.calendar.google.com")
    assert len(provider.list_calendars()) == 262
    assert [r.query.get("pageToken") is not None for r in fake.calls("calendarList.list")] == [
        False,
        True,
    ]


def test_busy_from_two_conflict_calendars(provider, fake):
    fake.add_event("lawyer@example.com", **timed(at(26, 10), at(26, 11)))
    fake.add_event("court@group.calendar.google.com", **timed(at(26, 14), at(26, 16)))
    fake.add_event(
        "lawyer@example.com", transparency="transparent", **timed(at(26, 12), at(26, 13))
    )
    window = Interval(at(26, 0), at(27, 0))
    busy = provider.busy_many(["lawyer@example.com", "court@group.calendar.google.com"], window)
    assert busy == {
        "lawyer@example.com": [Interval(at(26, 10), at(26, 11))],
        "court@group.calendar.google.com": [Interval(at(26, 14), at(26, 16))],
    }
    assert provider.busy("court@group.calendar.google.com", window) == [
        Interval(at(26, 14), at(26, 16))
    ]
    query = fake.calls("freebusy.query")[0].body
    assert query["timeMin"] == "2030-03-25T23:00:00Z" and len(query["items"]) == 2


def test_busy_unknown_calendar_is_an_error(provider):
    with pytest.raises(ProviderError, match="notFound"):
        provider.busy("gone@group.calendar.google.com", WINDOW)


def test_full_sync_honours_transparency_cancelled_declined_and_all_day(provider, fake):
    cal = "lawyer@example.com"
    meeting = fake.add_event(cal, summary="Meeting", **timed(at(26, 9), at(26, 10)))
    fake.add_event(cal, transparency="transparent", **timed(at(26, 11), at(26, 12)))
    gone = fake.add_event(cal, **timed(at(26, 13), at(26, 14)))
    fake.remove_event(cal, gone["id"])
    fake.add_event(
        cal,
        attendees=[{"email": "lawyer@example.com", "self": True, "responseStatus": "declined"}],
        **timed(at(26, 15), at(26, 16)),
    )
    # All-day on the day of the DST change: 23 hours in Berlin, from local midnight.
    holiday = fake.add_event(cal, start={"date": "2030-03-31"}, end={"date": "2030-04-01"})
    result = provider.sync(cal, None, WINDOW)
    assert result.full
    assert result.changed == {
        meeting["id"]: [Interval(at(26, 9), at(26, 10))],
        holiday["id"]: [Interval(at(31, 0), at(1, 0, month=4))],
    }
    (start, end) = result.changed[holiday["id"]][0]
    assert start == datetime(2030, 3, 30, 23, tzinfo=UTC) and end - start == timedelta(hours=23)
    (listing,) = fake.calls("events.list")
    assert listing.query["singleEvents"] == "true"
    assert listing.query["timeMin"] == "2030-03-25T00:00:00Z"
    assert "syncToken" not in listing.query


def test_full_sync_skips_own_events(provider, fake):
    provider.put_event(
        "primary",
        OutgoingEvent(uid="abc@counselhours", start=at(26, 9), end=at(26, 10), summary="Call"),
    )
    other = fake.add_event("lawyer@example.com", **timed(at(26, 9), at(26, 10)))
    result = provider.sync("primary", None, WINDOW)
    assert set(result.changed) == {other["id"]}


def test_full_sync_pages_and_keeps_the_sync_token(provider, fake):
    cal = "lawyer@example.com"
    for n in range(2600):
        start = at(26, 8) + timedelta(minutes=n)
        fake.add_event(cal, **timed(start, start + timedelta(minutes=1)))
    result = provider.sync(cal, None, WINDOW)
    assert len(result.changed) == 2600 and result.requests == 2
    assert result.state and '"token": "' in result.state
    assert [("pageToken" in r.query) for r in fake.calls("events.list")] == [False, True]


def test_incremental_sync_sends_only_the_token(provider, fake):
    cal = "lawyer@example.com"
    moved = fake.add_event(cal, **timed(at(26, 9), at(26, 10)))
    freed = fake.add_event(cal, **timed(at(27, 9), at(27, 10)))
    dropped = fake.add_event(cal, **timed(at(28, 9), at(28, 10)))
    first = provider.sync(cal, None, WINDOW)
    assert len(first.changed) == 3

    fake.change_event(cal, moved["id"], **timed(at(26, 15), at(26, 16)))
    fake.change_event(cal, freed["id"], transparency="transparent")
    fake.remove_event(cal, dropped["id"])
    added = fake.add_event(cal, start={"date": "2030-03-29"}, end={"date": "2030-03-30"})
    second = provider.sync(cal, first.state, WINDOW)

    assert not second.full
    assert second.changed == {
        moved["id"]: [Interval(at(26, 15), at(26, 16))],
        freed["id"]: [],
        added["id"]: [Interval(at(29, 0), at(30, 0))],
    }
    assert second.deleted == {dropped["id"]}
    incremental = fake.calls("events.list")[-1].query
    assert set(incremental) == {"alt", "syncToken", "singleEvents", "maxResults"}
    third = provider.sync(cal, second.state, WINDOW)
    assert (third.changed, third.deleted, third.full) == ({}, set(), False)


def test_incremental_sync_frees_events_moved_out_of_range(provider, fake):
    cal = "lawyer@example.com"
    event = fake.add_event(cal, **timed(at(26, 9), at(26, 10)))
    first = provider.sync(cal, None, WINDOW)
    fake.change_event(cal, event["id"], **timed(at(20, 9, month=9), at(20, 10, month=9)))
    second = provider.sync(cal, first.state, WINDOW)
    assert second.changed == {event["id"]: []}


def test_expired_sync_token_recovers_with_a_full_sync(provider, fake):
    cal = "lawyer@example.com"
    kept = fake.add_event(cal, **timed(at(26, 9), at(26, 10)))
    first = provider.sync(cal, None, WINDOW)
    fake.expire_sync_tokens(cal)
    result = provider.sync(cal, first.state, WINDOW)
    assert result.full and result.changed == {kept["id"]: [Interval(at(26, 9), at(26, 10))]}
    statuses = [r.query.get("syncToken") is not None for r in fake.calls("events.list")]
    assert statuses == [False, True, False] and result.requests == 2


def test_window_past_the_covered_range_triggers_a_full_sync(provider, fake):
    cal = "lawyer@example.com"
    first = provider.sync(cal, None, WINDOW)
    later = Interval(WINDOW.start + timedelta(days=20), WINDOW.end + timedelta(days=20))
    assert provider.sync(cal, first.state, later).full
    assert provider.sync(cal, "garbage", WINDOW).full


def test_fake_refuses_sync_token_with_time_bounds(provider, fake):
    """The fake enforces Google's rule, so the provider cannot get it wrong unnoticed."""
    from googleapiclient.errors import HttpError

    listing = provider.service.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as caught:
        provider.service.events().list(
            calendarId="primary",
            syncToken=listing["nextSyncToken"],
            timeMin="2030-03-25T00:00:00Z",
        ).execute()
    assert caught.value.status_code == 400


def call(uid="q1w2e3@counselhours", start=None, minutes=60) -> OutgoingEvent:
    start = start or at(26, 10)
    return OutgoingEvent(
        uid=uid,
        start=start,
        end=start + timedelta(minutes=minutes),
        summary="Call: Ms Client",
        description="Agenda: lease dispute",
        attendee_email="client@example.org",
        attendee_name="Ms Client",
    )


def test_put_event_inserts_with_a_deterministic_id(provider, fake):
    provider.put_event("primary", call())
    (event,) = fake.live_events("lawyer@example.com")
    assert event["id"] == event_id("q1w2e3@counselhours")
    assert event["start"] == {"dateTime": "2030-03-26T09:00:00Z"}
    assert "Ms Client <client@example.org>" in event["description"]
    assert "attendees" not in event
    assert fake.calls("events.insert")[0].query["sendUpdates"] == "none"


def test_put_event_again_reschedules_by_patching(provider, fake):
    provider.put_event("primary", call())
    provider.put_event("primary", call(start=at(27, 15)))
    (event,) = fake.live_events("lawyer@example.com")
    assert event["start"] == {"dateTime": "2030-03-27T14:00:00Z"}
    assert [r.name for r in fake.requests if r.name.startswith("events.")] == [
        "events.insert",
        "events.insert",
        "events.patch",
    ]


def test_insert_is_idempotent_when_the_response_is_lost(provider, fake, sleeps):
    """Regression guard: a retried insert after a lost response must not duplicate."""
    fake.lose_responses(2)  # the first two answers are lost (the bounded transport does
    # not resend on its own as httplib2 did: the retry policy's second retry is the third call)
    provider.put_event("primary", call())
    assert len(fake.live_events("lawyer@example.com")) == 1
    assert len(fake.calls("events.insert")) == 3 and len(sleeps) == 2


def test_lost_response_then_outbox_retry_makes_one_event(make_provider, fake):
    secret = fake.authorize()
    fake.lose_responses(10)
    with pytest.raises(ProviderError) as caught:
        make_provider(secret).put_event("primary", call())
    assert caught.value.retryable
    fake.clear_faults()  # the network is back; the worker tries again
    make_provider(secret).put_event("primary", call())
    assert len(fake.live_events("lawyer@example.com")) == 1


def test_deleted_event_comes_back_when_put_again(provider, fake):
    provider.put_event("primary", call())
    provider.delete_event("primary", "q1w2e3@counselhours")
    assert fake.live_events("lawyer@example.com") == []
    provider.put_event("primary", call())
    assert len(fake.live_events("lawyer@example.com")) == 1


def test_delete_is_idempotent(provider, fake):
    provider.put_event("primary", call())
    provider.delete_event("primary", "q1w2e3@counselhours")
    provider.delete_event("primary", "q1w2e3@counselhours")  # 410 deleted
    provider.delete_event("primary", "never-written@counselhours")  # 404
    assert [r.name for r in fake.requests if r.name == "events.delete"] == ["events.delete"] * 3


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, "rateLimitExceeded"),
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (503, "backendError"),
    ],
)
def test_transient_errors_are_retried_with_backoff(provider, fake, sleeps, status, reason):
    fake.fail_next(2, status, reason)
    provider.put_event("primary", call())
    assert len(fake.live_events("lawyer@example.com")) == 1
    assert len(sleeps) == 2 and all(0 <= s <= provider.base_delay * 2 for s in sleeps)


def test_backoff_is_bounded(provider, fake, sleeps):
    fake.fail_next(50, 503)
    with pytest.raises(ProviderError) as caught:
        provider.sync("primary", None, WINDOW)
    assert caught.value.retryable
    assert len(fake.calls("events.list")) == provider.max_attempts
    assert len(sleeps) == provider.max_attempts - 1
    assert sum(sleeps) <= provider.max_total_sleep


def test_total_sleep_is_capped(make_provider, fake, sleeps):
    provider = make_provider()
    provider.base_delay = 100.0
    provider.max_total_sleep = 1.0
    fake.fail_next(50, 429, "rateLimitExceeded")
    with pytest.raises(ProviderError):
        provider.busy("primary", WINDOW)
    assert sum(sleeps) <= 1.0


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "invalid"), (404, "notFound"), (403, "forbidden")]
)
def test_other_client_errors_are_not_retried(provider, fake, sleeps, status, reason):
    fake.fail_next(1, status, reason)
    with pytest.raises(ProviderError) as caught:
        provider.put_event("primary", call())
    assert not caught.value.retryable
    assert sleeps == [] and len(fake.calls("events.insert")) == 1


def test_writing_to_a_read_only_calendar_fails_permanently(provider, fake, sleeps):
    with pytest.raises(ProviderError, match="writer access") as caught:
        provider.put_event("court@group.calendar.google.com", call())
    assert not caught.value.retryable and sleeps == []


def test_revoked_refresh_token_is_an_auth_error(provider, fake):
    fake.revoke(provider.secret["refresh_token"])
    with pytest.raises(AuthError) as caught:
        provider.sync("primary", None, WINDOW)
    message = str(caught.value)
    assert "revoked" in message and provider.secret["refresh_token"] not in message
    assert fake.calls("events.list") == []


def test_revoked_after_use_is_an_auth_error(provider, fake):
    provider.list_calendars()
    fake.revoke(provider.secret["refresh_token"])  # also kills the access token in use
    with pytest.raises(AuthError, match="revoked"):
        provider.busy("primary", WINDOW)


def test_token_uri_from_config_is_used(provider, fake):
    provider.list_calendars()
    (refresh,) = fake.calls("token")
    assert refresh.body["grant_type"] == "refresh_token"
    assert provider.current_secret()["token"].startswith("ya29.")


def test_incomplete_secret_is_an_auth_error(make_provider):
    with pytest.raises(AuthError, match="incomplete"):
        make_provider({"client_id": "x"}).list_calendars()


def test_watch_and_stop_channel(provider, fake):
    channel_id, resource_id, expires = provider.watch(
        "primary", "https://counsel.example/hooks/google", "tok", ttl=timedelta(days=2)
    )
    assert fake.channels[channel_id]["token"] == "tok"
    assert fake.channels[channel_id]["resourceId"] == resource_id
    assert timedelta(days=1) < expires - datetime.now(UTC) <= timedelta(days=2)
    provider.stop_channel(channel_id, resource_id)
    assert channel_id not in fake.channels
    provider.stop_channel(channel_id, resource_id)  # already gone: fine


def test_watch_needs_https(provider):
    with pytest.raises(ProviderError, match="HTTPS") as caught:
        provider.watch("primary", "http://127.0.0.1:8000/hooks/google", "tok")
    assert not caught.value.retryable


def test_busy_ignores_own_events_so_a_call_can_move_onto_its_old_time(provider, fake):
    """Regression: free/busy counted the call's own event and refused an overlapping move."""
    provider.put_event("primary", call(start=at(26, 10)))  # the booked call, 10:00-11:00
    fake.add_event("lawyer@example.com", **timed(at(26, 11, 30), at(26, 12)))
    window = Interval(at(26, 10, 30), at(26, 12, 30))
    assert provider.busy("primary", window) == [Interval(at(26, 11, 30), at(26, 12))]
    assert len(fake.calls("freebusy.query")) == 1 and len(fake.calls("events.list")) == 1
    assert provider.busy("primary", Interval(at(26, 10), at(26, 11))) == []


def test_busy_needs_one_request_when_free(provider, fake):
    assert provider.busy("primary", Interval(at(26, 10), at(26, 11))) == []
    assert [r.name for r in fake.requests if r.name != "token"] == ["freebusy.query"]


def test_busy_keeps_free_busy_when_listing_is_not_allowed(provider, fake, sleeps):
    """A calendar shared as free/busy only: its free/busy answer stands as it is."""
    fake.add_calendar("boss@example.com", access_role="freeBusyReader")
    fake.add_event("boss@example.com", **timed(at(26, 9), at(26, 10)))
    fake.fail_next(1, 404, "notFound", method="events.list")
    window = Interval(at(26, 9), at(26, 12))
    assert provider.busy("boss@example.com", window) == [Interval(at(26, 9), at(26, 10))]
    assert sleeps == [] and len(fake.calls("events.list")) == 1


def test_busy_fails_when_the_refinement_keeps_failing(provider, fake):
    fake.add_event("lawyer@example.com", **timed(at(26, 9), at(26, 10)))
    fake.fail_next(provider.max_attempts, 503, method="events.list")
    with pytest.raises(ProviderError) as caught:
        provider.busy("primary", Interval(at(26, 9), at(26, 12)))
    assert caught.value.retryable


def test_stored_access_token_is_reused_until_google_rejects_it(make_provider, fake):
    first = make_provider()
    first.list_calendars()
    stored = first.current_secret()
    assert stored["token"].startswith("ya29.") and stored["expiry"].endswith("Z")
    fake.requests.clear()
    make_provider(stored).list_calendars()
    assert fake.calls("token") == []
    # A stale token without expiry: Google answers 401, the client refreshes once.
    stale = {**stored, "token": "ya29.stale"}
    del stale["expiry"]
    make_provider(stale).list_calendars()
    assert len(fake.calls("token")) == 1


@pytest.mark.parametrize("bad_id", ["abcd", "ABCDEF12", "wxyz12345", "a" * 1025])
def test_fake_refuses_ids_outside_base32hex(provider, bad_id):
    """Google's id rules, enforced by the fake: a-v0-9, 5 to 1024 characters."""
    from googleapiclient.errors import HttpError

    body = {"id": bad_id, **timed(at(26, 9), at(26, 10))}
    with pytest.raises(HttpError) as caught:
        provider.service.events().insert(calendarId="primary", body=body).execute()
    assert caught.value.status_code == 400


def test_uid_too_long_for_an_event_id():
    with pytest.raises(ValueError, match="too long"):
        event_id("x" * 700 + "@counselhours")
