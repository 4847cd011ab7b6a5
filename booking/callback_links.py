"""The single-use "prepared callback" link a lawyer sends a client who rang unannounced."""

from __future__ import annotations

from datetime import datetime


def is_spent(used_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    """True once the link has booked a call or its time is up (at ``expires_at`` exactly)."""
    return used_at is not None or expires_at <= now
