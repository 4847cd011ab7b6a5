"""The week's commitments on the dashboard, in the admin form's confirm step, and in the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.storage.models import Client
from tests.admin.conftest import post
from tests.letters.conftest import add_booking

pytestmark = pytest.mark.db_matrix

FORM = {
    "name": "Vera Ivanova", "email": "vera@client.example", "matter": "", "language": "en",
    "windows-0-weekday": "1", "windows-0-start": "16:00", "windows-0-end": "18:00",
    "duration_min": "45", "prep_min": "30", "buffer_min": "0", "notice_hours": "24",
    "horizon_days": "30", "step_min": "", "max_per_week": "1", "max_per_month": "", "status_day": "4",
    "note": "", "action": "save",
}


def seed(make_client, lawyer):
    """Boris: 1 call a week of 45 + 30 min and a Friday letter; Vera: a Friday letter only."""
    make_client(lawyer=lawyer, duration_min=45, prep_min=30, max_per_week=1, status_day=4)
    make_client(lawyer=lawyer, name="Vera", email="vera@client.example", status_day=4)


def test_dashboard_shows_committed_capacity_and_booked(frozen, admin, db, lawyer, make_client):
    seed(make_client, lawyer)
    lawyer.capacity_min = 100
    db.session.commit()
    boris = db.session.scalar(sa.select(Client).order_by(Client.id))
    add_booking(db, boris, datetime(2026, 3, 4, 13, tzinfo=UTC), minutes=45, prep=30)  # this week
    add_booking(db, boris, datetime(2026, 3, 11, 13, tzinfo=UTC), minutes=45, prep=30)  # next week
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'data-committed="115"' in page and 'data-capacity="100"' in page and 'data-booked="75"' in page
    assert "1 h 55 min" in page and 'data-over="15"' in page
    week = admin.get("/admin/week?date=2026-03-11").get_data(as_text=True)
    assert 'data-committed="115"' in week and 'data-booked="75"' in week


def test_admin_form_warns_with_the_amount_before_saving(frozen, admin, db, lawyer, make_client):
    make_client(lawyer=lawyer, duration_min=45, prep_min=30, max_per_week=1, status_day=4)  # 95 min
    lawyer.capacity_min = 120
    db.session.commit()
    first = post(admin, "/admin/clients/new", FORM)
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and 'data-overcommit="70"' in page
    assert "3 h 10 min a week, 1 h 10 min more than your weekly capacity of 2 h" in page
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 1  # nothing saved yet
    confirmed = post(admin, "/admin/clients/new", {**FORM, "confirm_over": "70"})
    assert confirmed.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 2


def test_a_change_that_stays_within_capacity_saves_without_asking(frozen, admin, db, lawyer, make_client):
    lawyer.capacity_min = 600
    db.session.commit()
    assert post(admin, "/admin/clients/new", FORM).status_code == 302


def test_editing_an_agreement_counts_it_once(frozen, admin, db, lawyer, make_client):
    client, _ = make_client(lawyer=lawyer, duration_min=45, prep_min=30, max_per_week=1, status_day=4)
    lawyer.capacity_min = 95  # exactly its load
    db.session.commit()
    same = post(admin, f"/admin/clients/{client.id}/edit", {**FORM, "name": "Boris Petrov"})
    assert same.status_code == 302  # unchanged load: no warning
    more = post(admin, f"/admin/clients/{client.id}/edit", {**FORM, "max_per_week": "2"})
    assert 'data-overcommit="75"' in more.get_data(as_text=True)
    db.session.refresh(client)
    assert client.max_per_week == 1


def test_cli_load_prints_the_figures(frozen, runner, db, lawyer, make_client):
    seed(make_client, lawyer)
    result = runner.invoke(args=["lawyer", "load", "--lawyer", str(lawyer.id)])
    assert result.exit_code == 0, result.output
    assert "committed: 1 h 55 min a week (calls with preparation 1 h 15 min, letters 0 h 40 min" in result.output
    assert "capacity:  not set" in result.output
    result = runner.invoke(args=["lawyer", "capacity", "--lawyer", str(lawyer.id), "--minutes", "100"])
    assert result.exit_code == 0
    result = runner.invoke(args=["lawyer", "load", "--lawyer", str(lawyer.id)])
    assert "capacity:  1 h 40 min (over by 0 h 15 min)" in result.output


def test_cli_client_create_refuses_an_overcommit_unless_told(frozen, runner, db, lawyer, make_client):
    seed(make_client, lawyer)
    lawyer.capacity_min = 120
    db.session.commit()
    args = ["client", "create", "--lawyer", str(lawyer.id), "--name", "Ilya", "--email", "ilya@client.example",
            "--windows", "tue 16:00-18:00", "--duration", "30", "--prep", "15", "--max-per-week", "1"]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0
    assert "160 min a week, 40 min over the capacity of 120 min" in refused.output
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 2
    assert runner.invoke(args=[*args, "--over-capacity"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 3


def test_cli_capacity_refuses_bad_values(frozen, runner, lawyer):
    for args, words in ((["--minutes", "-5"], "between 1 and"), (["--reserve", "tue 18:00-17:00"], "Reserved time"),
                        (["--letter-minutes", "9999"], "between 0 and")):
        result = runner.invoke(args=["lawyer", "capacity", "--lawyer", str(lawyer.id), *args])
        assert result.exit_code != 0 and words in result.output, result.output


def test_load_settings_page_saves_and_refuses_bad_values(frozen, admin, db, lawyer):
    ok = post(admin, "/admin/load", {"capacity": "540", "letter_minutes": "25",
                                     "reserve_windows": "thu 17:00-17:30, tue 17:00-17:30", "show_demand": ""})
    assert ok.status_code == 302
    db.session.refresh(lawyer)
    assert (lawyer.capacity_min, lawyer.letter_minutes, lawyer.show_demand) == (540, 25, False)
    assert lawyer.reserve_windows == "tue 17:00-17:30,thu 17:00-17:30"
    for fields in ({"capacity": "lots"}, {"capacity": "60", "reserve_windows": "fri 18:00-17:00"},
                   {"capacity": "60", "letter_minutes": "-3"}):
        bad = post(admin, "/admin/load", {"letter_minutes": "20", **fields})
        assert bad.status_code == 422 and "data-error" in bad.get_data(as_text=True)
    db.session.refresh(lawyer)
    assert (lawyer.capacity_min, lawyer.reserve_windows) == (540, "tue 17:00-17:30,thu 17:00-17:30")
    page = admin.get("/admin/load").get_data(as_text=True)
    assert 'value="540"' in page
