"""Every practice setting in the admin area, through the test client: profile (current
zone names, grouped), limits, days off removing slots, embedding sites, one-off windows,
the intake editor (create, edit, pause, embed snippet); errors all at once, in words."""

from __future__ import annotations

import re

import sqlalchemy as sa

from service.storage.models import DayOff, EmbedOrigin, ExtraWindow, Intake, Lawyer
from tests.admin.conftest import post

PAGE = "/admin/practice"


def practice(admin, **data):
    return post(admin, PAGE, data, token_from=PAGE)


def slot_starts(client, token):
    page = client.get(f"/b/{token}").get_data(as_text=True)
    return re.findall(r'data-slot-start="([^"]+)"', page)


def test_profile_offers_current_zone_names_grouped(frozen, admin, lawyer, db):
    page = admin.get(PAGE).get_data(as_text=True)
    assert '<optgroup label="Europe">' in page and 'value="Europe/Kyiv"' in page
    for old in ("Asia/Calcutta", "US/Eastern", "Europe/Kiev"):
        assert f'value="{old}"' not in page
    response = practice(admin, action="profile", name="Anna Keller-Sommer", timezone="Europe/Moscow", language="ru")
    assert response.status_code == 302
    db.session.refresh(lawyer)
    assert (lawyer.name, lawyer.timezone, lawyer.language) == ("Anna Keller-Sommer", "Europe/Moscow", "ru")


def test_profile_errors_in_words(frozen, admin, lawyer, db):
    response = practice(admin, action="profile", name="", timezone="Mars/Olympus", language="en")
    assert response.status_code == 422
    assert "Please give your name" in response.get_data(as_text=True)
    db.session.refresh(lawyer)
    assert lawyer.name == "Anna Keller"


def test_caps(frozen, admin, lawyer, db):
    assert practice(admin, action="caps", max_per_day="2", max_per_week="").status_code == 302
    db.session.refresh(lawyer)
    assert (lawyer.max_per_day, lawyer.max_per_week) == (2, None)
    bad = practice(admin, action="caps", max_per_day="many", max_per_week="500")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "daily limit" in text and "data-form-errors" in text


def test_days_off_remove_the_slots_and_the_note_is_shown_to_no_client(frozen, admin, lawyer, make_client, client,
                                                                         db):
    _, token = make_client(lawyer=lawyer)
    before = slot_starts(client, token)
    assert any(s.startswith("2026-03-04") for s in before)
    response = practice(admin, action="day_off", first_day="2026-03-04", last_day="2026-03-09",
                        note="Отпуск, Крым")
    assert response.status_code == 302
    after = slot_starts(client, token)
    assert not any(s[:10] in ("2026-03-04", "2026-03-09") for s in after) and after
    assert "Крым" not in client.get(f"/b/{token}").get_data(as_text=True)
    assert "Отпуск, Крым" in admin.get(PAGE).get_data(as_text=True)
    period = db.session.scalar(sa.select(DayOff))
    practice(admin, action="remove_day_off", id=str(period.id))
    assert slot_starts(client, token) == before


def test_day_off_errors_all_at_once(frozen, admin, db):
    response = practice(admin, action="day_off", first_day="", last_day="someday")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "first day" in text and "last day" in text
    reversed_ = practice(admin, action="day_off", first_day="2026-03-09", last_day="2026-03-04")
    assert reversed_.status_code == 422 and db.session.scalar(sa.select(DayOff)) is None


def test_embed_origins(frozen, admin, lawyer, db):
    assert practice(admin, action="embed", origin="https://WWW.Firm.example/").status_code == 302
    assert db.session.scalar(sa.select(EmbedOrigin.origin)) == "https://www.firm.example"
    for bad in ("javascript:alert(1)", "https://firm.example/page", "firm.example", "https://a b.example"):
        assert practice(admin, action="embed", origin=bad).status_code == 422, bad
    origin = db.session.scalar(sa.select(EmbedOrigin))
    practice(admin, action="remove_embed", id=str(origin.id))
    assert db.session.scalar(sa.select(EmbedOrigin)) is None


def test_extra_window_adds_slots(frozen, admin, lawyer, make_client, client, db):
    person, token = make_client(lawyer=lawyer)
    page = f"/admin/clients/{person.id}"
    post(admin, f"{page}/extra-windows", {"day": "2026-03-05", "start": "09:00", "end": "10:00"}, token_from=page)
    assert "2026-03-05T08:00:00+00:00" in slot_starts(client, token)  # 09:00 Berlin
    window = db.session.scalar(sa.select(ExtraWindow))
    bad = post(admin, f"{page}/extra-windows", {"day": "2026-03-05", "start": "10:00", "end": "09:00"},
               token_from=page, follow_redirects=True)
    assert "must end after it starts" in bad.get_data(as_text=True)
    post(admin, f"{page}/extra-windows", {"remove": str(window.id)}, token_from=page)
    assert db.session.scalar(sa.select(ExtraWindow)) is None


INTAKE = {"name": "Первичная консультация, 30 мин", "slug": "first", "language": "ru",
          "windows-0-weekday": "2", "windows-0-start": "10:00", "windows-0-end": "12:00",
          "duration_min": "30", "prep_min": "15", "buffer_min": "0", "notice_hours": "24",
          "horizon_days": "30", "max_per_week": "3", "step_min": "", "action": "save"}


def test_intake_editor_create_edit_pause_and_snippet(frozen, admin, client, db):
    new = "/admin/intakes/new"
    assert "data-intake-form" in admin.get(new).get_data(as_text=True)
    response = post(admin, new, INTAKE, token_from=new)
    assert response.status_code == 302, response.get_data(as_text=True)
    intake = db.session.scalar(sa.select(Intake))
    assert intake.windows == "wed 10:00-12:00" and intake.title.startswith("Первичная")
    listing = admin.get("/admin/intakes").get_data(as_text=True)
    assert 'data-intake="first" async></script>' in listing.replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&#34;", '"').replace("&quot;", '"')
    assert client.get("/i/first").status_code == 200
    edit = f"/admin/intakes/{intake.id}/edit"
    post(admin, edit, {**INTAKE, "duration_min": "45"}, token_from=edit)
    db.session.refresh(intake)
    assert intake.duration_min == 45
    post(admin, f"/admin/intakes/{intake.id}/active", {"active": "0"}, token_from="/admin/intakes")
    db.session.refresh(intake)
    assert not intake.active and client.get("/i/first").status_code == 404


def test_intake_errors_all_at_once_in_words(frozen, admin, db):
    new = "/admin/intakes/new"
    bad = {**INTAKE, "name": "", "slug": "Bad Slug", "windows-0-end": "09:00", "duration_min": "-5"}
    response = post(admin, new, bad, token_from=new)
    assert response.status_code == 422
    errors = response.get_data(as_text=True).split("data-form-errors")[1].split("</ul>")[0]
    assert errors.count("<li>") >= 3
    assert "wed 10:00" not in errors and db.session.scalar(sa.select(Intake)) is None


def test_cli_and_admin_share_the_origin_rule(frozen, runner, lawyer, db):
    result = runner.invoke(args=["lawyer", "allow-embed", "--lawyer", str(lawyer.id), "--origin", "https://a b.example"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert db.session.get(Lawyer, lawyer.id).embed_origins == []
