"""Phone numbers with ``phonenumbers``: read as typed in a country, stored as E.164,
shown national-style to those in the number's country, international to others."""

from __future__ import annotations

import functools
import zoneinfo
from pathlib import Path

import phonenumbers

PHONE_MAX = 40  # characters as typed

#: The country a client's language most likely means, for numbers typed without "+".
_LANGUAGE_REGION = {"ru": "RU"}


class PhoneError(ValueError):
    """``code``: "missing", "needs_country" or "invalid"."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone name → ISO country, from the system's ``zone.tab`` (empty if there is none)."""
    found: dict[str, str] = {}
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) >= 3:
                found.setdefault(parts[2], parts[0])
        break
    return found


def regions(explicit: str | None = None, tz: str | None = None, language: str | None = None) -> list[str]:
    """Countries to read a number without "+" in, most likely first: the one given, the
    one of the client's zone, the one of the client's language."""
    found: list[str] = []
    candidates = (
        (explicit or "").strip().upper() or None,
        _zone_countries().get(tz or ""),
        _LANGUAGE_REGION.get((language or "").lower()),
    )
    for region in candidates:
        if region and region in phonenumbers.SUPPORTED_REGIONS and region not in found:
            found.append(region)
    return found


def normalise(raw: object, candidates: list[str]) -> str:
    """The number in E.164 (``+79123456789``); ``PhoneError`` if it is not a number."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("missing")
    text = raw.strip()
    if len(text) > PHONE_MAX or any(ch in text for ch in "\r\n\x00"):
        raise PhoneError("invalid")
    tries = [*candidates, None] if text.startswith("+") else candidates
    for region in tries:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise PhoneError("invalid" if text.startswith("+") or candidates else "needs_country")


def display(e164: str | None, region: str | None = None) -> str:
    """National style for someone in the number's country (``8 (912) 345-67-89``),
    international otherwise (``+7 912 345-67-89``)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    same = region is not None and phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)
