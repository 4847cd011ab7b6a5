"""Connected accounts: finding one again, and disconnecting it (whatever its kind)."""

from __future__ import annotations

import sqlalchemy as sa

from service.calendars.base import AccountSettings, load
from service.calendars.google.accounts import stop_channels
from service.core.crypto import decrypt_json
from service.storage.extensions import db
from service.storage.models import BusyBlock, CalendarAccount


def find_existing(lawyer_id: int, kind: str, settings: AccountSettings) -> CalendarAccount | None:
    """The lawyer's stored account of ``kind`` that ``settings`` name again, if any."""
    provider = load(kind)
    accounts = db.session.scalars(
        sa.select(CalendarAccount)
        .where(CalendarAccount.lawyer_id == lawyer_id, CalendarAccount.kind == kind)
        .order_by(CalendarAccount.id)
    )
    for account in accounts:
        secret = decrypt_json(account.secret_enc) if account.secret_enc else {}
        if provider.same_account(AccountSettings(account.config or {}, secret), settings):
            return account
    return None


def writable(account: CalendarAccount) -> bool:
    """Whether calls and prep blocks can be written to this account's calendars."""
    return load(account.kind).writable


def kind_title(account: CalendarAccount) -> str:
    """The kind of the account in the lawyer's words ("CalDAV", "iCal feed"...)."""
    return str(load(account.kind).title)


def disconnect(account: CalendarAccount) -> None:
    """Forget the account, its calendars and their busy time (the caller commits); a
    Google account's push channels (a Microsoft account's subscriptions) are closed first."""
    if account.kind == "google":
        stop_channels(account)
    if account.kind == "microsoft":
        from service.calendars.microsoft.accounts import stop_subscriptions

        stop_subscriptions(account)
    ids = [c.id for c in account.calendars]
    if ids:
        db.session.execute(sa.delete(BusyBlock).where(BusyBlock.calendar_id.in_(ids)))
    db.session.delete(account)
