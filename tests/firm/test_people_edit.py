"""The firm admin edits the firm's lawyers and users (#17): name, zone, language, role,
the lawyers an assistant works for, deactivate / reactivate (ending sessions at once);
never another firm's people, never passwords or calendar secrets; audited before/after."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.storage.models import (
    AdminSession,
    Assignment,
    AuditEvent,
    CalendarAccount,
    Lawyer,
    User,
)
from tests.admin.conftest import PASSWORD, log_in, post


def _as(app, email: str):
    http = app.test_client()
    assert log_in(http, email).status_code == 302
    return http


def _audit(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_firm_admin_edits_a_lawyers_name_zone_language_and_admin_flag(app, db, world, frozen):
    admin = _as(app, world.lawyer_a.email)
    path = f"/admin/people/lawyers/{world.lawyer_b.id}/edit"
    page = admin.get(path)
    assert page.status_code == 200 and "Boris Brandt" in page.get_data(as_text=True)
    response = post(admin, path, {"name": "Boris  Brandt-Weiss", "timezone": "Asia/Yekaterinburg", "language": "ru",
                                  "firm_admin": "on", "password_hash": "x", "email": "evil@x.example"},
                    token_from=path)
    assert response.status_code == 302
    db.session.expire_all()
    lawyer = db.session.get(Lawyer, world.lawyer_b.id)
    assert (lawyer.name, lawyer.timezone, lawyer.language, lawyer.firm_admin) == (
        "Boris Brandt-Weiss", "Asia/Yekaterinburg", "ru", True)
    assert lawyer.email == "boris@keller.example"  # never the login or the password
    assert log_in(app.test_client(), lawyer.email, PASSWORD).status_code == 302
    (event,) = _audit(db, "person.edited")
    assert event.before == {"name": "Boris Brandt", "timezone": "Europe/Berlin", "language": "en",
                            "firm_admin": False}
    assert event.after == {"name": "Boris Brandt-Weiss", "timezone": "Asia/Yekaterinburg", "language": "ru",
                           "firm_admin": True}
    assert event.actor_kind == "lawyer" and event.actor_id == world.lawyer_a.id and event.firm_id == world.firm1.id


def test_firm_admin_edits_a_users_role_and_the_lawyers_they_work_for(app, db, world, frozen):
    admin = _as(app, world.lawyer_a.email)
    assistant = _as(app, world.assistant_b.email)
    path = f"/admin/people/{world.assistant_b.id}/edit"
    response = post(admin, path, {"name": "Bella B.", "language": "ru", "role": "assistant",
                                  "lawyer_ids": [str(world.lawyer_a.id), str(world.lawyer_b.id)]}, token_from=path)
    assert response.status_code == 302
    assigned = set(db.session.scalars(sa.select(Assignment.lawyer_id).where(Assignment.user_id == world.assistant_b.id)))
    assert assigned == {world.lawyer_a.id, world.lawyer_b.id}
    assert assistant.get("/admin/clients").status_code == 200  # same role: still signed in
    (event,) = _audit(db, "person.edited")
    assert event.before["lawyer_ids"] == [world.lawyer_b.id]
    assert event.after["lawyer_ids"] == sorted([world.lawyer_a.id, world.lawyer_b.id])
    # Made a firm admin: the assignments go, and the person signs in again with the new role.
    response = post(admin, path, {"name": "Bella B.", "language": "ru", "role": "admin",
                                  "lawyer_ids": [str(world.lawyer_a.id)]}, token_from=path)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id)).where(
        Assignment.user_id == world.assistant_b.id)) == 0
    assert assistant.get("/admin/clients").status_code == 302
    assert _as(app, world.assistant_b.email).get("/admin/people").status_code == 200


@pytest.mark.parametrize("form, reason", [
    ({"name": "", "language": "en", "role": "assistant"}, "visible characters"),
    ({"name": "Anna \u202eKeller", "language": "en", "role": "assistant"}, "direction-changing"),
    ({"name": "\u200b\u200d", "language": "en", "role": "assistant"}, "visible characters"),
    ({"name": "Bella", "language": "de", "role": "assistant"}, "English or Russian"),
    ({"name": "Bella", "language": "en", "role": "owner"}, "assistant or firm admin"),
    ({"name": "Bella", "language": "en", "role": "assistant", "lawyer_ids": ["abc"]}, "not in this firm"),
    ({"name": "Bella", "language": "en", "role": "assistant", "lawyer_ids": ["99999999999"]}, "not in this firm"),
])
def test_bad_person_edits_are_a_form_error_and_change_nothing(app, db, world, frozen, form, reason):
    admin = _as(app, world.lawyer_a.email)
    path = f"/admin/people/{world.assistant_b.id}/edit"
    response = post(admin, path, form, token_from=path)
    assert 400 <= response.status_code < 500 and reason in response.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, world.assistant_b.id)
    assert (user.name, user.role, user.language) == ("Bella", "assistant", "en")
    assert _audit(db, "person.edited") == []


def test_a_lawyer_of_another_firm_cannot_be_assigned(app, db, world, frozen, make_lawyer):
    other = make_lawyer(firm_id=world.firm2.id, email="far@other.example")
    admin = _as(app, world.lawyer_a.email)
    path = f"/admin/people/{world.assistant_b.id}/edit"
    response = post(admin, path, {"name": "Bella", "language": "en", "role": "assistant",
                                  "lawyer_ids": [str(other.id)]}, token_from=path)
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id)).where(Assignment.lawyer_id == other.id)) == 0


def test_another_firms_admin_never_reaches_these_people(app, db, world, frozen):
    stranger = _as(app, world.admin_2.email)
    for path in (f"/admin/people/{world.assistant_b.id}/edit", f"/admin/people/lawyers/{world.lawyer_b.id}/edit"):
        assert stranger.get(path).status_code == 404
        assert post(stranger, path, {"name": "Hacked", "language": "en", "role": "admin", "timezone": "UTC"},
                    token_from="/admin/people").status_code == 404
    for path in (f"/admin/people/{world.assistant_b.id}/active", f"/admin/people/lawyers/{world.lawyer_b.id}/active"):
        assert post(stranger, path, {"action": "deactivate"}, token_from="/admin/people").status_code == 404
    db.session.expire_all()
    assert db.session.get(User, world.assistant_b.id).name == "Bella"
    assert db.session.get(Lawyer, world.lawyer_b.id).active


def test_assistants_cannot_edit_people(app, db, world, frozen):
    assistant = _as(app, world.assistant_a.email)
    path = f"/admin/people/{world.assistant_b.id}/edit"
    assert assistant.get(path).status_code == 404
    assert post(assistant, path, {"name": "x", "language": "en", "role": "admin"},
                token_from="/admin/clients").status_code == 404


def test_deactivating_a_lawyer_ends_their_sessions_and_reactivating_lets_them_in(app, db, world, frozen):
    admin = _as(app, world.lawyer_a.email)
    boris = _as(app, world.lawyer_b.email)
    copied = app.test_client()
    copied.set_cookie("session", boris.get_cookie("session").value)
    path = f"/admin/people/lawyers/{world.lawyer_b.id}/active"
    assert post(admin, path, {"action": "deactivate"}, token_from="/admin/people").status_code == 302
    assert boris.get("/admin/").status_code == 302 and copied.get("/admin/").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id)).where(
        AdminSession.lawyer_id == world.lawyer_b.id)) == 0
    assert log_in(app.test_client(), world.lawyer_b.email).status_code == 401
    assert post(admin, path, {"action": "reactivate"}, token_from="/admin/people").status_code == 302
    assert log_in(app.test_client(), world.lawyer_b.email).status_code == 302
    assert [e.after for e in _audit(db, "person.deactivated")] == [{"active": False}]
    assert [e.after for e in _audit(db, "person.reactivated")] == [{"active": True}]
    # their calendar connections were never touched
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 1


def test_deactivating_a_user_ends_their_sessions_and_they_are_listed_to_reactivate(app, db, world, frozen):
    admin = _as(app, world.lawyer_a.email)
    bella = _as(app, world.assistant_b.email)
    path = f"/admin/people/{world.assistant_b.id}/active"
    assert post(admin, path, {"action": "deactivate"}, token_from="/admin/people").status_code == 302
    assert bella.get("/admin/clients").status_code == 302
    assert log_in(app.test_client(), world.assistant_b.email).status_code == 401
    page = admin.get("/admin/people").get_data(as_text=True)
    assert "Reactivate" in page and "bella@keller.example" in page
    assert post(admin, path, {"action": "reactivate"}, token_from="/admin/people").status_code == 302
    assert _as(app, world.assistant_b.email).get("/admin/clients").status_code == 200
    # the assignments survived the pause
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id)).where(
        Assignment.user_id == world.assistant_b.id)) == 1


def test_the_firm_keeps_an_admin_and_nobody_deactivates_themselves(app, db, world, frozen):
    admin = _as(app, world.lawyer_a.email)
    own = f"/admin/people/lawyers/{world.lawyer_a.id}"
    response = post(admin, own + "/active", {"action": "deactivate"}, token_from="/admin/people")
    assert response.status_code == 409 and "yourself" in response.get_data(as_text=True)
    response = post(admin, own + "/edit", {"name": "Anna Keller", "timezone": "Europe/Berlin", "language": "en"},
                    token_from=own + "/edit")
    assert response.status_code == 409 and "at least one active firm admin" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lawyer, world.lawyer_a.id).firm_admin and db.session.get(Lawyer, world.lawyer_a.id).active


@pytest.mark.parametrize("action", ["", "delete", "x" * 500])
def test_an_unknown_activation_action_is_a_400(app, db, world, frozen, action):
    admin = _as(app, world.lawyer_a.email)
    response = post(admin, f"/admin/people/{world.assistant_b.id}/active", {"action": action},
                    token_from="/admin/people")
    assert response.status_code == 400
    assert db.session.get(User, world.assistant_b.id).active
