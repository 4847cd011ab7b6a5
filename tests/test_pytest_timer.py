"""pytest's own timer keeps real time while freezegun freezes the tests' clock; a frozen
clock stops only after the rate limiter's expiry timers have run."""

from __future__ import annotations

import re
import threading

from freezegun import freeze_time
from limits.storage import MemoryStorage

from tests.conftest import NOW

INNER = '''
import time

import pytest
from freezegun import freeze_time


@pytest.fixture
def frozen():
    with freeze_time("2026-03-02 08:00:00"):
        yield


def test_sleeps_while_frozen(frozen):
    time.sleep(0.05)
'''


def test_durations_of_a_frozen_test_are_real_times(pytester, monkeypatch, frozen):
    """Regression: ``--durations`` printed setup and teardown times of years for frozen tests."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--durations=0", "--durations-min=0")
    result.assert_outcomes(passed=1)
    durations = {
        phase: float(seconds)
        for seconds, phase in re.findall(r"^(\d+\.\d+)s (setup|call|teardown) ", result.stdout.str(), re.M)
    }
    assert set(durations) == {"setup", "call", "teardown"}, result.stdout.str()
    assert 0.05 <= durations["call"] < 30, durations
    assert durations["setup"] < 30 and durations["teardown"] < 30, durations


def test_regression_a_frozen_clock_stops_after_the_rate_limit_timers():
    """Regression: the in-memory rate limit storage reads ``time.time()`` on a Timer thread
    10 ms after a count; when a test's frozen clock stopped in that moment, freezegun
    raised IndexError on that thread and the test failed in its teardown
    (``test_a_booking_reads_no_column_its_query_left_out``, once in ``make test``). The
    conftest's ``stop`` waits for those timers first. The storage's own timer is re-armed
    as its 10 ms would run out (a loaded machine could end it before the block does, and
    the test would then prove nothing): 0.3 s, the same expiry of the same storage."""
    storage = MemoryStorage()
    with freeze_time(NOW):
        storage.incr("booking", 60)
        timer = threading.Timer(0.3, storage._MemoryStorage__expire_events)
        timer.start()
        assert timer.is_alive()
    assert not timer.is_alive()
