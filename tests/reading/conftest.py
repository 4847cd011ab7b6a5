"""The real servers and provider factory of tests/calendars_tests, for these tests too."""

from tests.calendars_tests.conftest import connect, radicale, server, xandikos  # noqa: F401 - fixtures
