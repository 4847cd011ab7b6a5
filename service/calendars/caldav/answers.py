"""What every CalDAV request of a sync shares: object keys and reading a status."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from service.calendars.base import NotFound, ProviderError


def key_of(href: str) -> str:
    """The mirror key of an object: its unquoted path (servers vary in quoting)."""
    return unquote(urlsplit(str(href)).path)


def check(response: Any, doing: str, url: str) -> None:
    """A clear ProviderError (NotFound for 404) unless ``response`` succeeded."""
    host = urlsplit(url).hostname
    if response.status == 404:
        raise NotFound(
            f"the calendar {url} no longer exists on the CalDAV server {host} (HTTP 404)"
        )
    if response.status >= 300:
        raise ProviderError(
            f"the CalDAV server {host} answered HTTP {response.status} when asked to {doing}"
        )
