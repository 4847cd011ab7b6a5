"""The client form's limits come from booking.terms, and its check runs on every save."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking import terms
from service.storage.models import Client
from tests.admin.conftest import post
from tests.admin.test_clients import form


def clients(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Client.id)))


def test_admin_form_refuses_status_day_out_of_range(admin, db):
    """status_day=9 was stored (the select does not check its choices) and broke the client's page."""
    response = post(admin, "/admin/clients/new", form(status_day="9"))
    assert response.status_code == 422
    assert "please choose one of the offered values" in response.get_data(as_text=True)
    assert clients(db) == 0


def test_admin_form_refuses_negative_notice(admin, db):
    """A forged POST with notice_hours=-5 must get a form error and write nothing."""
    response = post(admin, "/admin/clients/new", form(notice_hours="-5"))
    assert response.status_code == 422
    assert clients(db) == 0


def test_admin_edit_refuses_status_day_out_of_range_and_keeps_the_agreement(admin, lawyer, make_client, db):
    """Editing wrote status_day=9 onto an existing client just as creating did."""
    boris, _ = make_client(lawyer=lawyer, status_day=4)
    response = post(admin, f"/admin/clients/{boris.id}/edit", form(status_day="9", name="Changed"))
    assert response.status_code == 422
    db.session.refresh(boris)
    assert (boris.status_day, boris.name) == (4, "Boris Petrov")
    assert admin.get(f"/admin/clients/{boris.id}").status_code == 200


def test_admin_form_refuses_notice_not_shorter_than_the_horizon(admin, db):
    response = post(admin, "/admin/clients/new", form(notice_hours="48", horizon_days="2"))
    assert response.status_code == 422
    assert "must be shorter than the booking horizon (2 days)" in response.get_data(as_text=True)
    assert clients(db) == 0


def test_admin_form_limits_are_the_bounds_table(admin):
    page = admin.get("/admin/clients/new").get_data(as_text=True)
    for field, bound in [("duration_min", terms.DURATION), ("prep_min", terms.PREP),
                         ("buffer_min", terms.BUFFER_AFTER), ("notice_hours", terms.NOTICE),
                         ("horizon_days", terms.HORIZON), ("max_per_week", terms.MAX_PER_WEEK),
                         ("max_per_month", terms.MAX_PER_MONTH)]:
        tag = page[page.index(f'name="{field}"') - 200:page.index(f'name="{field}"') + 200]
        assert f'max="{bound.maximum}"' in tag and f'min="{bound.minimum}"' in tag, field


@pytest.mark.parametrize(
    ("field", "value"),
    [("notice_hours", "721"), ("prep_min", "481"), ("buffer_min", "241"), ("max_per_week", "51"),
     ("max_per_month", "201"), ("horizon_days", "366"), ("duration_min", "4"), ("step_min", "20")],
)
def test_admin_form_refuses_what_the_table_refuses(admin, db, field, value):
    assert post(admin, "/admin/clients/new", form(**{field: value})).status_code == 422
    assert clients(db) == 0


def test_admin_form_saves_the_normalised_values(admin, db):
    response = post(admin, "/admin/clients/new", form(step_min="15", max_per_week="", status_day=""))
    assert response.status_code == 302
    stored = db.session.scalar(sa.select(Client))
    assert (stored.step_min, stored.max_per_week, stored.status_day) == (15, None, None)


def test_admin_form_errors_are_russian_too(admin, db):
    response = post(admin, "/admin/clients/new", form(notice_hours="48", horizon_days="2"),
                    headers={"Accept-Language": "ru"})
    assert response.status_code == 422
    assert "должен быть меньше периода, на который открыта" in response.get_data(as_text=True)
