"""Firms and people: CLI, invitations mailed over SMTP and accepted once, the assistant's
switcher, the public firm page, the migration of single-lawyer installations."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from service.jobs import worker
from service.storage import outbox
from service.storage.models import Assignment, Firm, Intake, Invitation, Lawyer, User
from tests.admin.conftest import PASSWORD, log_in, post

LINK = re.compile(r"http://counsel\.test/invite/[\w-]+")


def _invite(runner, *args):
    return runner.invoke(args=["user", "invite", *args])


def _mailed_link(smtp, address: str) -> str:
    assert worker.run_once  # importing the worker registers every outbox handler
    assert outbox.run_due()["failed"] == 0
    (message,) = smtp.to(address)
    return LINK.search(message.get_body(("plain",)).get_content()).group(0)


def _path(link: str) -> str:
    return link.removeprefix("http://counsel.test")


def test_firm_create_prints_the_id_and_refuses_a_taken_slug(runner, db):
    result = runner.invoke(args=["firm", "create", "--name", "Keller & Partner", "--slug", "keller"])
    assert result.exit_code == 0, result.output
    firm = db.session.get(Firm, int(result.output.split()[-1]))
    assert (firm.name, firm.slug) == ("Keller & Partner", "keller")
    again = runner.invoke(args=["firm", "create", "--name", "Other", "--slug", "keller"])
    assert again.exit_code != 0 and "already taken" in again.output
    bad = runner.invoke(args=["firm", "create", "--name", "X", "--slug", "Not A Slug"])
    assert bad.exit_code != 0 and len(bad.output.strip().splitlines()) == 1


def test_lawyer_create_joins_the_default_firm_or_the_given_one(runner, db):
    result = runner.invoke(args=["lawyer", "create", "--name", "A", "--email", "a@x.example", "--timezone", "UTC"])
    lawyer = db.session.get(Lawyer, int(result.output.split()[-1]))
    assert lawyer.firm is not None and lawyer.firm.slug == "firm"
    firm_id = runner.invoke(args=["firm", "create", "--name", "F", "--slug", "f"]).output.split()[-1]
    result = runner.invoke(args=["lawyer", "create", "--name", "B", "--email", "b@x.example", "--timezone", "UTC",
                                 "--firm", firm_id])
    assert db.session.get(Lawyer, int(result.output.split()[-1])).firm_id == int(firm_id)
    missing = runner.invoke(args=["lawyer", "create", "--name", "C", "--email", "c@x.example", "--timezone", "UTC",
                                  "--firm", "999"])
    assert missing.exit_code != 0 and "no firm with id 999" in missing.output


def test_assistant_invited_by_mail_joins_once_and_works_for_that_lawyer_only(app, runner, db, smtp, world, frozen):
    firm_id = str(world.firm1.id)
    result = _invite(runner, "--firm", firm_id, "--email", "Clerk@Keller.example", "--role", "assistant",
                     "--for-lawyer", str(world.lawyer_a.id))
    assert result.exit_code == 0, result.output
    link = _mailed_link(smtp, "clerk@keller.example")
    assert result.output.split()[-1] == link
    link = _path(link)
    assert link.rsplit("/", 1)[-1] not in str(db.session.scalar(sa.select(Invitation.token_hash)))

    http = app.test_client()
    page = http.get(link)
    assert page.status_code == 200 and "Keller &amp; Partner" in page.get_data(as_text=True)
    short = http.post(link, data={"name": "Clara", "password": "short"})
    assert short.status_code == 422
    joined = http.post(link, data={"name": "Clara", "password": PASSWORD})
    assert joined.status_code == 303
    assert http.post(link, data={"name": "Again", "password": PASSWORD}).status_code == 404  # one-time

    clara = db.session.scalar(sa.select(User).where(User.email == "clerk@keller.example"))
    assert clara.role == "assistant" and [lw.id for lw in clara.lawyers] == [world.lawyer_a.id]
    assert "Zinaida" in http.get("/admin/clients").get_data(as_text=True)
    assert http.get(f"/admin/clients/{world.client_a.id}").status_code == 200
    assert http.get("/admin/settings").status_code == 404  # the lawyer's password page
    assert http.get("/admin/calendars").status_code == 404  # calendar secrets


def test_switcher_acts_for_each_assigned_lawyer_and_refuses_others(app, db, world, make_client, frozen):
    db.session.add(Assignment(user_id=world.assistant_a.id, lawyer_id=world.lawyer_b.id))
    db.session.commit()
    make_client(lawyer=world.lawyer_b, name="Client Of Boris", email="cb@client.example")
    http = app.test_client()
    assert log_in(http, world.assistant_a.email).status_code == 302
    page = http.get("/admin/clients").get_data(as_text=True)
    assert "Zinaida" in page and "Client Of Boris" not in page
    assert 'name="lawyer_id"' in page  # the switcher
    assert post(http, "/admin/act-for", {"lawyer_id": str(world.lawyer_b.id)},
                token_from="/admin/clients").status_code == 302
    page = http.get("/admin/clients").get_data(as_text=True)
    assert "Client Of Boris" in page and "Zinaida" not in page
    assert http.get(f"/admin/clients/{world.client_a.id}").status_code == 404
    other = Lawyer(name="Stranger", email="s@x.example", timezone="UTC", firm_id=world.firm2.id)
    db.session.add(other)
    db.session.commit()
    assert post(http, "/admin/act-for", {"lawyer_id": str(other.id)},
                token_from="/admin/clients").status_code == 404


def test_firm_admin_invites_from_the_people_page(app, db, smtp, world, frozen):
    http = app.test_client()
    assert log_in(http, world.admin_2.email).status_code == 302
    assert http.get("/admin/").headers["Location"].endswith("/admin/people")
    response = post(http, "/admin/people/invite", {"email": "new@other.example", "role": "lawyer"},
                    token_from="/admin/people")
    assert response.status_code == 302
    link = _path(_mailed_link(smtp, "new@other.example"))
    joined = app.test_client().post(link, data={"name": "Nina New", "password": PASSWORD,
                                                "timezone": "Europe/Moscow"})
    assert joined.status_code == 303
    nina = db.session.scalar(sa.select(Lawyer).where(Lawyer.email == "new@other.example"))
    assert (nina.firm_id, nina.timezone) == (world.firm2.id, "Europe/Moscow")
    taken = post(http, "/admin/people/invite", {"email": world.lawyer_a.email, "role": "admin"},
                 token_from="/admin/people")
    assert taken.status_code == 409


def test_public_firm_page_lists_lawyers_and_their_public_intakes(client, db, world):
    db.session.add(Intake(lawyer_id=world.lawyer_a.id, slug="first-talk", title="First talk, 30 min",
                          windows="mon 10:00-12:00", duration_min=30))
    db.session.add(Intake(lawyer_id=world.lawyer_b.id, slug="paused", title="Paused intake", active=False,
                          windows="mon 10:00-12:00", duration_min=30))
    db.session.commit()
    page = client.get("/f/keller").get_data(as_text=True)
    assert "Anna Keller" in page and "Boris Brandt" in page
    assert "/i/first-talk" in page and "Paused intake" not in page
    assert "Other admin" not in page
    assert client.get("/f/nope").status_code == 404
    assert client.get("/f/..%2Fadmin").status_code == 404


@pytest.mark.db_matrix
@pytest.mark.migrations
def test_migration_puts_existing_lawyers_in_one_firm_the_first_administers_it(app, db):
    downgrade(revision="0007_outcome")
    with db.engine.begin() as connection:
        for n in (1, 2):
            connection.execute(sa.text(
                "INSERT INTO lawyer (name, email, timezone, session_version, language, created_at, password_hash) "
                "VALUES (:n, :e, 'UTC', 1, 'en', '2026-01-01 00:00:00', 'h')"), {"n": f"L{n}", "e": f"l{n}@x.example"})
    upgrade()
    db.session.remove()
    lawyers = db.session.scalars(sa.select(Lawyer).order_by(Lawyer.id)).all()
    assert {lw.firm_id for lw in lawyers} == {db.session.scalar(sa.select(Firm.id))}
    assert [lw.firm_admin for lw in lawyers] == [True, False]
    assert all(lw.password_hash == "h" for lw in lawyers)  # they keep signing in as before


def test_assistant_changes_their_own_password_and_other_sessions_end(app, db, world, frozen):
    http, other = app.test_client(), app.test_client()
    log_in(http, world.assistant_a.email)
    log_in(other, world.assistant_a.email)
    wrong = post(http, "/admin/account", {"current": "nope", "new": "a-new-password-1", "repeat": "a-new-password-1"},
                 token_from="/admin/account")
    assert wrong.status_code == 422
    done = post(http, "/admin/account", {"current": PASSWORD, "new": "a-new-password-1",
                                         "repeat": "a-new-password-1"}, token_from="/admin/account")
    assert done.status_code == 302
    assert http.get("/admin/clients").status_code == 200
    assert other.get("/admin/clients").status_code == 302  # signed out
    assert log_in(app.test_client(), world.assistant_a.email, "a-new-password-1").status_code == 302
    lawyer = app.test_client()
    log_in(lawyer, world.lawyer_a.email)
    assert lawyer.get("/admin/account").headers["Location"].endswith("/admin/settings")
