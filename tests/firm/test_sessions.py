"""Server-side sessions for every person who signs in (lawyers, assistants, firm admins):
logout, "sign out everywhere", expiry and deactivation end them on the server, so a
copied cookie replayed afterwards is refused (#12, #17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.storage.models import AdminSession
from tests.admin.conftest import log_in, post


def _copied(app, http):
    """A second browser carrying a copy of ``http``'s session cookie."""
    replay = app.test_client()
    replay.set_cookie("session", http.get_cookie("session").value)
    return replay


def _signed_in(http) -> bool:
    return http.get("/admin/account").status_code == 200


def _sign_in(app, email: str):
    http = app.test_client()
    assert log_in(http, email).status_code == 302
    return http


@pytest.mark.parametrize("who", ["assistant_a", "admin_2"])
def test_copied_assistant_cookie_is_refused_after_logout(app, db, world, frozen, who):
    """An assistant's or firm admin's cookie had no server row: a copy outlived the logout
    (it only ended by bumping the version, which also signed out every other browser)."""
    person = getattr(world, who)
    http = _sign_in(app, person.email)
    other = _sign_in(app, person.email)
    replay = _copied(app, http)
    assert _signed_in(replay)
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id)).where(AdminSession.user_id == person.id)) == 2
    assert post(http, "/admin/logout", token_from="/admin/account").status_code == 302
    assert not _signed_in(replay)
    assert _signed_in(other)  # signing out in one browser leaves the others signed in


def test_copied_assistant_cookie_is_refused_after_sign_out_everywhere(app, db, world, frozen):
    http = _sign_in(app, world.assistant_a.email)
    other = _sign_in(app, world.assistant_a.email)
    replay = _copied(app, other)
    response = post(http, "/admin/account", {"action": "everywhere"}, token_from="/admin/account")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/login")
    assert not _signed_in(http) and not _signed_in(other) and not _signed_in(replay)
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id))) == 0


def test_assistant_session_expires_on_the_server(app, db, world, frozen):
    """The server row's expiry holds even if the cookie itself is kept longer."""
    http = _sign_in(app, world.assistant_a.email)
    frozen.tick(timedelta(hours=11))
    assert _signed_in(http)
    frozen.tick(timedelta(hours=2))
    assert not _signed_in(http)


def test_assistant_cookie_with_a_forged_session_id_is_refused(app, db, world, frozen):
    """The version and user id alone (what the cookie used to carry) no longer sign in."""
    http = _sign_in(app, world.assistant_a.email)
    with http.session_transaction() as cookie:
        cookie["sid"] = "forged-" + "x" * 20
    assert not _signed_in(http)


def test_a_lawyers_session_row_does_not_sign_in_a_user_with_the_same_id(app, db, world, frozen):
    """Session rows name their owner's table: a lawyer's row never vouches for the user
    whose id happens to be the same number."""
    http = _sign_in(app, world.lawyer_a.email)
    with http.session_transaction() as cookie:
        cookie.pop("lawyer_id")
        cookie["user_id"] = world.lawyer_a.id
        cookie["session_version"] = 1
    assert not _signed_in(http)


def test_cli_set_password_refuses_an_overlong_password_in_one_line(runner, db, world):
    """A 2,000-character password went past the length check into the hash unguarded."""
    result = runner.invoke(args=["lawyer", "set-password", "--lawyer", str(world.lawyer_a.id),
                                 "--password", "p" * 2000])
    assert result.exit_code != 0 and "Traceback" not in result.output and "1000" in result.output


def test_cli_set_password_ends_every_session_of_the_lawyer(app, runner, db, world, frozen):
    http = _sign_in(app, world.lawyer_b.email)
    result = runner.invoke(args=["lawyer", "set-password", "--lawyer", str(world.lawyer_b.id),
                                 "--password", "another long password"])
    assert result.exit_code == 0, result.output
    assert http.get("/admin/").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id)).where(
        AdminSession.lawyer_id == world.lawyer_b.id)) == 0
