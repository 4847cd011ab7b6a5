"""Which sites may frame the embeddable booking pages.

Every page sends ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (see
``service.web``), except the embed pages of a lawyer who allow-listed origins
(``lawyer allow-embed``): those send ``frame-ancestors <origins>`` and no
``X-Frame-Options``. A page that fails before it knows the lawyer stays unframeable.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, make_response

from service.storage.models import Lawyer


def origins(lawyer: Lawyer) -> list[str]:
    return sorted(o.origin for o in lawyer.embed_origins)


def show_in_frames_of(lawyer: Lawyer) -> None:
    """Mark the page being rendered as the lawyer's embed page."""
    g.frame_lawyer = lawyer


def framable(view: Callable) -> Callable:
    """Send the lawyer's allow-list as ``frame-ancestors`` if the view marked the page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.pop("frame_lawyer", None)
        try:
            response = make_response(view(*args, **kwargs))
            lawyer = g.get("frame_lawyer")
        finally:
            g.pop("frame_lawyer", None)
        allowed = origins(lawyer) if lawyer is not None else []
        if allowed:
            response.headers["Content-Security-Policy"] = content_security_policy(" ".join(allowed))
            response.headers.pop("X-Frame-Options", None)
        return response

    return wrapper


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The policy of every page; embed pages name the sites that may frame them."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'"
    )
