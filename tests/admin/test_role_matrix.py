"""Every admin URL walked as each role: allowed, or 404 — never another lawyer's data.

The walk is driven by ``app.url_map``: a URL added later is walked too. Its ids are those
of lawyer A's rows (client, booking, calendar, task; a person of A's firm). Personas:
lawyer A (administers firm 1), A's assistant, B's assistant (same firm, other lawyer),
and the admin of another firm.
"""

from __future__ import annotations

import pytest

from tests.admin import firm_world
from tests.admin.conftest import csrf_token, log_in

#: Pages only a lawyer opens (passwords, calendar secrets): 404 for everyone else.
LAWYER_ONLY = {
    "admin.settings", "admin.calendars", "admin.connect_caldav", "admin.connect_ics",
    "admin.connect_google", "admin.connect_microsoft", "admin.disconnect", "admin.calendar_choices", "admin.sync_now",
    "firm.lawyer_privacy", "firm.client_erase",
}
#: Pages of the firm's admin: 404 for assistants and for admins of other firms (their own
#: firm's pages open, but only their firm's rows).
FIRM_ADMIN = {"firm.people", "firm.invite", "firm.assign", "firm.settings", "firm.edit_user", "firm.user_active",
              "firm.edit_lawyer", "firm.lawyer_active"}
#: Pages a person opens whatever their role (their own session; the ways back in, open
#: signed out too: tests/firm/test_sign_in_links.py).
ANYONE = {"admin.login", "admin.logout", "admin.forgot_password", "admin.reset_password",
          "admin.request_sign_in_link", "admin.sign_in_link"}
#: The audit log: the lawyer's own, the firm admin's firm-wide; never an assistant's.
AUDIT = {"firm.audit_log", "firm.audit_csv"}
#: One's own account (assistants and admins; a lawyer is sent to the settings page).
ACCOUNT = {"firm.account"}
#: The switcher answers 404 unless an assistant picks a lawyer assigned to them.
ASSISTANT_ONLY = {"firm.act_for"}
#: Run last: they change what later requests need.
DESTRUCTIVE = ("disconnect", "remove", "logout", "erase", "_active")

# Expected answer per (persona, kind of endpoint): True allowed, False 404.
TABLE = {
    #                 own-lawyer page  lawyer-only  firm-admin  resource of A  assistant-only  audit  account
    "lawyer_a":      (True,            True,        True,       True,          False,          True,  True),
    "assistant_a":   (True,            False,       False,      True,          False,          False, True),
    "assistant_b":   (True,            False,       False,      False,         False,          False, True),
    "admin_2":       (False,           False,       True,       False,         False,          True,  True),
}
IDS = {"client_id": "client_a", "booking_id": "booking_a", "account_id": "account_a",
       "calendar_id": "calendar_a", "task_id": "task_a", "user_id": "assistant_b", "lawyer_id": "lawyer_b"}


def _kind(endpoint: str, arguments: set[str]) -> int:
    if endpoint in ASSISTANT_ONLY:
        return 4
    if endpoint in AUDIT:
        return 5
    if endpoint in ACCOUNT:
        return 6
    if endpoint in LAWYER_ONLY:
        return 1
    if endpoint in FIRM_ADMIN:
        return 2
    if arguments & set(IDS):
        return 3
    return 0


def _admin_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin") and r.endpoint not in ANYONE]
    return sorted(rules, key=lambda r: (any(w in r.endpoint for w in DESTRUCTIVE), r.rule))


def _url(rule, world) -> str:
    values = {}
    for name in rule.arguments:
        values[name] = getattr(world, IDS[name]).id if name in IDS else 1
    return rule.build(values, append_unknown=False)[1]


def _expected(persona: str, rule) -> bool:
    kind = _kind(rule.endpoint, set(rule.arguments))
    allowed = TABLE[persona][kind]
    if persona == "admin_2" and kind == 2 and set(rule.arguments) & set(IDS):
        allowed = False  # a person of another firm
    if persona == "admin_2" and rule.endpoint == "admin.dashboard":
        allowed = True  # a firm admin who is no lawyer is sent on to the firm's page
    return allowed


@pytest.mark.parametrize("persona", ["assistant_b", "admin_2", "assistant_a", "lawyer_a"])
def test_every_admin_url_is_allowed_or_404_never_a_leak(app, db, make_client, frozen, persona):
    world = firm_world.build(db, make_client)
    email = {"lawyer_a": world.lawyer_a.email, "assistant_a": world.assistant_a.email,
             "assistant_b": world.assistant_b.email, "admin_2": world.admin_2.email}[persona]
    http = app.test_client()
    assert log_in(http, email).status_code == 302
    token = csrf_token(http, "/admin/audit" if persona != "assistant_b" and persona != "assistant_a"
                       else "/admin/clients")
    walked = []
    for rule in _admin_rules(app):
        url = _url(rule, world)
        for method in sorted(rule.methods & {"GET", "POST"}):
            if method == "POST":
                response = http.post(url, data={"csrf_token": token})
            else:
                response = http.get(url)
            body = response.get_data().decode("utf-8", "replace")
            where = f"{persona} {method} {url} ({rule.endpoint}) -> {response.status_code}"
            walked.append(where)
            assert response.status_code < 500, where
            assert "/admin/login" not in response.headers.get("Location", ""), where
            if _expected(persona, rule):
                # An id the world has no row for (a route added later: urgent requests,
                # letters, ...) is a 404 for everyone; the leak checks still apply.
                if not set(rule.arguments) - set(IDS):
                    assert response.status_code != 404, where
            else:
                assert response.status_code == 404, where
            if persona in ("assistant_b", "admin_2"):
                for secret in (firm_world.SECRET_NAME, firm_world.SECRET_EMAIL, firm_world.SECRET_AGENDA):
                    assert secret not in body, where
    assert len(walked) > 30


def test_the_matrix_covers_each_listed_endpoint(app):
    """Every endpoint named in the table exists (a renamed view fails here, not silently)."""
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    for name in LAWYER_ONLY | FIRM_ADMIN | ANYONE | ASSISTANT_ONLY | AUDIT | ACCOUNT:
        assert name in endpoints, name
