"""Firm tests: the SMTP server of the mail tests, the admin helpers, a firm world."""

from __future__ import annotations

import pytest

from tests.admin import firm_world
from tests.admin.conftest import _show_unhandled, lawyer  # noqa: F401 - fixtures
from tests.mail.conftest import smtp  # noqa: F401 - fixture


@pytest.fixture
def world(db, make_client):
    return firm_world.build(db, make_client)
