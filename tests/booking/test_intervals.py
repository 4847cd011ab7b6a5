"""``booking.intervals``: half-open intervals, merging, and the busy index's queries."""

from datetime import UTC, datetime

import pytest

from booking.intervals import BusyIndex, Interval, merge


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 2, hour, minute, tzinfo=UTC)


def iv(start: tuple[int, int], end: tuple[int, int]) -> Interval:
    return Interval(t(*start), t(*end))


TEN_TO_ELEVEN = iv((10, 0), (11, 0))


def test_touching_intervals_do_not_overlap():
    """[10, 11) and [11, 12) share no instant, from either side."""
    after = iv((11, 0), (12, 0))
    before = iv((9, 0), (10, 0))
    assert not TEN_TO_ELEVEN.overlaps(after) and not after.overlaps(TEN_TO_ELEVEN)
    assert not TEN_TO_ELEVEN.overlaps(before) and not before.overlaps(TEN_TO_ELEVEN)
    one_minute = iv((10, 59), (11, 1))
    assert TEN_TO_ELEVEN.overlaps(one_minute) and one_minute.overlaps(TEN_TO_ELEVEN)


@pytest.mark.parametrize(
    ("other", "inside"),
    [
        (TEN_TO_ELEVEN, True),
        (iv((10, 0), (10, 30)), True),
        (iv((10, 30), (11, 0)), True),
        (iv((9, 59), (10, 30)), False),
        (iv((10, 30), (11, 1)), False),
        (iv((9, 0), (12, 0)), False),
    ],
)
def test_contains_includes_both_edges(other, inside):
    assert TEN_TO_ELEVEN.contains(other) is inside


def test_merge_joins_touching_and_overlapping_and_drops_empty():
    """Touching intervals become one; an empty one disappears; input order does not matter."""
    assert merge([iv((11, 0), (12, 0)), iv((10, 0), (11, 0))]) == [iv((10, 0), (12, 0))]
    assert merge([iv((10, 0), (12, 0)), iv((10, 30), (11, 0))]) == [iv((10, 0), (12, 0))]
    assert merge([iv((10, 0), (11, 0)), iv((10, 30), (11, 30))]) == [iv((10, 0), (11, 30))]
    assert merge([iv((10, 0), (10, 0))]) == []
    assert merge([iv((9, 0), (9, 0)), iv((10, 0), (11, 0))]) == [TEN_TO_ELEVEN]
    assert merge([iv((10, 0), (11, 0)), iv((12, 0), (13, 0))]) == [
        iv((10, 0), (11, 0)),
        iv((12, 0), (13, 0)),
    ]


BUSY = [iv((13, 0), (14, 0)), iv((9, 0), (10, 0)), iv((11, 0), (11, 30)), iv((11, 30), (12, 0))]
MERGED = [iv((9, 0), (10, 0)), iv((11, 0), (12, 0)), iv((13, 0), (14, 0))]
# Every non-empty interval of whole quarter hours between 08:00 and 15:00.
CANDIDATES = [
    Interval(t(8) + a * (t(8, 15) - t(8)), t(8) + b * (t(8, 15) - t(8)))
    for a in range(29)
    for b in range(a + 1, 29)
]


def test_busy_index_holds_the_merged_intervals():
    index = BusyIndex(BUSY)
    assert len(index) == 3
    assert list(index) == MERGED
    assert list(BusyIndex([])) == [] and len(BusyIndex([])) == 0


def test_busy_index_queries_agree_with_brute_force():
    """``overlapping``, ``is_free`` and ``is_free_between`` against a scan of every interval."""
    index = BusyIndex(BUSY)
    for candidate in CANDIDATES:
        hits = [m for m in MERGED if m.overlaps(candidate)]
        assert index.overlapping(candidate) == (hits[0] if hits else None), candidate
        assert index.is_free(candidate) is (not hits), candidate
        assert index.is_free_between(*candidate) is (not hits), candidate


def test_an_empty_busy_index_is_free_everywhere():
    index = BusyIndex([])
    assert index.overlapping(TEN_TO_ELEVEN) is None
    assert index.is_free(TEN_TO_ELEVEN) and index.is_free_between(*TEN_TO_ELEVEN)
