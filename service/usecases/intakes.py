"""Public intake agreements: a lawyer's offer to new visitors under ``/i/<slug>``."""

from __future__ import annotations

import re

import sqlalchemy as sa

from service.storage.extensions import db
from service.storage.models import Intake
from service.web.errors import AppError

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def valid_slug(slug: object) -> bool:
    return isinstance(slug, str) and SLUG_RE.fullmatch(slug) is not None


def find(slug: str) -> Intake | None:
    if not valid_slug(slug):
        return None
    return db.session.scalar(sa.select(Intake).where(Intake.slug == slug))


def resolve(slug: str) -> Intake:
    """The active intake published under ``slug``, or a 404 AppError."""
    intake = find(slug)
    if intake is None or not intake.active:
        raise AppError(404, "unknown_intake", "This booking page does not exist.")
    return intake


def public_url(slug: str) -> str:
    from service.usecases.links import public_url as _public_url

    return _public_url("public.intake_page", slug=slug)
