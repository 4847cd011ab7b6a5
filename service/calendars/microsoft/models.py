"""Storage for the Microsoft provider: change subscriptions.

``microsoft_subscription``: one row per Graph subscription on a conflict calendar's
events. The ``clientState`` Graph echoes in every notification is a fresh random secret
per subscription; only its SHA-256 is stored, like link tokens.
(Sign-ins in flight keep nothing here: ``service.calendars.oauth_state`` and
``service.web.oauth_binding``, as Google's.)
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.storage.extensions import db
from service.storage.models import Calendar, UTCDateTime, utcnow


class MicrosoftSubscription(db.Model):
    __tablename__ = "microsoft_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        sa.ForeignKey("calendar.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[str] = mapped_column(sa.String(200), unique=True)  # Graph's
    client_state_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    calendar: Mapped[Calendar] = relationship()

