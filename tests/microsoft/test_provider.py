"""MicrosoftProvider through real MSAL and requests against tests/microsoft_fake.py (TLS)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.intervals import Interval
from service.calendars.base import AuthError, OutgoingEvent, ProviderError, load
from service.calendars.microsoft.events import UID_PROPERTY, is_own_event, transaction_id
from service.calendars.microsoft.provider import MicrosoftProvider
from tests.microsoft.conftest import BERLIN, COURT, DEFAULT, at

WINDOW = Interval(datetime(2030, 3, 25, tzinfo=UTC), datetime(2030, 4, 8, tzinfo=UTC))


def test_load_picks_microsoft():
    assert load("microsoft") is MicrosoftProvider


def test_list_calendars_default_first_with_write_access(provider, fake):
    for n in range(12):
        fake.add_calendar(f"AAMkAGextra{n}", f"Extra {n}")
    calendars = provider.list_calendars()
    assert calendars[0].id == DEFAULT and provider.default_id == DEFAULT
    assert len(calendars) == 14
    writable = {c.id: c.writable for c in calendars}
    assert writable[DEFAULT] is True and writable[COURT] is False
    assert len(fake.calls("calendars.list")) == 2  # 100 asked for; Graph may send fewer per page


def test_requests_carry_a_bearer_from_msal_and_ask_for_utc(provider, fake):
    provider.sync(DEFAULT, None, WINDOW)
    (delta,) = fake.calls("calendarView.delta")
    assert delta.headers["Authorization"].startswith("Bearer EwB")
    assert 'outlook.timezone="UTC"' in delta.headers["Prefer"]
    assert delta.query["startDateTime"] == "2030-03-25T00:00:00Z"


def test_full_sync_reads_show_as_cancelled_and_all_day(provider, fake):
    fake.add_event(DEFAULT, at(26, 9), at(26, 10), subject="Meeting")
    fake.add_event(DEFAULT, at(26, 11), at(26, 12), showAs="free")
    fake.add_event(DEFAULT, at(26, 13), at(26, 14), showAs="tentative")
    fake.add_event(DEFAULT, at(26, 15), at(26, 16), showAs="oof")
    fake.add_event(DEFAULT, at(26, 17), at(26, 18), showAs="workingElsewhere")
    fake.add_event(DEFAULT, at(26, 19), at(26, 20), isCancelled=True)
    fake.add_event(DEFAULT, date(2030, 3, 27), date(2030, 3, 28))  # all day
    result = provider.sync(DEFAULT, None, WINDOW)
    assert result.full
    busy = sorted(i for intervals in result.changed.values() for i in intervals)
    assert busy == [
        Interval(at(26, 9), at(26, 10)),
        Interval(at(26, 13), at(26, 14)),
        Interval(at(26, 15), at(26, 16)),
        Interval(at(26, 17), at(26, 18)),
        # All day in the lawyer's zone: Berlin midnight to midnight, not UTC.
        Interval(at(27, 0), at(28, 0)),
    ]


def test_tentative_can_be_chosen_free_per_calendar(make_provider, fake):
    fake.add_event(DEFAULT, at(26, 13), at(26, 14), showAs="tentative")
    fake.add_event(COURT, at(26, 13), at(26, 14), showAs="tentative")
    provider = make_provider(free_show_as={DEFAULT: ["tentative"]})
    assert provider.sync(DEFAULT, None, WINDOW).changed == {}
    assert len(provider.sync(COURT, None, WINDOW).changed) == 1
    assert provider.busy(DEFAULT, WINDOW) == []


def test_windows_zone_event_comes_back_as_utc(provider, fake):
    # Made in Outlook in "Pacific Standard Time": 09:00 in Los Angeles on 26 March 2030
    # (PDT, UTC-7) is 16:00 UTC. Graph answers in UTC because we ask for it.
    pacific = datetime(2030, 3, 26, 16, tzinfo=UTC)
    fake.add_event(DEFAULT, pacific, pacific + timedelta(hours=1), zone="Pacific Standard Time")
    result = provider.sync(DEFAULT, None, WINDOW)
    assert list(result.changed.values()) == [[Interval(pacific, pacific + timedelta(hours=1))]]


def test_weekly_series_with_a_moved_and_a_cancelled_occurrence(provider, fake):
    # Mondays 10:00 Berlin, across the change to summer time on 31 March 2030.
    first = datetime(2030, 3, 25, 10, tzinfo=BERLIN)
    moved = datetime(2030, 4, 2, 15, tzinfo=BERLIN)  # the second one, moved to Tuesday
    series = fake.add_series(DEFAULT, first, first + timedelta(hours=1), weeks=4,
                             zone="W. Europe Standard Time", moved={1: moved}, cancelled={2})
    window = Interval(datetime(2030, 3, 24, tzinfo=UTC), datetime(2030, 4, 30, tzinfo=UTC))
    result = provider.sync(DEFAULT, None, window)
    assert sorted(i for v in result.changed.values() for i in v) == [
        Interval(first, first + timedelta(hours=1)),
        Interval(moved, moved + timedelta(hours=1)),
        Interval(datetime(2030, 4, 15, 10, tzinfo=BERLIN), datetime(2030, 4, 15, 11, tzinfo=BERLIN)),
    ]
    # Wall-clock 10:00 in both offsets: 09:00 UTC before the change, 08:00 after.
    assert datetime(2030, 4, 15, 8, tzinfo=UTC) in [i.start for v in result.changed.values() for i in v]
    # Cancelling the last occurrence arrives as @removed in the next delta.
    fake.cancel_occurrence(DEFAULT, series["id"], 3)
    again = provider.sync(DEFAULT, result.state, window)
    assert not again.full and again.deleted == {f"{series['id']}_3"}


def test_delta_pages_and_removed_entries(provider, fake):
    events = [fake.add_event(DEFAULT, at(26, 8) + timedelta(hours=n), at(26, 8) + timedelta(hours=n, minutes=30))
              for n in range(450)]
    first = provider.sync(DEFAULT, None, Interval(WINDOW.start, WINDOW.start + timedelta(days=30)))
    assert len(first.changed) == 450
    pages = fake.calls("calendarView.delta")
    assert len(pages) == 3 and "$skiptoken" in pages[1].query  # 200 + 200 + 50
    fake.remove_event(DEFAULT, events[0]["id"])
    fake.change_event(DEFAULT, events[1]["id"], showAs="free")
    added = fake.add_event(DEFAULT, at(30, 9), at(30, 10))
    second = provider.sync(DEFAULT, first.state, Interval(WINDOW.start, WINDOW.start + timedelta(days=30)))
    assert not second.full
    assert second.deleted == {events[0]["id"]}
    assert second.changed == {events[1]["id"]: [], added["id"]: [Interval(at(30, 9), at(30, 10))]}
    assert "$deltatoken" in fake.calls("calendarView.delta")[3].query


def test_sync_state_reset_means_full_resync(provider, fake):
    fake.add_event(DEFAULT, at(26, 9), at(26, 10))
    first = provider.sync(DEFAULT, None, WINDOW)
    fake.reset_sync(DEFAULT)
    second = provider.sync(DEFAULT, first.state, WINDOW)
    assert second.full and len(second.changed) == 1
    assert [r.query.get("$deltatoken") is not None for r in fake.calls("calendarView.delta")] == [False, True, False]


def test_window_beyond_the_covered_range_lists_again(provider, fake):
    first = provider.sync(DEFAULT, None, WINDOW)
    later = Interval(WINDOW.start + timedelta(days=20), WINDOW.end + timedelta(days=20))
    assert provider.sync(DEFAULT, first.state, later).full


def test_live_check_over_the_range_drops_our_own_events(provider, fake):
    fake.add_event(DEFAULT, at(26, 9), at(26, 10))
    provider.put_event(DEFAULT, OutgoingEvent(uid="b1-call@counselhours", start=at(26, 11), end=at(26, 12),
                                              summary="Call: Ivanov"))
    window = Interval(at(26, 0), at(27, 0))
    assert provider.busy(DEFAULT, window) == [Interval(at(26, 9), at(26, 10))]
    view = fake.calls("calendarView")[-1]
    assert "singleValueExtendedProperties" in view.query["$expand"]
    # The delta listing has no extended properties; the transactionId gives ours away.
    assert provider.sync(DEFAULT, None, WINDOW).changed.keys() == {
        e["id"] for e in fake.live_events(DEFAULT) if not is_own_event(e)
    }


def test_put_creates_with_transaction_id_and_property_then_updates(provider, fake):
    event = OutgoingEvent(uid="b2-call@counselhours", start=at(26, 11), end=at(26, 12), summary="Call: Petrova",
                          description="Agenda:\nlease", attendee_email="p@example.com", attendee_name="Petrova")
    provider.put_event(DEFAULT, event)
    (stored,) = fake.live_events(DEFAULT)
    assert stored["transactionId"] == transaction_id(event.uid)
    assert stored["singleValueExtendedProperties"] == [{"id": UID_PROPERTY, "value": event.uid}]
    assert stored["start"] == {"dateTime": "2030-03-26T10:00:00.0000000", "timeZone": "UTC"}
    assert "attendees" not in stored and "Petrova <p@example.com>" in stored["body"]["content"]
    moved = OutgoingEvent(uid=event.uid, start=at(27, 11), end=at(27, 12), summary="Call: Petrova")
    provider.put_event(DEFAULT, moved)
    (stored,) = fake.live_events(DEFAULT)
    assert stored["start"]["dateTime"] == "2030-03-27T10:00:00.0000000"
    assert [r.name for r in fake.requests if r.name.startswith("events.")] == [
        "events.list", "events.create", "events.list", "events.update"
    ]


def test_lost_answer_after_create_does_not_duplicate(provider, fake):
    fake.lose_responses(1)
    event = OutgoingEvent(uid="b3-call@counselhours", start=at(26, 11), end=at(26, 12), summary="Call")
    provider.put_event(DEFAULT, event)  # the retry is answered with the first event
    assert len(fake.live_events(DEFAULT)) == 1
    creates = fake.calls("events.create")
    assert len(creates) == 2 and creates[0].body["transactionId"] == creates[1].body["transactionId"]
    provider.put_event(DEFAULT, event)  # later: found again by its property, updated
    assert len(fake.live_events(DEFAULT)) == 1 and len(fake.calls("events.update")) == 1


def test_delete_finds_the_event_and_a_missing_one_is_fine(provider, fake):
    event = OutgoingEvent(uid="b4-prep@counselhours", start=at(26, 10), end=at(26, 11), summary="Prep")
    provider.put_event(DEFAULT, event)
    provider.delete_event(DEFAULT, event.uid)
    assert fake.live_events(DEFAULT) == []
    provider.delete_event(DEFAULT, event.uid)  # already gone
    assert len(fake.calls("events.delete")) == 1


def test_video_call_gets_teams_where_the_calendar_allows_it(provider, fake):
    fake.add_calendar("AAMkAGpersonal", "Personal", teams=False)
    call = OutgoingEvent(uid="b5-call@counselhours", start=at(26, 11), end=at(26, 12), summary="Call",
                         online_meeting=True)
    provider.list_calendars()
    provider.put_event(DEFAULT, call)
    provider.put_event("AAMkAGpersonal", call)
    (teams,) = fake.live_events(DEFAULT)
    assert teams["isOnlineMeeting"] and teams["onlineMeetingProvider"] == "teamsForBusiness"
    assert teams["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    (plain,) = fake.live_events("AAMkAGpersonal")
    assert "isOnlineMeeting" not in plain
    assert fake.calls("events.create")[1].body.get("isOnlineMeeting") is None


def test_429_with_retry_after_is_honoured(provider, fake, sleeps):
    fake.fail_next(2, 429, retry_after="3")
    provider.sync(DEFAULT, None, WINDOW)
    assert sleeps == [3.0, 3.0]
    assert len(fake.calls("calendarView.delta")) == 3


@pytest.mark.parametrize("status", [503, 504])
def test_503_and_504_are_retried_with_jitter(provider, fake, sleeps, status):
    fake.fail_next(1, status, code="ServiceNotAvailable")
    provider.sync(DEFAULT, None, WINDOW)
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 1.0


def test_retries_are_bounded(provider, fake, sleeps):
    fake.fail_next(10, 429, retry_after="1")
    with pytest.raises(ProviderError, match="429") as failure:
        provider.sync(DEFAULT, None, WINDOW)
    assert failure.value.retryable and len(sleeps) == 4


def test_a_retry_after_past_the_sleep_budget_is_left_to_the_caller(provider, fake, sleeps):
    fake.fail_next(1, 429, retry_after="120")
    with pytest.raises(ProviderError, match="429"):
        provider.sync(DEFAULT, None, WINDOW)
    assert sleeps == []


def test_other_errors_are_not_retried(provider, fake, sleeps):
    fake.fail_next(1, 400, code="ErrorInvalidRequest")
    with pytest.raises(ProviderError, match="400") as failure:
        provider.sync(DEFAULT, None, WINDOW)
    assert not failure.value.retryable and sleeps == []


def test_access_token_refused_early_is_refreshed_once(provider, fake):
    provider.list_calendars()
    stored = []
    provider.store_secret = stored.append
    fake.expire_access_tokens()  # MSAL still thinks its cached token is good
    assert provider.list_calendars()
    refreshes = [r for r in fake.calls("token") if r.body["grant_type"] == "refresh_token"]
    assert len(refreshes) == 2 and len(stored) == 1  # the fixture's refresh, then this one
    fake.revoke_all()
    with pytest.raises(AuthError, match="invalid_grant"):
        provider.list_calendars()


def test_revoked_refresh_token_is_an_auth_error(make_provider, fake, secret):
    import json

    cache = json.loads(secret["cache"])
    for token in cache["AccessToken"].values():  # the access token ran out
        token["expires_on"] = token["extended_expires_on"] = "1"
    provider = make_provider({**secret, "cache": json.dumps(cache)})
    fake.revoke_all()
    with pytest.raises(AuthError, match="invalid_grant"):
        provider.list_calendars()
    assert not AuthError.retryable


def test_refresh_stores_the_new_token_cache(make_provider, fake, secret):
    import json

    cache = json.loads(secret["cache"])
    for token in cache["AccessToken"].values():
        token["expires_on"] = token["extended_expires_on"] = "1"
    provider = make_provider({**secret, "cache": json.dumps(cache)})
    stored = []
    provider.store_secret = stored.append
    provider.list_calendars()
    (new,) = stored
    assert new["cache"] != secret["cache"] and new["home_account_id"] == secret["home_account_id"]
    refreshes = [r for r in fake.calls("token") if r.body["grant_type"] == "refresh_token"]
    assert len(refreshes) == 2  # the secret fixture's, then this one


def test_live_check_stays_within_its_budget(make_provider, fake, sleeps):
    """The check before a booking gives up within its budget on a slow Graph (the
    booking then fails closed) instead of waiting the read timeout on every retry."""
    provider = make_provider(live_budget=0.5)
    provider.list_calendars()  # the token is in hand
    fake.delay = 2.0
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no complete answer within 0.5 s"):
        provider.busy(DEFAULT, Interval(at(26, 9), at(26, 10)))
    assert time.monotonic() - started < 1.5 and len(fake.calls("calendarView")) <= 1  # no retry


def test_links_to_another_host_are_not_followed(provider, fake):
    """The bearer token goes to the configured Graph endpoint only, whatever a next or
    delta link (or a stored sync state) says."""
    import json

    state = json.dumps({"delta": "https://evil.example/v1.0/me/calendarView/delta?$deltatoken=x",
                        "until": WINDOW.end.isoformat()})
    with pytest.raises(ProviderError, match="another host"):
        provider.sync(DEFAULT, state, WINDOW)
    assert fake.calls("calendarView.delta") == []
