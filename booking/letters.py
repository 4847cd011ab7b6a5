"""Status letters: what goes into one, and the lawyer's template it is laid into.

A template is plain text with simple markup:

- ``{{name}}`` is replaced by a value: ``client``, ``lawyer``, ``matter``, ``period_from``,
  ``period_to``, ``calls`` (the calls held, one line each: date and agenda), ``notes``
  (the after-call notes the lawyer marked "for the letter"), ``upcoming`` (calls booked);
  each also has a Russian name (``RUSSIAN_NAMES``) for Russian templates;
- ``[[name]] ... [[/name]]`` keeps the text between only when the value is not empty
  (so "Upcoming calls:" disappears when none are booked).

Everything here is pure: the caller formats dates in the client's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FIELDS = ("client", "lawyer", "matter", "period_from", "period_to", "calls", "notes", "upcoming")
#: The same names in Russian, for Russian templates (either spelling works in any template).
RUSSIAN_NAMES = {
    "клиент": "client", "юрист": "lawyer", "дело": "matter", "период_с": "period_from",
    "период_по": "period_to", "консультации": "calls", "итоги": "notes", "предстоящие": "upcoming",
}
NAMES = {"en": FIELDS, "ru": tuple(RUSSIAN_NAMES)}
TEMPLATE_MAX = 20_000
LETTER_MAX = 50_000

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SECTION = re.compile(r"\[\[(\w+)\]\]\n?(.*?)\[\[/\1\]\]\n?", re.S)
_ANY_SECTION_TAG = re.compile(r"\[\[/?(\w+)\]\]")


def _canonical(name: str) -> str | None:
    return name if name in FIELDS else RUSSIAN_NAMES.get(name)


class TemplateError(ValueError):
    """The template uses a name that does not exist or leaves a section open."""


DEFAULT_TEMPLATES = {
    "en": (
        "Dear {{client}},\n\n"
        "here is the status of {{matter}} for {{period_from}} – {{period_to}}.\n\n"
        "[[calls]]Our calls:\n{{calls}}\n\n[[/calls]]"
        "[[notes]]Results and next steps:\n{{notes}}\n\n[[/notes]]"
        "[[upcoming]]Coming up:\n{{upcoming}}\n\n[[/upcoming]]"
        "Kind regards,\n{{lawyer}}\n"
    ),
    "ru": (
        "Здравствуйте, {{клиент}}!\n\n"
        "Сообщаю о ходе дела «{{дело}}» за период с {{период_с}} по {{период_по}}.\n\n"
        "[[консультации]]Состоявшиеся консультации:\n{{консультации}}\n\n[[/консультации]]"
        "[[итоги]]Промежуточные итоги и дальнейшие шаги:\n{{итоги}}\n\n[[/итоги]]"
        "[[предстоящие]]Предстоящие консультации:\n{{предстоящие}}\n\n[[/предстоящие]]"
        "С уважением,\n{{юрист}}\n"
    ),
}


@dataclass(frozen=True)
class HeldCall:
    when: str  # formatted in the client's language
    agenda: str
    notes: str | None  # the after-call notes when marked for the letter, else None


@dataclass(frozen=True)
class LetterFacts:
    client: str
    lawyer: str
    matter: str
    period_from: str
    period_to: str
    held: tuple[HeldCall, ...]
    upcoming: tuple[str, ...]  # formatted call times


def check_template(template: str) -> None:
    """``TemplateError`` naming the first unknown placeholder or unbalanced section."""
    if len(template) > TEMPLATE_MAX:
        raise TemplateError(f"the template is longer than {TEMPLATE_MAX} characters")
    for name in _PLACEHOLDER.findall(template) + _ANY_SECTION_TAG.findall(template):
        if _canonical(name) is None:
            raise TemplateError(f"unknown name {name!r}; known: {', '.join(FIELDS + tuple(RUSSIAN_NAMES))}")
    rest = _SECTION.sub("", template)
    if _ANY_SECTION_TAG.search(rest):
        raise TemplateError("a [[section]] is not closed with [[/section]]")


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else line for line in text.splitlines())


def values(facts: LetterFacts) -> dict[str, str]:
    calls = "\n".join(f"- {c.when}: {' '.join(c.agenda.split())}" for c in facts.held)
    notes = "\n".join(f"- {c.when}:\n{_indent(c.notes)}" for c in facts.held if c.notes)
    return {
        "client": facts.client,
        "lawyer": facts.lawyer,
        "matter": facts.matter,
        "period_from": facts.period_from,
        "period_to": facts.period_to,
        "calls": calls,
        "notes": notes,
        "upcoming": "\n".join(f"- {when}" for when in facts.upcoming),
    }


def render(template: str, fields: Mapping[str, str]) -> str:
    """The template with sections kept or dropped and placeholders filled.

    Values are inserted once, after sections are resolved: markup inside a value (a
    client's agenda that contains "{{lawyer}}") stays as typed.
    """
    check_template(template)

    def value(name: str) -> str:
        return fields.get(_canonical(name) or "", "")

    def section(match: re.Match) -> str:
        return match.group(2) if value(match.group(1)) else ""

    laid = _SECTION.sub(section, template)
    return _PLACEHOLDER.sub(lambda m: value(m.group(1)), laid)


def draft(template: str | None, language: str, facts: LetterFacts) -> str:
    """The draft letter: the lawyer's template (or the built-in one) with the facts."""
    chosen = template or DEFAULT_TEMPLATES.get(language, DEFAULT_TEMPLATES["en"])
    return render(chosen, values(facts)).strip() + "\n"


def clean_text(text: str, limit: int = LETTER_MAX) -> str:
    """A letter as the lawyer typed it: newlines normalised, no NULs, ``ValueError`` if
    empty or too long."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not cleaned:
        raise ValueError("the letter is empty")
    if len(cleaned) > limit:
        raise ValueError(f"the letter is longer than {limit} characters")
    return cleaned + "\n"
