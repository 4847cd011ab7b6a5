"""Storage for Google push notification channels (``events.watch``).

One row per open channel. The channel token Google echoes in ``X-Goog-Channel-Token``
is a fresh random secret per channel; only its SHA-256 is stored, like link tokens.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.storage.extensions import db
from service.storage.models import Calendar, UTCDateTime, utcnow


class GoogleChannel(db.Model):
    __tablename__ = "google_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        sa.ForeignKey("calendar.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(sa.String(64), unique=True)  # ours (a UUID)
    resource_id: Mapped[str] = mapped_column(sa.String(200))  # Google's
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    calendar: Mapped[Calendar] = relationship()
