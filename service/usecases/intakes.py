"""Public intake agreements: a lawyer's offer to new visitors under ``/i/<slug>``."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from service.core import urls
from service.storage.extensions import db
from service.storage.models import Intake, Lawyer
from service.usecases.errors import Refused

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def valid_slug(slug: object) -> bool:
    return isinstance(slug, str) and SLUG_RE.fullmatch(slug) is not None


def find(slug: str) -> Intake | None:
    if not valid_slug(slug):
        return None
    lawyer = joinedload(Intake.lawyer)  # with what a page or a booking reads next
    query = sa.select(Intake).options(lawyer.joinedload(Lawyer.firm), lawyer.joinedload(Lawyer.days_off))
    return db.session.execute(query.where(Intake.slug == slug)).unique().scalar_one_or_none()


def resolve(slug: str) -> Intake:
    """The active intake published under ``slug``, or a 404 Refused."""
    intake = find(slug)
    if intake is None or not intake.takes_bookings:
        raise Refused("unknown_intake", "This booking page does not exist.")
    return intake


def public_url(slug: str) -> str:
    return urls.public_url("public.intake_page", slug=slug)
