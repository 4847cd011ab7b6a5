"""The public JSON API ``/api/v1`` (documented in ``/api/v1/openapi.json``)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request

from booking.model import Slot
from service.core import urls
from service.storage.extensions import db
from service.storage.models import EmbedOrigin, Lawyer, utcnow
from service.usecases import availability, bookings, channels, links, privacy
from service.usecases.errors import Refused
from service.web import replay
from service.web.errors import AppError
from service.web.openapi import document
from service.web.params import parse_day, parse_instant, parse_zone

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_RANGE_DAYS = 366


def _resolve(token: object, *, lock: bool = False) -> links.Link:
    """The link behind ``token``; remembers its lawyer for the CORS headers. ``lock``: to
    book (``links.resolve``)."""
    link = links.resolve(token, utcnow(), lock=lock)
    g.api_lawyer = link.client.lawyer
    return link


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document(current_app.config["BASE_URL"]))


@bp.before_request
def forget_lawyer():
    g.pop("api_lawyer", None)


@bp.after_request
def cors(response):
    """CORS only for the origins the token's lawyer allow-listed for the widget.

    A preflight carries no body, so for ``POST /bookings`` it cannot name the lawyer: it is
    answered for origins some lawyer allow-listed (or the lawyer of a ``?token=`` in the
    URL); the booking's own response is readable only by the token's lawyer's origins.
    """
    origin = request.headers.get("Origin")
    if not origin or request.endpoint == "api.openapi_document":
        return response
    response.vary.add("Origin")
    if request.method == "OPTIONS":
        if request.headers.get("Access-Control-Request-Method") and _preflight_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
        return response
    lawyer = g.get("api_lawyer")
    if lawyer is not None and _allows(lawyer, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def _allows(lawyer: Lawyer, origin: str) -> bool:
    return any(o.origin == origin.lower() for o in lawyer.embed_origins)


def _preflight_allowed(origin: str) -> bool:
    token = request.args.get("token")
    if token:
        try:
            return _allows(links.resolve(token, utcnow()).client.lawyer, origin)
        except Refused:
            return False
    return db.session.scalar(sa.select(EmbedOrigin.id).where(EmbedOrigin.origin == origin.lower()).limit(1)) is not None


@bp.get("/slots")
def slots():
    now = utcnow()
    token = request.args.get("token", "")
    try:
        days = _day_range(now)
    except AppError:
        _resolve(token)  # an unknown token answers 404 first; CORS headers know the lawyer
        raise
    linked = availability.offer_for_link(token, now, days)  # a cache hit is one query, no ORM
    if request.headers.get("Origin"):
        g.api_lawyer = db.session.get(Lawyer, linked.lawyer_id)  # for the CORS headers
    offer = linked.offer
    if offer is None:  # a paused client
        return jsonify(slots=[])
    i, j = offer.span(now, *days.instants(offer.timezone))

    def body() -> bytes:
        # The JSON of each slot is rendered once per offer and display zone.
        items = offer.view(("api.slots", days.zone), lambda slots: _render(slots, days.zone))
        return ('{"slots":[' + ",".join(items[i:j]) + "]}\n").encode()

    # The body of a range is built once per offer: a hit sends the same bytes.
    replay.mark()
    return current_app.response_class(offer.answer(("api.slots", days.zone, i, j), body),
                                      mimetype="application/json")


def _day_range(now: datetime) -> availability.DayRange:
    """``from``, ``to`` and ``tz`` of the request: days read in ``tz``, else in the
    lawyer's zone; ``to`` is inclusive."""
    zone = parse_zone(request.args["tz"]) if "tz" in request.args else None
    first = parse_day(request.args.get("from"), "from") if "from" in request.args else None
    last = parse_day(request.args.get("to"), "to") if "to" in request.args else None
    if first and last and first > last:
        raise AppError(422, "invalid_range", "from must not be after to.")
    # Ranges are clamped to the horizon by the engine; keep far dates from overflowing.
    if last and last > (now + timedelta(days=MAX_RANGE_DAYS)).date():
        last = None
    if first and first < (now - timedelta(days=MAX_RANGE_DAYS)).date():
        first = None
    return availability.DayRange(first, last, zone)


def _render(slots: list[Slot], zone: ZoneInfo | None) -> list[str]:
    """``{"start": ISO, "end": ISO}`` of each slot as compact JSON, in ``zone`` or UTC."""
    return [
        json.dumps(
            {
                "start": (s.start.astimezone(zone) if zone else s.start).isoformat(),
                "end": (s.end.astimezone(zone) if zone else s.end).isoformat(),
            },
            separators=(",", ":"),
        )
        for s in slots
    ]


@bp.post("/bookings")
def create_booking():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AppError(422, "invalid_body", "The request body must be a JSON object.")
    now = utcnow()
    token = body.get("token")
    if not isinstance(token, str):
        raise AppError(422, "invalid_token", "token: the booking link's token is required.")
    link = _resolve(token, lock=True)
    start = parse_instant(body.get("start"))
    contact = bookings.validate_contact(body.get("name"), body.get("email"), body.get("agenda"))
    tz = body.get("tz")
    if tz is not None:
        parse_zone(tz)
    region = body.get("region")
    if region is not None and not isinstance(region, str):
        raise AppError(422, "invalid_region", "region: a two-letter country code, e.g. RU.")
    choice = channels.choose(link.client, body.get("channel"), body.get("phone"), tz=tz, region=region)
    contact = dataclasses.replace(contact, channel=choice)
    consent = privacy.consent_for_booking(link.client.lawyer, link.client.language, body.get("consent"))
    booking, manage_token = bookings.book(link.client, start, contact, now, link.callback, consent=consent)
    return (
        jsonify(
            uid=booking.uid,
            start=booking.start.isoformat(),
            end=booking.end.isoformat(),
            manage_url=urls.public_url("public.manage", token=manage_token),
            **channel_fields(booking),
        ),
        201,
    )


def channel_fields(booking) -> dict:
    """``channel``, ``location`` and (for video calls with a link) ``join_url``."""
    fields = {"channel": booking.channel, "location": channels.location(booking, channels.region_of(booking))}
    if booking.join_url:
        fields["join_url"] = booking.join_url
    if booking.phone:
        fields["phone"] = booking.phone
    return fields
