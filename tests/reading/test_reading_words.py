"""The calendars page's sentences about unreadable events speak the lawyer's language
throughout: the readers' own reasons are translated, a library's message about malformed
data is quoted after words of the lawyer's language (it used to be English in a Russian
sentence)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from service.usecases.reading_words import OWN_REASONS, reading_warnings

BERLIN = ZoneInfo("Europe/Berlin")


def sentence(app, detail: str, lang: str) -> str:
    warning = {"uid": "u1", "summary": "Board", "reason": "unreadable", "detail": detail,
               "start": "2030-03-04T09:00:00+00:00", "end": "2030-03-04T10:00:00+00:00"}
    with app.test_request_context(), force_locale(lang):
        (line,) = reading_warnings({"x": [warning]}, BERLIN)
    return line


@pytest.mark.parametrize("detail", sorted(OWN_REASONS))
def test_regression_the_readers_own_reasons_are_russian_on_a_russian_page(app, detail):
    russian = sentence(app, detail, "ru")
    assert russian.startswith("Не удалось прочитать событие «Board»: ")
    assert detail not in russian and "cannot" not in russian
    assert sentence(app, detail, "en").startswith(f"Could not read event «Board»: {OWN_REASONS[detail]}")


def test_unreadable_properties_are_named_in_a_russian_sentence(app):
    russian = sentence(app, "cannot read RRULE, EXDATE", "ru")
    assert "не читаются поля RRULE, EXDATE" in russian and "cannot" not in russian
    assert "its RRULE, EXDATE cannot be read" in sentence(app, "cannot read RRULE, EXDATE", "en")


def test_a_librarys_message_is_quoted_as_the_malformed_data_it_describes(app):
    detail = "ValueError: Invalid recurrence rule"
    russian = sentence(app, detail, "ru")
    assert "данные события повреждены («ValueError: Invalid recurrence rule»)" in russian
    assert "its data is malformed (“ValueError: Invalid recurrence rule”)" in sentence(app, detail, "en")
