"""Resolving the bearer tokens in public URLs: client links and callback links."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Load, joinedload

from booking import callback_links
from service.storage.extensions import db
from service.storage.models import Booking, CallbackLink, Client, Lawyer, token_hash
from service.usecases.errors import Refused


class LinkReplaced(Refused):
    """The lawyer made a new link for this client; the old one says so, and whom to ask."""

    def __init__(self, client: Client) -> None:
        super().__init__("link_replaced", f"This link has been replaced by a new one; please ask "
                         f"{client.lawyer.name} for the current link.")
        self.client = client


@dataclass(frozen=True)
class Link:
    client: Client
    callback: CallbackLink | None = None


def resolve(token: str, now: datetime) -> Link:
    """The client behind a link token, or a 404/410 Refused."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise Refused("unknown_token", "This booking link does not exist.")
    client = find_client(token)
    if client is not None:
        if client.status == "archived":
            raise Refused("unknown_token", "This booking link does not exist.")
        return Link(client)
    callback = find_callback(token)
    if callback is None:
        replaced = find_replaced(token)
        if replaced is not None and replaced.status != "archived":
            raise LinkReplaced(replaced)
        raise Refused("unknown_token", "This booking link does not exist.")
    if callback_links.is_spent(callback.used_at, callback.expires_at, now):
        raise Refused("link_spent", "This callback link has already been used or has expired.")
    return Link(callback.client, callback)


# Tokens are ``secrets.token_urlsafe``; anything else cannot match and is not hashed (a
# lone surrogate from JSON, "\ud800", cannot even be encoded: it was a 500).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def well_formed_token(token: object) -> bool:
    return isinstance(token, str) and _TOKEN_RE.fullmatch(token) is not None


def find_by_manage_token(token: str) -> Booking | None:
    if not well_formed_token(token):
        return None
    return db.session.scalar(sa.select(Booking).where(Booking.manage_token_hash == token_hash(token)))


def with_agreement(client: Any) -> list[Any]:
    """Load options: with the client, its lawyer and firm, how many extra windows the
    client has and how many calendars and runs of days off the lawyer has, in the same
    query (what a page or a booking reads next); the windows and the days off themselves,
    if there are any, when ``Client.agreement`` and ``Lawyer.rules`` ask. Two collections
    joined in one query come back as their product: a lawyer's 100 runs of days off and a
    client's 10 extra windows were 1,000 rows and 22 ms for every page, slot list and
    booking; and a joined collection, even empty, cost a booking more than a count (#19)."""
    lawyer = client.joinedload(Client.lawyer)
    return [lawyer.joinedload(Lawyer.firm), lawyer.undefer(Lawyer.day_off_count),
            lawyer.undefer(Lawyer.calendar_count), client.undefer(Client.extra_window_count)]


def _one(query: sa.Select) -> Any:
    return db.session.execute(query).unique().scalar_one_or_none()


def find_client(token: str) -> Client | None:
    if not well_formed_token(token):
        return None
    return db.session.execute(_client_query(), {"token_hash": token_hash(token)}).unique().scalar_one_or_none()


@functools.cache
def _client_query() -> sa.Select:
    """Built once (#19: building a statement cost a booking more than running it)."""
    return (sa.select(Client).options(*with_agreement(Load(Client)))
            .where(Client.token_hash == sa.bindparam("token_hash")))


def find_callback(token: str) -> CallbackLink | None:
    if not well_formed_token(token):
        return None
    return _one(sa.select(CallbackLink).options(*with_agreement(joinedload(CallbackLink.client)))
                .where(CallbackLink.token_hash == token_hash(token)))


def find_replaced(token: str) -> Client | None:
    """The client whose previous link this token was."""
    if not well_formed_token(token):
        return None
    return db.session.scalar(sa.select(Client).where(Client.replaced_token_hash == token_hash(token)))
