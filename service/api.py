"""The public JSON API ``/api/v1`` (documented in ``/api/v1/openapi.json``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, jsonify, request

from service import bookings, links
from service.availability import slots_for
from service.errors import AppError
from service.models import utcnow
from service.params import parse_day, parse_instant, parse_zone

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_RANGE_DAYS = 366


@bp.get("/slots")
def slots():
    now = utcnow()
    link = links.resolve(request.args.get("token", ""), now)
    client = link.client
    lawyer_zone = client.lawyer.zone
    zone = parse_zone(request.args["tz"]) if "tz" in request.args else None
    first = parse_day(request.args.get("from"), "from") if "from" in request.args else None
    last = parse_day(request.args.get("to"), "to") if "to" in request.args else None
    if first and last and first > last:
        raise AppError(422, "invalid_range", "from must not be after to.")
    # Dates are read in the requested zone (else the lawyer's); ``to`` is inclusive.
    day_zone = zone or lawyer_zone
    # Ranges are clamped to the horizon by the engine; keep far dates from overflowing.
    if last and last > (now + timedelta(days=MAX_RANGE_DAYS)).date():
        last = None
    if first and first < (now - timedelta(days=MAX_RANGE_DAYS)).date():
        first = None
    start = datetime.combine(first, time(), day_zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), day_zone) if last else None
    out_zone = zone
    result = slots_for(client, now, start, end)
    return jsonify(
        slots=[
            {
                "start": (s.start.astimezone(out_zone) if out_zone else s.start).isoformat(),
                "end": (s.end.astimezone(out_zone) if out_zone else s.end).isoformat(),
            }
            for s in result
        ]
    )


@bp.post("/bookings")
def create_booking():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AppError(422, "invalid_body", "The request body must be a JSON object.")
    now = utcnow()
    token = body.get("token")
    if not isinstance(token, str):
        raise AppError(422, "invalid_token", "token: the booking link's token is required.")
    link = links.resolve(token, now)
    start = parse_instant(body.get("start"))
    contact = bookings.validate_contact(body.get("name"), body.get("email"), body.get("agenda"))
    booking, manage_token = bookings.book(link.client, start, contact, now, link.callback)
    return (
        jsonify(
            uid=booking.uid,
            start=booking.start.isoformat(),
            end=booking.end.isoformat(),
            manage_url=links.public_url("public.manage", token=manage_token),
        ),
        201,
    )
