"""OAuth consent bound to the browser that started it, and every ``state`` single-use.

Every sign-in provider's web flow (Google, Microsoft) uses it the same way:

    url, state = <provider>.consent_url(lawyer_id, redirect, origin="web")
    oauth_binding.start("google", state)          # in the view that redirects to consent
    ...
    lawyer = oauth_binding.accept("google", "Google Calendar", state, <provider>.load_state(state))
                                                  # first thing in the callback

``start`` keeps a hash of the state in this browser's (signed) session; ``finish`` refuses
a state this browser did not start — a consent link forwarded to, or completed in,
another browser attaches nothing — and records the state's hash in ``oauth_state_use``
so it is accepted once only, even if the session cookie is replayed. A flow started
outside a browser (the CLI prints a consent link) has no session to bind to: its
callback accepts it (``spend``) only in a browser signed in as the lawyer it names.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import session
from sqlalchemy.exc import IntegrityError

from service.calendars import oauth_state
from service.storage.extensions import db
from service.storage.models import Lawyer, OAuthStateUse, utcnow
from service.web import auth
from service.web.errors import AppError

_KEY = "oauth_started"
_KEEP = 3  # consents started in this browser and not yet finished, per provider


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "replace")).hexdigest()


def start(provider: str, state: str) -> None:
    """Remember in this browser's session that it started a consent with ``state``."""
    started = dict(session.get(_KEY) or {})
    mine = [h for h in started.get(provider, []) if isinstance(h, str)][-(_KEEP - 1):]
    started[provider] = [*mine, _digest(state)]
    session[_KEY] = started


def finish(provider: str, state: str, max_age_seconds: int) -> None:
    """Accept ``state`` once, and only in the browser that started it; else AppError 400."""
    started = dict(session.get(_KEY) or {})
    mine = list(started.get(provider) or [])
    digest = _digest(state)
    if digest not in mine:
        raise AppError(400, "oauth_not_started_here",
                       "This sign-in answer was not started in this browser; start again from the calendars page.")
    mine.remove(digest)
    started[provider] = mine
    session[_KEY] = started
    spend(state, max_age_seconds)


def spend(state: str, max_age_seconds: int) -> None:
    """Record ``state`` as used; AppError 400 if it was used before (a replay)."""
    now = utcnow()
    db.session.execute(sa.delete(OAuthStateUse).where(OAuthStateUse.expires_at <= now))
    db.session.add(OAuthStateUse(state_hash=_digest(state), used_at=now,
                                 expires_at=now + timedelta(seconds=max_age_seconds + 60)))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AppError(400, "oauth_state_used",
                       "This sign-in answer has already been used; start again from the calendars page.") from None


def accept(provider: str, title: str, state: str, data: dict) -> Lawyer:
    """The lawyer a consent answer may connect, its ``state`` spent; else AppError 400.

    ``data``: the loaded state (``oauth_state``). Only a browser signed in as the lawyer
    the consent was started for, and for a consent started in a browser only that browser
    (``finish``); a printed link (origin "cli") in any browser signed in as that lawyer
    (the lawyer, not an assistant acting for them).
    ``title`` names the provider in the messages ("Google Calendar").
    """
    person = auth.current_person()
    signed_in = person.lawyer if person is not None else None  # never an assistant: calendars are the lawyer's
    if signed_in is None:
        raise AppError(400, "bad_callback",
                       f"Sign in to the admin area first, then connect {title} from the calendars page.")
    if signed_in.id != data["l"]:
        # Started for another lawyer: never attach their account to the one signed in
        # here (or the other way round).
        raise AppError(400, "bad_callback", f"This {title} sign-in answer belongs to another lawyer.")
    if oauth_state.origin(data) == "cli":
        spend(state, oauth_state.STATE_MAX_AGE)
    else:
        finish(provider, state, oauth_state.STATE_MAX_AGE)
    return signed_in
