"""booking.terms: the one table of agreement bounds and the checks built on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking import terms
from booking.availability import free_slots
from booking.model import Agreement
from booking.terms import BOUNDS, AgreementError, Terms, check_agreement, validate_agreement
from booking.windows import parse_windows
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


def test_defaults_are_no_prep_no_buffer_a_day_of_notice_and_thirty_days():
    """Only windows and duration given: the defaults every caller relies on."""
    assert validate_agreement(windows=WINDOWS, duration=45) == Terms(
        windows=parse_windows(WINDOWS), duration=45, prep=0, buffer_after=0, notice=24,
        notice_next_working_day=False, horizon_days=30, max_per_week=None, max_per_month=None,
        step=None, status_day=None,
    )


def test_agreement_carries_every_field_in_engine_units():
    """Terms.agreement() converts minutes, hours and the step and keeps the rest as given."""
    checked = validate_agreement(
        windows=WINDOWS, duration=45, prep=30, buffer_after=10, notice=48,
        notice_next_working_day=True, horizon_days=60, max_per_week=2, max_per_month=5,
        step=15, status_day=4,
    )
    assert checked.notice_next_working_day is True
    assert checked.agreement() == Agreement(
        windows=parse_windows(WINDOWS), duration=timedelta(minutes=45),
        prep=timedelta(minutes=30), buffer_after=timedelta(minutes=10),
        notice=timedelta(hours=48), notice_next_working_day=True, horizon_days=60,
        max_per_week=2, max_per_month=5, step=timedelta(minutes=15),
    )
    assert validate_agreement(windows=WINDOWS, duration=45).agreement().step is None


def test_windows_may_be_given_as_parsed_values():
    """A list of Window values is taken as it is (not parsed as text)."""
    windows = list(parse_windows("tue 16:00-18:00,thu 10:00-11:00"))
    assert validate_agreement(windows=windows, duration=30).windows == tuple(windows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+45", 45), (" 45 ", 45), ("000000000045", 45), (45, 45)],
)
def test_whole_numbers_as_text_may_carry_a_sign_spaces_and_up_to_twelve_characters(text, expected):
    assert validate_agreement(**BASE | {"duration": text}).duration == expected


@pytest.mark.parametrize(
    "value", ["0000000000045", "X5", "4.5", "4 5", "-", 45.0, 4.5, True, False, [45]]
)
def test_anything_but_an_int_or_its_decimal_text_is_not_a_number(value):
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | {"duration": value})
    assert (refused.value.code, refused.value.params) == ("not_a_number", {"value": value})
    assert str(refused.value) == f"duration must be a whole number, not {value!r}"


@pytest.mark.parametrize("value", ["+-5", "--5", "++5", "5-", "٣٠"])
def test_doubled_signs_and_other_digits_are_not_a_number(value):
    """Regression: "+-5" passed the digit check and int() raised a plain ValueError, so
    callers reading the refusal's field and code broke."""
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | {"duration": value})
    assert refused.value.code == "not_a_number" and refused.value.field == "duration"


def test_a_negative_number_as_text_is_out_of_range_not_unreadable():
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | {"notice": "-5"})
    assert (refused.value.code, refused.value.params["value"]) == ("range", -5)


def _refusal(**fields) -> AgreementError:
    with pytest.raises(AgreementError) as refused:
        validate_agreement(**BASE | fields)
    return refused.value


def test_each_code_has_its_own_message():
    """describe() picks the wording by code; every code a caller can meet is pinned here."""
    assert str(_refusal(duration=None)) == "duration is required"
    assert str(_refusal(duration="abc")) == "duration must be a whole number, not 'abc'"
    assert str(_refusal(step="7")) == "step must be one of 15, 30 minutes, not 7"
    assert str(_refusal(status_day=9)) == (
        "status_day must be one of 0, 1, 2, 3, 4, 5, 6 (0 = Monday), not 9"
    )
    assert str(_refusal(windows=())) == "windows: no windows given"
    assert str(_refusal(notice=48, horizon_days=2)) == (
        "notice of 48 hours must be shorter than the horizon of 2 days (48 hours)"
    )
    assert str(AgreementError("prep", "something_new")) == "prep is not allowed"


def test_a_bound_without_unit_adds_none_to_the_message():
    error = AgreementError("max_per_week", "range", minimum=1, maximum=50, value=0)
    assert str(error) == "max_per_week must be between 1 and 50, not 0"


def test_a_windows_refusal_carries_the_parser_message():
    with pytest.raises(ValueError) as parsed:
        parse_windows("funday 10:00-11:00")
    refused = _refusal(windows="funday 10:00-11:00")
    assert refused.params == {"problem": str(parsed.value)}
    assert refused.describe("--windows") == f"--windows: {parsed.value}"


def test_a_choice_refusal_carries_the_choices_and_unit():
    assert _refusal(step=20).params == {"choices": (15, 30), "unit": "minutes", "value": 20}


def test_longest_window_counts_minutes_of_both_edges():
    assert terms.longest_window(parse_windows("tue 09:30-10:45,thu 16:15-16:50")) == 75


def test_notice_of_exactly_the_horizon_is_refused_one_hour_less_is_accepted():
    assert validate_agreement(**BASE | {"horizon_days": 1, "notice": 23}).notice == 23
    refused = _refusal(horizon_days=1, notice=24)
    assert (refused.code, refused.params) == (
        "notice_not_before_horizon", {"notice": 24, "horizon_days": 1}
    )


def test_notice_next_working_day_is_stored_as_a_bool():
    assert validate_agreement(**BASE | {"notice_next_working_day": 1}).notice_next_working_day is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon_days": 0}, "horizon_days must be at least 1 days, not 0"),
        ({"notice": -timedelta(hours=10000)}, "notice must be at least 0 hours, not -10000"),
        ({"notice": -timedelta(minutes=1)}, "notice must be at least 0 hours, not -0.01667"),
        ({"prep": -timedelta(seconds=90)}, "prep must be at least 0 minutes, not -1.5"),
    ],
)
def test_check_agreement_says_the_value_in_the_unit_of_the_table(params, message):
    with pytest.raises(AgreementError) as refused:
        check_agreement(make_agreement(**params))
    assert str(refused.value) == message
