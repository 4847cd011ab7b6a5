"""Address headers that no display name can change: ``To: <name> <address>`` exactly.

The standard library's folding of long display names full of specials (``<x@evil>``,
commas, quotes) can end a quoted string early and produce extra recipients. So a name
that is not plain words is written as RFC 2047 base64 encoded-words — every character
of it inside ``=?utf-8?b?...?=`` tokens, which no parser reads as an address — and the
header is folded here, only between those tokens.
"""

from __future__ import annotations

import base64
import re

_PLAIN = re.compile(r"[A-Za-z0-9' -]{1,60}")
_MAX_BYTES = 39  # 52 base64 characters: a 64-character word fits any header line
_LINE = 76


def _clean(text: str) -> str:
    """One line, no control characters, single spaces."""
    text = "".join(" " if (ch < " " or ch == "\x7f") else ch for ch in text)
    return " ".join(text.split())


def encoded_words(text: str) -> list[str]:
    """``text`` as base64 encoded-words, never splitting a character across two, and
    breaking after a space where one is near (the space stays inside the word: readers
    drop the whitespace between encoded-words)."""
    words, chunk = [], ""
    for ch in text:
        if chunk and len((chunk + ch).encode("utf-8", "replace")) > _MAX_BYTES:
            cut = chunk.rfind(" ") + 1
            if cut < len(chunk) // 2:
                cut = len(chunk)
            words.append(chunk[:cut])
            chunk = chunk[cut:]
        chunk += ch
    if chunk:
        words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode(w.encode("utf-8", "replace")).decode("ascii") + "?="
            for w in words]


class AddressHeader(str):
    """A header value ``email.message.EmailMessage`` keeps as it is and folds with ``fold``
    (the policy's parser never sees it)."""

    def __new__(cls, name: str, display_name: str, address: str) -> AddressHeader:
        address = _clean(address).replace(" ", "")
        if any(ch in address for ch in '<>,;"()\\[]') or address.count("@") != 1:
            raise ValueError("not a plain e-mail address")
        display = _clean(display_name)
        if not display:
            words: list[str] = []
        elif _PLAIN.fullmatch(display):
            words = display.split(" ")
        else:
            words = encoded_words(display)
        parts = [*words, f"<{address}>"] if words else [address]
        self = super().__new__(cls, " ".join(parts))
        self.name = name
        self.parts = tuple(parts)
        self.display_name = display
        self.address = address
        return self

    @property
    def defects(self) -> tuple:
        return ()

    def fold(self, *, policy) -> str:
        lines, line = [], f"{self.name}:"
        for part in self.parts:
            if len(line) + 1 + len(part) > _LINE and line != f"{self.name}:":
                lines.append(line)
                line = " " + part
            else:
                line += " " + part
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep
