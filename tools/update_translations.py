"""Refresh the catalogs: extract every string, update ru/en, fill English, compile.

``python tools/update_translations.py`` (``make translations-update``). New strings land
in ``translations/ru/LC_MESSAGES/messages.po`` with an empty msgstr: translate them there,
then run ``make translations`` (or this script again) to compile. The English catalog is
the msgids themselves, so English wording can be adjusted without touching the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("en", "ru")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def fill_english(path: Path) -> None:
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, list | tuple):
            if not all(message.string):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True)


def main() -> int:
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), "-k", "lazy_gettext", "-k", "_l",
            "--no-location", "--sort-output", "--width=100", "--project=Counsel Hours",
            "-o", str(POT), str(ROOT))
    for lang in LANGUAGES:
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang, "--no-fuzzy-matching",
                    "--width=100", "--ignore-obsolete")
        else:
            pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang, "--width=100")
    fill_english(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
