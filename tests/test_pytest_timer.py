"""pytest's own timer keeps real time while freezegun freezes the tests' clock."""

from __future__ import annotations

import re

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
