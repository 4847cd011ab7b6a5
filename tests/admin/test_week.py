"""The week picture: layout in the lawyer's zone, DST weeks, the page and its navigation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval
from service.storage.models import Client, Lawyer
from service.usecases import weekview

BERLIN = ZoneInfo("Europe/Berlin")


def week_data(monday: date, blocks, tz: str = "Europe/Berlin", **lawyer_fields) -> weekview.WeekData:
    lawyer = Lawyer(name="Anna", email="anna@x.example", timezone=tz, **lawyer_fields)
    client = Client(name="Boris", email="b@x.example")
    client.id = 1
    return weekview.WeekData(lawyer, monday, [client], list(blocks), set())


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def window(start: datetime, end: datetime) -> weekview.Block:
    return weekview.Block("window", Interval(start.astimezone(UTC), end.astimezone(UTC)), 1)


def call(start: datetime, end: datetime) -> weekview.Block:
    return weekview.Block("call", Interval(start.astimezone(UTC), end.astimezone(UTC)), 1, label="Boris")


def rects(picture, kind):
    return [r for r in picture.rects if r.kind == kind]


def test_ordinary_week_has_seven_24_hour_days_and_default_hours(app):
    picture = weekview.layout(week_data(date(2026, 3, 2), [call(berlin(2026, 3, 4, 10), berlin(2026, 3, 4, 11))]))
    assert [d.hours for d in picture.days] == [24] * 7
    assert [row.label for row, _ in picture.rows] == [f"{h:02d}:00" for h in range(8, 19)]
    assert not rects(picture, "missing")
    (box,) = rects(picture, "call")
    # Wednesday column, 10:00 is the third row from 08:00.
    assert box.x == weekview.LEFT + 2 * weekview.COL_W + weekview.EV_X
    assert box.y == weekview.TOP + 2 * weekview.ROW_H and box.h == weekview.ROW_H


def test_hours_stretch_to_cover_early_and_late_items(app):
    picture = weekview.layout(week_data(date(2026, 3, 2), [window(berlin(2026, 3, 3, 6, 30), berlin(2026, 3, 3, 21))]))
    labels = [row.label for row, _ in picture.rows]
    assert labels[0] == "06:00" and labels[-1] == "20:00"
    assert picture.end_label == "21:00"


def test_spring_forward_sunday_has_23_hours_and_the_skipped_hour_is_shaded(app):
    """Berlin, 29 March 2026: 02:00 jumps to 03:00."""
    sunday = date(2026, 3, 29)
    picture = weekview.layout(week_data(date(2026, 3, 23), [window(berlin(2026, 3, 29, 1), berlin(2026, 3, 29, 4))]))
    assert [d.hours for d in picture.days] == [24] * 6 + [23]
    assert [row.label for row, _ in picture.rows][:3] == ["01:00", "02:00", "03:00"]
    missing = rects(picture, "missing")
    assert len(missing) == 1 and missing[0].x == weekview.LEFT + 6 * weekview.COL_W
    assert missing[0].y == weekview.TOP + 1 * weekview.ROW_H
    # 01:00-04:00 wall clock is two real hours: drawn as 01-02 and 03-04, around the gap.
    drawn = sorted((r.y, r.h) for r in rects(picture, "window"))
    assert drawn == [(weekview.TOP, weekview.ROW_H), (weekview.TOP + 2 * weekview.ROW_H, weekview.ROW_H)]
    assert "23" in picture.clock_change and sunday.day == 29


def test_fall_back_sunday_has_25_hours_and_the_repeated_hour_its_own_row(app):
    """Berlin, 25 October 2026: 03:00 goes back to 02:00."""
    picture = weekview.layout(week_data(date(2026, 10, 19), [window(berlin(2026, 10, 25, 1), berlin(2026, 10, 25, 4))]))
    assert [d.hours for d in picture.days] == [24] * 6 + [25]
    labels = [row.label for row, _ in picture.rows]
    assert labels[:4] == ["01:00", "02:00 CEST", "02:00 CET", "03:00"]
    # The second 02:00 does not exist on Monday..Saturday.
    missing = rects(picture, "missing")
    assert len(missing) == 6 and {r.y for r in missing} == {weekview.TOP + 2 * weekview.ROW_H}
    # 01:00-04:00 wall clock is four real hours, one unbroken block of four rows.
    (drawn,) = rects(picture, "window")
    assert drawn.y == weekview.TOP and drawn.h == pytest.approx(4 * weekview.ROW_H)
    assert "25" in picture.clock_change


def test_the_two_0230s_of_the_fall_back_night_land_in_different_rows(app):
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    blocks = [call(first, first + timedelta(minutes=20)), call(second, second + timedelta(minutes=20))]
    picture = weekview.layout(week_data(date(2026, 10, 19), blocks))
    ys = sorted(r.y for r in rects(picture, "call"))
    assert ys[1] - ys[0] == pytest.approx(weekview.ROW_H)


def test_lord_howe_half_hour_shift_keeps_every_instant(app):
    """Australia/Lord_Howe moves its clocks by 30 minutes (5 April 2026, 02:00 -> 01:30)."""
    zone = ZoneInfo("Australia/Lord_Howe")
    start = datetime(2026, 4, 5, 1, 0, tzinfo=zone)
    end = datetime(2026, 4, 5, 3, 0, tzinfo=zone)
    picture = weekview.layout(week_data(date(2026, 3, 30), [window(start, end)], tz="Australia/Lord_Howe"))
    assert picture.days[6].hours == 24  # a 24.5-hour day, rounded in the header
    drawn = sum(r.h for r in rects(picture, "window"))
    real_hours = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600
    assert drawn == pytest.approx(real_hours * weekview.ROW_H)


def test_call_overlapping_busy_time_is_flagged(app):
    busy = weekview.Block("busy", Interval(berlin(2026, 3, 4, 10, 30).astimezone(UTC), berlin(2026, 3, 4, 12).astimezone(UTC)))
    picture = weekview.layout(week_data(date(2026, 3, 2), [busy, call(berlin(2026, 3, 4, 10), berlin(2026, 3, 4, 11))]))
    assert rects(picture, "call")[0].alert
    assert any("overlaps busy time" in line for line in picture.summary)


def test_windows_of_two_clients_overlapping_share_the_lane(app):
    data = week_data(date(2026, 3, 2), [
        window(berlin(2026, 3, 3, 10), berlin(2026, 3, 3, 12)),
        weekview.Block("window", Interval(berlin(2026, 3, 3, 11).astimezone(UTC), berlin(2026, 3, 3, 13).astimezone(UTC)), 2),
    ])
    other = Client(name="Clara", email="c@x.example")
    other.id = 2
    data.clients.append(other)
    picture = weekview.layout(data)
    first, second = sorted(rects(picture, "window"), key=lambda r: r.y)
    assert first.w == second.w == weekview.WIN_W / 2 and first.x != second.x
    assert first.fill != second.fill


# -- the page ------------------------------------------------------------------------------


@pytest.fixture
def booked_week(db, lawyer, make_client):
    """A client with windows, one call with prep, and busy time from a calendar."""
    import secrets

    from service.storage.models import Booking, BusyBlock, Calendar, CalendarAccount

    client, _ = make_client(lawyer=lawyer, name="Boris <b>Petrov</b>", windows="tue 16:00-18:00")
    start = berlin(2026, 3, 3, 16).astimezone(UTC)
    db.session.add(Booking(uid=secrets.token_hex(16), lawyer_id=lawyer.id, client_id=client.id,
                           start=start, end=start + timedelta(minutes=30),
                           blocked_start=start - timedelta(minutes=30), blocked_end=start + timedelta(minutes=30),
                           name="Boris", email="b@x.example", agenda="Clause 4 & <script>",
                           manage_token_hash="h" * 64, manage_token_enc="x"))
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed", config={})
    account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id="feed", name="Office"))
    db.session.add(account)
    db.session.flush()
    db.session.add(BusyBlock(calendar_id=account.calendars[0].id, lawyer_id=lawyer.id, key="k",
                             start=berlin(2026, 3, 5, 9).astimezone(UTC), end=berlin(2026, 3, 5, 10).astimezone(UTC)))
    db.session.commit()
    return client


def test_week_page_draws_windows_calls_prep_and_busy_escaped(frozen, admin, booked_week):
    page = admin.get("/admin/week?date=2026-03-04").get_data(as_text=True)
    assert 'data-week="2026-03-02"' in page
    for kind in ("window", "call", "prep", "busy"):
        assert f'data-kind="{kind}"' in page
    assert "Boris &lt;b&gt;Petrov&lt;/b&gt;" in page and "<b>Petrov" not in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "style=" not in page  # the CSP forbids inline styles


def test_week_page_navigation_links(frozen, admin):
    page = admin.get("/admin/week?date=2026-03-11").get_data(as_text=True)
    assert "/admin/week?date=2026-03-02" in page  # previous
    assert "/admin/week?date=2026-03-16" in page  # next
    assert "data-week-today" in page  # not this week: a link back to it
    assert "data-week-today" not in admin.get("/admin/week").get_data(as_text=True)


@pytest.mark.parametrize("bad", ["2026-02-30", "yesterday", "", "0001-01-01", "9999-12-31", "2026-3-1x"])
def test_bad_date_is_400_not_500(frozen, admin, bad):
    response = admin.get(f"/admin/week?date={bad}")
    assert response.status_code == 400
    assert "2026-03-02" in response.get_data(as_text=True)  # the message shows the format


def test_dst_week_page_renders_23_hour_day(frozen, admin, lawyer, make_client):
    make_client(lawyer=lawyer, windows="sun 01:00-04:00")
    page = admin.get("/admin/week?date=2026-03-29").get_data(as_text=True)
    assert 'data-hours="23"' in page and 'data-kind="missing"' in page
