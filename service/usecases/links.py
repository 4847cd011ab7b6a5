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
from service.storage import lawyer_lock
from service.storage.db_setup import is_sqlite
from service.storage.extensions import db
from service.storage.models import Booking, CallbackLink, Client, Firm, Lawyer, token_hash
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


def resolve(token: str, now: datetime, *, lock: bool = False) -> Link:
    """The client behind a link token, or a 404/410 Refused. ``lock``: to book; a client's
    link is found by the statement that takes the lawyer's booking lock (``find_client``)."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise Refused("unknown_token", "This booking link does not exist.")
    client = find_client(token, lock=lock)
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


def with_agreement(client: Any, *, joined: bool = False) -> list[Any]:
    """Load options: with the client, its lawyer and firm, how many extra windows the
    client has and how many calendars and runs of days off the lawyer has, in the same
    query (what a page or a booking reads next); the windows and the days off themselves,
    if there are any, when ``Client.agreement`` and ``Lawyer.rules`` ask. Two collections
    joined in one query come back as their product: a lawyer's 100 runs of days off and a
    client's 10 extra windows were 1,000 rows and 22 ms for every page, slot list and
    booking; and a joined collection, even empty, cost a booking more than a count (#19).
    ``joined``: the query joins the lawyer and (outer) the firm itself."""
    lawyer = client.contains_eager(Client.lawyer) if joined else client.joinedload(Client.lawyer)
    firm = lawyer.contains_eager(Lawyer.firm) if joined else lawyer.joinedload(Lawyer.firm)
    return [firm, lawyer.undefer(Lawyer.day_off_count), lawyer.undefer(Lawyer.calendar_count),
            client.undefer(Client.extra_window_count)]


def _one(query: sa.Select) -> Any:
    return db.session.execute(query).unique().scalar_one_or_none()


def find_client(token: str, *, lock: bool = False) -> Client | None:
    """The client whose link ``token`` is. ``lock``: to book (``_booking_client_query``:
    what a booking reads, replacing what this session may have read of the client and the
    lawyer before); on PostgreSQL the same statement takes the lawyer's booking lock and
    draws the booking's key (``lawyer_lock``), so that it is read under that lock."""
    if not well_formed_token(token):
        return None
    params = {"token_hash": token_hash(token)}
    if not lock:
        return db.session.execute(_client_query(), params).scalar_one_or_none()
    found = db.session.execute(_booking_client_query(not is_sqlite()), params).one_or_none()
    if found is None:
        return None
    client, booking_id = found
    if booking_id is not None:
        lawyer_lock.note(client.lawyer_id, booking_id)
    return client


@functools.cache
def _client_query() -> sa.Select:
    """Built once (#19: building a statement cost a booking more than running it)."""
    return (sa.select(Client).options(*with_agreement(Load(Client)))
            .where(Client.token_hash == sa.bindparam("token_hash")))


#: What a booking never reads of the client, its lawyer and the firm, left out of its
#: query (read if asked; ``test_a_booking_reads_no_column_its_query_left_out``): the
#: client's matter (privileged, decrypted at every read), the link token kept for the
#: lawyer, the lawyer's password hash and letter templates, and what only the lawyer's
#: pages, the letters and the worker read (#19: 62 columns became 46, 2.4 % of a booking's
#: instructions).
_UNREAD = {
    Client: ("matter", "token_enc", "replaced_token_hash", "created_at", "erased_at", "status_updated_on"),
    Lawyer: ("password_hash", "letter_template_en", "letter_template_ru", "session_version", "no_show_flag_at",
             "created_at", "letter_minutes", "capacity_min", "show_demand", "firm_admin", "approve_new_clients",
             "calendar_agenda"),
    Firm: ("created_at", "retention_days", "slug"),
}


@functools.cache
def _booking_client_query(lock: bool) -> sa.Select:
    """``_client_query`` for a booking: the client and a booking key. With ``lock``
    (PostgreSQL) it locks the lawyer's row and draws the key (the lawyer joined by name,
    ``FOR UPDATE OF lawyer``, not as ``joinedload``'s alias); without, the key is None.
    What a booking never reads is left out (``_UNREAD``)."""
    client = Load(Client)
    lawyer = client.contains_eager(Client.lawyer)
    paths = {Client: client, Lawyer: lawyer, Firm: lawyer.contains_eager(Lawyer.firm)}
    unread = [paths[model].defer(getattr(model, name)) for model, names in _UNREAD.items() for name in names]
    query = (sa.select(Client, lawyer_lock.NEXT_BOOKING_ID if lock else sa.null())
             .join(Client.lawyer).outerjoin(Lawyer.firm)
             .options(*with_agreement(client, joined=True), *unread)
             .where(Client.token_hash == sa.bindparam("token_hash"))
             .execution_options(populate_existing=True))
    return query.with_for_update(of=Lawyer) if lock else query


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
