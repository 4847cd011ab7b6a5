"""The calendars page: connect (through the provider interface), choose, sync now, disconnect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.calendars.base import AuthError, ProviderError, RemoteCalendar
from service.calendars.caldav.provider import CalDAVProvider
from service.calendars.ics.provider import ICSProvider
from service.jobs import worker
from service.storage.models import BusyBlock, Calendar, CalendarAccount, OutboxTask
from service.usecases import calendar_connect
from tests.admin.conftest import post


class FakeProvider:
    """Stands in for a calendar server (the rules for settings and labels stay the real
    provider's, below); records what it was built with."""

    seen: list = []
    fail: Exception | None = None
    calendars = [RemoteCalendar("https://dav.example/cal/work/", "Work"),
                 RemoteCalendar("https://dav.example/cal/home/", "Home")]

    def __init__(self, config, secret, tz):
        FakeProvider.seen.append((config, secret))

    def close(self):
        pass

    def list_calendars(self):
        if FakeProvider.fail:
            raise FakeProvider.fail
        return FakeProvider.calendars

    def busy(self, calendar_id, window):
        raise AssertionError("no reading inside a request")

    def sync(self, calendar_id, state, window):
        raise AssertionError("no syncing inside a request")


class FakeCalDAV(FakeProvider, CalDAVProvider):
    pass


class FakeFeed(FakeProvider, ICSProvider):
    pass


@pytest.fixture
def fake_provider(monkeypatch):
    FakeProvider.seen, FakeProvider.fail = [], None
    monkeypatch.setattr(calendar_connect, "load", {"caldav": FakeCalDAV, "ics": FakeFeed}.get)
    return FakeProvider


def connect(admin, **fields):
    data = {"url": "https://dav.example/remote.php/dav", "username": "anna", "password": "app-pass-123"} | fields
    return post(admin, "/admin/calendars/caldav", data, token_from="/admin/calendars")


@pytest.mark.db_matrix
def test_connect_caldav_stores_calendars_encrypted_secret_and_queues_sync(admin, lawyer, fake_provider, db):
    """The same shape of account as ``flask calendar add-caldav`` makes."""
    response = connect(admin)
    assert response.status_code == 302, response.get_data(as_text=True)
    account = db.session.scalar(sa.select(CalendarAccount))
    assert account.kind == "caldav" and account.lawyer_id == lawyer.id
    assert account.label == "anna on dav.example"
    assert account.config == {"url": "https://dav.example/remote.php/dav", "username": "anna"}
    assert "app-pass-123" not in (account.secret_enc or "") and "app-pass-123" not in str(account.config)
    assert fake_provider.seen == [(account.config, {"password": "app-pass-123"})]
    assert sorted(c.name for c in account.calendars) == ["Home", "Work"]
    assert all(c.conflict and not c.write_to for c in account.calendars)
    tasks = db.session.scalars(sa.select(OutboxTask)).all()
    assert sorted(t.payload["calendar_id"] for t in tasks) == sorted(c.id for c in account.calendars)
    assert {t.kind for t in tasks} == {"calendar.sync"}
    page = admin.get("/admin/calendars").get_data(as_text=True)
    assert "Work" in page and "Home" in page and "not yet" in page


def test_refused_login_is_reported_in_plain_words_and_nothing_is_stored(admin, fake_provider, db):
    fake_provider.fail = AuthError("HTTP 401 Unauthorized from https://dav.example")
    response = connect(admin)
    assert response.status_code == 422
    assert "refused the login" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 0


def test_unreachable_server_is_reported_in_plain_words(admin, fake_provider):
    fake_provider.fail = ProviderError("ConnectionError: Name or service not known")
    assert "could not be reached" in connect(admin).get_data(as_text=True)


@pytest.mark.parametrize("url", ["ftp://dav.example/", "dav.example", "javascript:alert(1)"])
def test_only_http_urls(admin, fake_provider, url):
    """Checked by the calendars' own ``netguard.check_url`` before anything is fetched."""
    response = connect(admin, url=url)
    assert response.status_code == 422 and "https://" in response.get_data(as_text=True)
    assert fake_provider.seen == []


def test_ics_feed_keeps_its_secret_url_encrypted(admin, fake_provider, db):
    fake_provider.calendars = [RemoteCalendar("feed", "Office", writable=False)]
    url = "https://calendar.example/private-3f9a/basic.ics"
    response = post(admin, "/admin/calendars/ics", {"url": url}, token_from="/admin/calendars")
    assert response.status_code == 302
    account = db.session.scalar(sa.select(CalendarAccount))
    assert account.kind == "ics" and "private-3f9a" not in account.label + str(account.config)
    assert fake_provider.seen[-1][1] == {"url": url}
    page = admin.get("/admin/calendars").get_data(as_text=True)
    assert "private-3f9a" not in page and 'name="write_to"' not in page  # a feed is read-only


def calendar_rows(db, lawyer):
    account = CalendarAccount(lawyer_id=lawyer.id, kind="caldav", label="anna @ dav.example", config={})
    for name in ("Work", "Home"):
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id=name, name=name))
    db.session.add(account)
    db.session.commit()
    return account


