"""OAuth consent bound to the browser that started it, and every ``state`` single-use.

Any provider's web flow (Google today, Microsoft next) uses it the same way:

    url, state = <provider>.consent_url(...)
    oauth_binding.start("google", state)          # in the view that redirects to consent
    ...
    oauth_binding.finish("google", state, STATE_MAX_AGE)   # first thing in the callback

``start`` keeps a hash of the state in this browser's (signed) session; ``finish`` refuses
a state this browser did not start — a consent link forwarded to, or completed in,
another browser attaches nothing — and records the state's hash in ``oauth_state_use``
so it is accepted once only, even if the session cookie is replayed. A flow started
outside a browser (the CLI prints a consent link) has no session to bind to: its
callback calls ``spend`` after checking who is signed in.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import session
from sqlalchemy.exc import IntegrityError

from service.storage.extensions import db
from service.storage.models import OAuthStateUse, utcnow
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
