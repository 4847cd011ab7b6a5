"""Refusals of the use cases: a reason (a stable machine code) and a message for the user.

The use cases never choose an HTTP status: the web edge maps the reason to one
(``service.web.errors.status_of``), the CLI prints the message.
"""

from __future__ import annotations


class Refused(Exception):
    """A use case refused the request; ``reason`` says why, e.g. ``"slot_busy"``,
    ``"link_spent"``, ``"invalid_email"``, ``"unknown_token"``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message

    @property
    def code(self) -> str:
        """The reason, under the name the JSON error body uses."""
        return self.reason