@pytest.mark.db_matrix
def test_sync_now_queues_one_task_and_does_not_sync_inline(admin, lawyer, fake_provider, db):
    account = calendar_rows(db, lawyer)
    work = account.calendars[0]
    for _ in range(2):
        response = post(admin, f"/admin/calendars/{work.id}/sync", token_from="/admin/calendars")
        assert response.status_code == 302
    tasks = db.session.scalars(sa.select(OutboxTask)).all()
    assert [(t.kind, t.payload) for t in tasks] == [("calendar.sync", {"calendar_id": work.id})]


def test_last_sync_and_last_error_in_plain_words(frozen, admin, lawyer, db):
    account = calendar_rows(db, lawyer)
    work, home = account.calendars
    work.synced_at = datetime(2026, 3, 2, 7, 55, tzinfo=UTC)
    home.last_error = "ReadTimeout: HTTPSConnectionPool(host='dav.example', port=443): Read timed out."
    db.session.commit()
    page = admin.get("/admin/calendars").get_data(as_text=True)
    assert "Mar 2, 2026, 8:55" in page  # Berlin time
    assert "did not answer in time" in page and "HTTPSConnectionPool" not in page


def test_choices_conflict_and_one_destination(admin, lawyer, db):
    first = calendar_rows(db, lawyer)
    second = calendar_rows(db, lawyer)
    work, home = first.calendars
    other_work = second.calendars[0]
    other_work.write_to = True
    db.session.commit()
    post(admin, f"/admin/calendars/accounts/{first.id}/choices",
         {"conflict": [str(work.id)], "write_to": str(home.id)}, token_from="/admin/calendars")
    db.session.refresh(work), db.session.refresh(home), db.session.refresh(other_work)
    assert (work.conflict, home.conflict) == (True, False)
    assert (work.write_to, home.write_to, other_work.write_to) == (False, True, False)
    # A calendar of another account cannot be chosen through this one.
    post(admin, f"/admin/calendars/accounts/{first.id}/choices",
         {"conflict": [str(work.id)], "write_to": str(other_work.id)}, token_from="/admin/calendars")
    db.session.refresh(other_work)
    assert other_work.write_to is False


@pytest.mark.db_matrix
def test_disconnect_forgets_calendars_and_busy_time(admin, lawyer, db):
    account = calendar_rows(db, lawyer)
    db.session.add(BusyBlock(calendar_id=account.calendars[0].id, lawyer_id=lawyer.id, key="k",
                             start=datetime(2026, 3, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 3, 10, tzinfo=UTC)))
    db.session.commit()
    response = post(admin, f"/admin/calendars/accounts/{account.id}/disconnect", token_from="/admin/calendars")
    assert response.status_code == 302
    for model in (CalendarAccount, Calendar, BusyBlock):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_another_lawyers_calendars_are_404(admin, make_lawyer, db):
    account = calendar_rows(db, make_lawyer())
    assert post(admin, f"/admin/calendars/accounts/{account.id}/disconnect", token_from="/admin/calendars").status_code == 404
    assert post(admin, f"/admin/calendars/{account.calendars[0].id}/sync", token_from="/admin/calendars").status_code == 404


