"""Graph answers are bounded like every calendar answer (service/calendars/bounded.py):
a huge answer is cut at CALENDAR_MAX_BYTES, a dripping one at the total deadline, and the
calendars page says so in the same words as for CalDAV, feeds and Google."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.calendars import sync
from service.calendars.base import ProviderError
from service.calendars.microsoft import accounts, oauth
from service.storage.models import Calendar, utcnow
from tests.microsoft.conftest import DEFAULT
from tests.microsoft.test_web import signed_in  # noqa: F401 (fixture)

LIMIT_SECONDS = 2


@pytest.fixture
def bounded_app(app):
    app.config["CALENDAR_MAX_BYTES"] = 1024 * 1024
    app.config["CALENDAR_READ_TIMEOUT_SECONDS"] = LIMIT_SECONDS
    return app


@pytest.fixture
def calendar(db, bounded_app, signed_in, fake):  # noqa: F811
    accounts.connect(signed_in, oauth.from_refresh_token(fake.refresh_token()))
    return db.session.scalar(sa.select(Calendar).where(Calendar.remote_id == DEFAULT))


@pytest.mark.parametrize(
    ("mode", "error", "page"),
    [
        ("huge", "Microsoft Graph: answer larger than 1 MB, cut off", "larger than 1 MB and was cut off"),
        ("drip", f"Microsoft Graph: no complete answer within {LIMIT_SECONDS} s, cut off",
         f"no complete answer within {LIMIT_SECONDS} s and was cut"),
    ],
)
def test_hostile_graph_answer_is_cut_off_with_the_calendars_page_message(client, db, calendar, fake, mode,
                                                                          error, page):
    fake.misbehaving["calendarView.delta"] = mode
    started = time.monotonic()
    report = sync.sync_calendar(calendar, utcnow())
    assert time.monotonic() - started < LIMIT_SECONDS + 3
    assert not report["ok"] and report["error"] == error
    assert len(fake.calls("calendarView.delta")) == 1  # a cut-off answer is not asked again
    text = client.get("/admin/calendars").get_data(as_text=True)
    assert page in text


def test_dripping_graph_holds_the_live_check_no_longer_than_its_budget(db, calendar, fake):
    from booking.intervals import Interval
    from service.calendars.microsoft.provider import MicrosoftProvider

    fake.misbehaving["calendarView"] = "drip"
    provider = sync.provider_for(calendar.account)
    assert isinstance(provider, MicrosoftProvider)
    provider.live_budget = 1.0
    now = utcnow()
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError, match=r"no complete answer within (0\.\d|1) s"):
            provider.busy(DEFAULT, Interval(now, now + timedelta(hours=1)))
    finally:
        provider.close()
    assert time.monotonic() - started < 2.5
