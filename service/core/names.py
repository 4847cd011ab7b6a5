"""One rule for every name a person types (client, visitor, lawyer, intake title): it
must show as what it is.

Refused: bidirectional overrides, embeddings and isolates (U+202A–202E, U+2066–2069 —
they make "Anna‮lleK" display reversed, spoofing names and mail headers) and names with
nothing visible in them — only spaces, zero-width characters, fillers or marks, i.e. no
letter, digit or symbol outside Unicode's default-ignorable code points.
"""

from __future__ import annotations

import unicodedata

#: Bidi classes of the explicit formatting characters (UAX #9): overrides, embeddings,
#: isolates and their terminators.
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})

#: Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) and a few
#: characters that render blank though they are letters or symbols (Hangul fillers,
#: the braille blank).
_INVISIBLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def _invisible(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _INVISIBLE)


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNSP" and not _invisible(ch)


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name (an English sentence), or None if it can."""
    if any(unicodedata.bidirectional(ch) in _BIDI_CONTROLS for ch in text):
        return "The name contains direction-changing characters; please type it plainly."
    if not any(_visible(ch) for ch in text):
        return "The name has no visible letters."
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "The name must be one line of plain text."
    return None
