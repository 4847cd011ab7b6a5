"""The status-letter template: placeholders, sections, Russian names, values inserted as typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking import letters
from booking.letters import HeldCall, LetterFacts, TemplateError, check_template, render

FACTS = LetterFacts(client="Boris", lawyer="Anna", matter="Lease", period_from="Feb 1", period_to="Mar 2",
                    held=(HeldCall("Feb 17", "Clause  4\nand deposit", "Offer: 3 months"), HeldCall("Feb 24", "B", None)),
                    upcoming=())


def test_sections_kept_only_with_a_value_and_notes_only_when_marked():
    values = letters.values(FACTS)
    assert values["calls"] == "- Feb 17: Clause 4 and deposit\n- Feb 24: B"
    assert values["notes"] == "- Feb 17:\n  Offer: 3 months"
    text = render("[[calls]]C:\n{{calls}}\n[[/calls]][[upcoming]]U: {{upcoming}}\n[[/upcoming]]end", values)
    assert text == "C:\n- Feb 17: Clause 4 and deposit\n- Feb 24: B\nend"


def test_russian_names_work_like_the_english_ones():
    values = letters.values(FACTS)
    assert render("{{клиент}} / {{ client }} [[итоги]]{{итоги}}[[/итоги]]", values) == (
        "Boris / Boris - Feb 17:\n  Offer: 3 months")


@pytest.mark.parametrize("template, words", [
    ("{{secret}}", "unknown name 'secret'"),
    ("[[calls]] open", "not closed"),
    ("[[calls]]x[[/notes]]", "not closed"),
    ("x" * (letters.TEMPLATE_MAX + 1), "longer than"),
])
def test_bad_templates_are_refused_with_a_reason(template, words):
    with pytest.raises(TemplateError, match=words):
        check_template(template)


@given(st.text(alphabet="{}[]/ab client", max_size=40))
def test_markup_inside_a_value_is_inserted_as_typed(agenda):
    facts = LetterFacts("C", "L", "M", "a", "b", (HeldCall("d", agenda, None),), ())
    assert render("{{calls}}", letters.values(facts)) == letters.values(facts)["calls"]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_default_templates_are_valid_and_end_with_the_lawyer(language):
    check_template(letters.DEFAULT_TEMPLATES[language])
    assert letters.draft(None, language, FACTS).rstrip().endswith("Anna")


def test_clean_text_normalises_and_refuses_empty_or_huge():
    assert letters.clean_text("a\r\nb\x00\r") == "a\nb\n"
    with pytest.raises(ValueError, match="empty"):
        letters.clean_text(" \n ")
    with pytest.raises(ValueError, match="longer"):
        letters.clean_text("x" * (letters.LETTER_MAX + 1))
