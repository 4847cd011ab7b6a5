"""``flask calendar add-caldav / add-ics / sync`` against real servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.cli.calendars import calendar_cli
from service.core.crypto import decrypt_json
from service.storage.models import BusyBlock, Calendar, CalendarAccount, utcnow
from tests.calendar_servers import USER, event_ics, put_ics, start_server, unique

from .cases import FILES


@pytest.fixture
def cli(app, runner):
    if "calendar" not in app.cli.commands:
        app.cli.add_command(calendar_cli)

    def invoke(*args: str):
        return runner.invoke(args=["calendar", *args])

    return invoke


def counts(db) -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))),
        db.session.scalar(sa.select(sa.func.count(Calendar.id))),
    )


def soon(hours: int) -> str:
    return (utcnow() + timedelta(hours=hours)).strftime("%Y%m%dT%H0000Z")


def test_add_caldav_discovers_calendars(cli, db, make_lawyer, server):
    lawyer = make_lawyer()
    work = server.make_calendar(unique("work"))
    home = server.make_calendar(unique("home"))
    result = cli(
        "add-caldav",
        "--lawyer",
        str(lawyer.id),
        "--url",
        server.url,
        "--username",
        USER,
        "--password",
        server.password(),
    )
    assert result.exit_code == 0, result.output
    account_id = int(result.output.split()[-1])
    account = db.session.get(CalendarAccount, account_id)
    assert account.kind == "caldav" and account.config == {"url": server.url, "username": USER}
    assert server.password() not in account.secret_enc
    remote = {c.remote_id: (c.conflict, c.write_to) for c in account.calendars}
    assert remote[work] == (True, False) and remote[home] == (True, False)
    assert work in result.output


def test_add_caldav_with_chosen_calendars_and_destination(cli, db, make_lawyer, server):
    lawyer = make_lawyer()
    work_name, home_name = unique("work"), unique("home")
    work = server.make_calendar(work_name)
    home = server.make_calendar(home_name)
    result = cli(
        "add-caldav",
        "--lawyer",
        str(lawyer.id),
        "--url",
        server.url,
        "--username",
        USER,
        "--password",
        server.password(),
        "--calendar",
        work_name,
        "--write-to",
        home_name.upper(),
    )
    assert result.exit_code == 0, result.output
    account = db.session.get(CalendarAccount, int(result.output.split()[-1]))
    remote = {c.remote_id: (c.conflict, c.write_to) for c in account.calendars}
    assert remote == {work: (True, False), home: (False, True)}


def test_add_caldav_one_calendar_url(cli, db, make_lawyer, server):
    lawyer = make_lawyer()
    url = server.make_calendar(unique("only"))
    result = cli(
        "add-caldav",
        "--lawyer",
        str(lawyer.id),
        "--url",
        url,
        "--username",
        USER,
        "--password",
        server.password(),
    )
    assert result.exit_code == 0, result.output
    account = db.session.get(CalendarAccount, int(result.output.split()[-1]))
    assert [c.remote_id for c in account.calendars] == [url]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lawyer", "999"), "no lawyer with id 999"),
        (("--calendar", "Nope"), "--calendar 'Nope': no such calendar"),
        (("--write-to", "Nope"), "--write-to 'Nope': no such calendar"),
        (
            ("--url", "http://127.0.0.1:9/"),
            "cannot reach the CalDAV server 127.0.0.1 (connection refused)",
        ),
        (("--url", "ftp://example.com/"), "not a calendar URL"),
    ],
)
def test_add_caldav_bad_input_writes_nothing(cli, db, make_lawyer, radicale, args, message):
    lawyer = make_lawyer()
    radicale.make_calendar(unique())
    options = {
        "--lawyer": str(lawyer.id),
        "--url": radicale.url,
        "--username": USER,
        "--password": radicale.password(),
    }
    extra = []
    for key, value in zip(args[::2], args[1::2], strict=True):
        if key in options:
            options[key] = value
        else:
            extra += [key, value]
    result = cli("add-caldav", *[x for kv in options.items() for x in kv], *extra)
    assert result.exit_code != 0
    assert message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert counts(db) == (0, 0)


def test_add_caldav_bad_password(cli, db, make_lawyer, tmp_path):
    server = start_server("radicale", tmp_path / "auth", htpasswd={USER: "the-right-one"})
    try:
        result = cli(
            "add-caldav",
            "--lawyer",
            str(make_lawyer().id),
            "--url",
            server.url,
            "--username",
            USER,
            "--password",
            "not-the-right-one",
        )
    finally:
        server.stop()
    assert result.exit_code == 1
    assert result.output == (
        "Error: the CalDAV server 127.0.0.1 refused the username or password for 'lawyer' (HTTP 401)\n"
    )
    assert counts(db) == (0, 0)


def test_add_caldav_private_host_refused(cli, app, db, make_lawyer, radicale):
    app.config["ALLOW_PRIVATE_CALENDAR_HOSTS"] = False
    result = cli(
        "add-caldav",
        "--lawyer",
        str(make_lawyer().id),
        "--url",
        radicale.url,
        "--username",
        USER,
        "--password",
        "x",
    )
    assert result.exit_code == 1
    assert "127.0.0.1 resolves to 127.0.0.1, a private or internal address" in result.output
    assert counts(db) == (0, 0)


@pytest.mark.db_matrix
def test_add_caldav_twice_is_refused(cli, db, make_lawyer, radicale):
    lawyer = make_lawyer()
    args = (
        "add-caldav",
        "--lawyer",
        str(lawyer.id),
        "--url",
        radicale.url,
        "--username",
        USER,
        "--password",
        "x",
    )
    assert cli(*args).exit_code == 0
    second = cli(*args)
    assert second.exit_code == 1 and "already connected" in second.output


def test_cli_repairs_an_account_as_the_admin_area_does(cli, db, make_lawyer, radicale):
    """Regression: `calendar add-caldav` refused an account already connected, where the
    admin area repaired it; one use case now serves both: a new password is stored and
    the broken account works again, under the same account id."""
    lawyer = make_lawyer()
    base = ("add-caldav", "--lawyer", str(lawyer.id), "--url", radicale.url, "--username", USER)
    first = cli(*base, "--password", "old-password")
    assert first.exit_code == 0, first.output
    account = db.session.get(CalendarAccount, int(first.output.split()[-1]))
    account.broken, account.last_error = True, "HTTP 401"
    db.session.commit()
    again = cli(*base, "--password", "new-password")
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1].startswith("Reconnected CalDAV account")
    assert int(again.output.split()[-1]) == account.id
    db.session.expire_all()
    repaired = db.session.get(CalendarAccount, account.id)
    assert not repaired.broken and decrypt_json(repaired.secret_enc) == {"password": "new-password"}
    assert counts(db)[0] == 1


def test_add_ics_file_and_sync(cli, db, make_lawyer):
    lawyer = make_lawyer()
    result = cli(
        "add-ics", "--lawyer", str(lawyer.id), "--url", str(FILES / "x_wr_timezone_feed.ics")
    )
    assert result.exit_code == 0, result.output
    account = db.session.get(CalendarAccount, int(result.output.split()[-1]))
    assert account.kind == "ics" and account.calendars[0].name == "Work"
    synced = cli("sync", "--lawyer", str(lawyer.id))
    assert synced.exit_code == 0, synced.output
    assert synced.output.splitlines()[-1].startswith("Synced 1 of 1 calendars: 0 events, 0 changes")


def test_add_ics_url_keeps_the_url_secret(cli, db, make_lawyer, radicale):
    """A feed URL is a credential: stored encrypted; config only names the host."""
    lawyer = make_lawyer()
    cal = radicale.make_calendar(unique())
    put_ics(cal, "a.ics", event_ics("a@x", soon(30), soon(31)))
    result = cli("add-ics", "--lawyer", str(lawyer.id), "--url", cal)
    assert result.exit_code == 0, result.output
    account = db.session.get(CalendarAccount, int(result.output.split()[-1]))
    assert account.config == {"display": "http://127.0.0.1/…"}
    assert cal not in result.output and cal not in account.secret_enc


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/no/such/file.ics", "no such file"),
        ("http://127.0.0.1:9/feed.ics", "cannot reach the calendar feed at http://127.0.0.1/"),
    ],
)
def test_add_ics_bad_input(cli, db, make_lawyer, url, message):
    result = cli("add-ics", "--lawyer", str(make_lawyer().id), "--url", url)
    assert result.exit_code == 1 and message in result.output
    assert counts(db) == (0, 0)


def test_sync_prints_progress_and_summary(cli, db, make_lawyer, server):
    lawyer = make_lawyer()
    url = server.make_calendar(unique("work"))
    for i in range(3):
        put_ics(
            url,
            f"e{i}.ics",
            event_ics(f"e{i}@x", soon(30 + 2 * i), soon(31 + 2 * i)),
            server.password(),
        )
    added = cli(
        "add-caldav",
        "--lawyer",
        str(lawyer.id),
        "--url",
        url,
        "--username",
        USER,
        "--password",
        server.password(),
    )
    assert added.exit_code == 0, added.output
    result = cli("sync")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("[1/1] ") and "3 events, 3 changes (full)" in lines[0]
    assert lines[-1].startswith("Synced 1 of 1 calendars: 3 events, 3 changes, ")
    assert lines[-1].endswith(" seconds")
    assert db.session.scalar(sa.select(sa.func.count(BusyBlock.id))) == 3
    again = cli("sync", "--lawyer", str(lawyer.id))
    assert "3 events, 0 changes," in again.output.splitlines()[0]


@pytest.mark.db_matrix
def test_sync_failure_exits_non_zero_and_keeps_the_mirror(cli, db, make_lawyer, tmp_path):
    lawyer = make_lawyer()
    server = start_server("xandikos", tmp_path / "x")
    try:
        url = server.make_calendar(unique())
        put_ics(url, "a.ics", event_ics("a@x", soon(30), soon(31)))
        cli(
            "add-caldav",
            "--lawyer",
            str(lawyer.id),
            "--url",
            url,
            "--username",
            USER,
            "--password",
            "x",
        )
        assert cli("sync").exit_code == 0
    finally:
        server.stop()
    result = cli("sync")
    assert result.exit_code == 1
    assert "failed: cannot reach the CalDAV server 127.0.0.1" in result.output
    assert result.output.splitlines()[-1] == (
        "Error: 1 calendar(s) failed; the last good busy times are kept"
    )
    assert db.session.scalar(sa.select(sa.func.count(BusyBlock.id))) == 1


def test_sync_unknown_lawyer(cli):
    result = cli("sync", "--lawyer", "999")
    assert result.exit_code == 1 and "no lawyer with id 999" in result.output
