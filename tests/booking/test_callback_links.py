"""booking.callback_links: a prepared-callback link works once and until it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.callback_links import is_spent

EXPIRES = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_a_fresh_link_works_until_its_expiry():
    assert not is_spent(None, EXPIRES, EXPIRES - SECOND)


def test_the_link_is_spent_at_the_expiry_instant():
    assert is_spent(None, EXPIRES, EXPIRES)
    assert is_spent(None, EXPIRES, EXPIRES + SECOND)


def test_a_used_link_is_spent_even_before_it_expires():
    assert is_spent(EXPIRES - timedelta(hours=1), EXPIRES, EXPIRES - timedelta(hours=2))
