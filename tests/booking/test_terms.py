"""booking.terms: the one table of agreement bounds and the checks built on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking import terms
from booking.availability import free_slots
from booking.terms import BOUNDS, AgreementError, check_agreement, validate_agreement
from tests.booking.booking_testkit import NOW, make_agreement, make_lawyer

WINDOWS = "tue 09:00-17:00"  # 480 minutes: every allowed duration fits
BASE = {"windows": WINDOWS, "duration": 45, "prep": 30, "notice": 0, "horizon_days": 365}


def values_of(bound: terms.Bound, margin: int = 3):
    """Integers around ``bound``, with None for the optional ones."""
    ints = st.integers(bound.minimum - margin, bound.maximum + margin)
    return st.none() | ints if bound.optional else ints


@pytest.mark.parametrize("name", list(BOUNDS))
@given(data=st.data())
def test_validate_agreement_accepts_exactly_the_values_inside_the_bounds(name, data):
    bound = BOUNDS[name]
    value = data.draw(values_of(bound), label=name)
    fields = BASE | {name: value}
    if name == "notice":
        fields["horizon_days"] = 31  # a notice up to 720 h is shorter than 744 h
    if bound.allows(value):
        assert getattr(validate_agreement(**fields), name) == value
    else:
        with pytest.raises(AgreementError) as refused:
            validate_agreement(**fields)
        assert refused.value.field == name
        assert name in str(refused.value) and str(value) in str(refused.value)


def test_bound_allows_is_the_table():
    assert [(b.minimum, b.maximum) for b in BOUNDS.values()] == [
        (5, 480), (0, 480), (0, 240), (0, 720), (1, 365), (1, 50), (1, 200), (15, 30), (0, 6)
    ]
    assert terms.STEP.allows(None) and terms.STEP.allows(15) and not terms.STEP.allows(20)
    assert not terms.DURATION.allows(None) and terms.MAX_PER_WEEK.allows(None)


def test_messages_are_one_line_with_the_field_and_the_bounds():
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | {"notice": -5})
    exc = refused.value
    assert (exc.field, exc.code) == ("notice", "range")
    assert str(exc) == "notice must be between 0 and 720 hours, not -5"
    assert exc.describe("--notice") == "--notice must be between 0 and 720 hours, not -5"
    assert exc.params == {"minimum": 0, "maximum": 720, "unit": "hours", "value": -5}
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"step": "7"}, "step", "choice"),
        ({"status_day": "9"}, "status_day", "choice"),
        ({"status_day": 7}, "status_day", "choice"),
        ({"duration": "abc"}, "duration", "not_a_number"),
        ({"duration": "1e9"}, "duration", "not_a_number"),
        ({"duration": True}, "duration", "not_a_number"),
        ({"duration": None}, "duration", "required"),
        ({"prep": ""}, "prep", "required"),
        ({"windows": "funday 10:00-11:00"}, "windows", "windows"),
        ({"windows": ()}, "windows", "windows"),
    ],
)
def test_bad_values_name_their_field(fields, field, code):
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | fields)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert "\n" not in str(refused.value)


def test_numbers_come_as_text_or_int_and_empty_means_none():
    checked = validate_agreement(
        windows=" tue 09:00-17:00 ", duration="45", prep=" 30 ", step="15", status_day="4",
        max_per_week="", max_per_month=None,
    )
    assert (checked.duration, checked.prep, checked.step, checked.status_day) == (45, 30, 15, 4)
    assert checked.max_per_week is None and checked.max_per_month is None
    assert checked.windows_text == "tue 09:00-17:00"


def test_the_call_must_fit_in_some_window():
    with pytest.raises(AgreementError) as refused:
        validate_agreement(windows="tue 16:00-18:00,thu 10:00-11:00", duration=121, prep=0)
    assert (refused.value.field, refused.value.code) == ("duration", "does_not_fit")
    assert str(refused.value) == "duration 121 does not fit in any window (longest: 120 min)"
    assert validate_agreement(windows="tue 16:00-18:00", duration=120, prep=0).duration == 120


@given(horizon=st.integers(1, 30), notice=st.integers(0, 720))
def test_notice_must_be_shorter_than_the_horizon(horizon, notice):
    fields = BASE | {"horizon_days": horizon, "notice": notice}
    if notice < horizon * 24:
        assert validate_agreement(**fields).notice == notice
    else:
        with pytest.raises(AgreementError) as refused:
            validate_agreement(**fields)
        assert (refused.value.field, refused.value.code) == ("notice", "notice_not_before_horizon")


@given(
    duration=st.integers(5, 480), prep=st.integers(0, 480), buffer_after=st.integers(0, 240),
    notice=st.integers(0, 720), step=st.sampled_from([None, 15, 30]),
)
def test_every_validated_agreement_is_accepted_by_the_engine(duration, prep, buffer_after, notice, step):
    checked = validate_agreement(windows=WINDOWS, duration=duration, prep=prep,
                                 buffer_after=buffer_after, notice=notice, horizon_days=365, step=step)
    check_agreement(checked.agreement())  # does not raise
    assert checked.agreement().notice == timedelta(hours=notice)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"notice": -timedelta(hours=5)}, "notice"),
        ({"notice": -timedelta(minutes=1)}, "notice"),
        ({"duration": timedelta(minutes=4)}, "duration"),
        ({"prep": -timedelta(minutes=1)}, "prep"),
        ({"buffer_after": -timedelta(minutes=1)}, "buffer_after"),
        ({"horizon_days": 0}, "horizon_days"),
    ],
)
def test_check_agreement_refuses_what_is_below_the_table(params, field):
    with pytest.raises(AgreementError) as refused:
        check_agreement(make_agreement(**params))
    assert refused.value.field == field and refused.value.code == "below"


def test_engine_refuses_negative_notice():
    """free_slots took a negative notice and offered calls nobody could prepare for."""
    with pytest.raises(AgreementError, match="notice must be at least 0 hours, not -5"):
        free_slots(make_agreement(notice=-timedelta(hours=5)), make_lawyer(), client="me", now=NOW)


def test_engine_takes_spans_longer_than_may_be_agreed():
    """The slot cache computes two days past the horizon: 367 days is no error there."""
    check_agreement(make_agreement(horizon_days=367, notice=timedelta(hours=800)))