def test_google_without_configuration_says_so(admin):
    response = post(admin, "/admin/calendars/google", token_from="/admin/calendars", follow_redirects=True)
    assert "Google Calendar is not set up on this server." in response.get_data(as_text=True)


@pytest.mark.db_matrix
def test_worker_runs_the_queued_sync(app, admin, lawyer, db, monkeypatch):
    from service.calendars import sync

    account = calendar_rows(db, lawyer)
    work = account.calendars[0]
    synced = []

    def fake_sync(calendar, now):
        synced.append(calendar.id)
        calendar.synced_at = now
        db.session.commit()
        return {"ok": True}

    monkeypatch.setattr(sync, "sync_calendar", fake_sync)
    post(admin, f"/admin/calendars/{work.id}/sync", token_from="/admin/calendars")
    counts = worker.run_once()
    assert counts["done"] == 1 and counts["failed"] == 0
    assert synced[0] == work.id  # the queued task first, then the periodic sync of the rest


@pytest.mark.db_matrix
def test_connecting_the_same_account_again_repairs_it(admin, lawyer, fake_provider, db):
    """A refused password is fixed by connecting again: same account, new secret, the
    calendar writes that died meanwhile are retried (none stays missing)."""
    assert connect(admin).status_code == 302
    account = db.session.scalar(sa.select(CalendarAccount))
    account.broken, account.last_error = True, "HTTP 401"
    dead = OutboxTask(kind="calendar.put", payload={"booking_id": 1, "event": "call"},
                      lawyer_id=lawyer.id, status="dead", attempts=1, last_error="AuthError")
    db.session.add(dead)
    db.session.commit()
    fake_provider.fail = AuthError("HTTP 401")  # the wrong password again: nothing changes
    assert connect(admin, password="still-wrong").status_code == 422
    db.session.expire_all()
    assert db.session.get(CalendarAccount, account.id).broken
    fake_provider.fail = None
    assert connect(admin, password="new-app-pass").status_code == 302
    db.session.expire_all()
    account = db.session.get(CalendarAccount, account.id)
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 1
    assert not account.broken and account.last_error is None
    assert "new-app-pass" not in account.secret_enc
    assert fake_provider.seen[-1] == (account.config, {"password": "new-app-pass"})
    assert db.session.get(OutboxTask, dead.id).status == "pending"
    page = admin.get("/admin/calendars").get_data(as_text=True)
    assert "Reconnected anna on dav.example" in page


def test_the_same_working_account_with_the_same_password_is_refused(admin, fake_provider, db):
    assert connect(admin).status_code == 302
    again = connect(admin)
    assert again.status_code == 422 and "already connected" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 1


def test_credentials_in_the_url_are_refused_with_a_hint(admin, fake_provider):
    response = connect(admin, url="https://anna:secret@dav.example/dav")
    assert response.status_code == 422 and "in their own fields" in response.get_data(as_text=True)
    assert fake_provider.seen == []


def test_private_hosts_are_refused_when_not_allowed(app, admin, fake_provider):
    app.config["ALLOW_PRIVATE_CALENDAR_HOSTS"] = False
    response = connect(admin, url="https://127.0.0.1/dav")
    assert response.status_code == 422 and "private network" in response.get_data(as_text=True)
    assert fake_provider.seen == []


def test_google_connect_goes_to_the_consent_screen(app, admin):
    app.config.update(GOOGLE_CLIENT_ID="id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="secret")
    response = post(admin, "/admin/calendars/google", token_from="/admin/calendars")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://accounts.google.com/")
    assert "redirect_uri=http%3A%2F%2Fcounsel.test%2Foauth%2Fgoogle%2Fcallback" in location
