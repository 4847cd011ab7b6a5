"""The client's pages: the booking page ``/b/<token>`` and the manage page ``/m/<token>``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from service import bookings, formtoken, invites, links, presentation
from service.errors import AppError
from service.models import token_hash, utcnow
from service.params import is_zone, parse_instant, zone_names

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain"}


def _client_zone(default: str) -> str:
    tz = request.values.get("tz", "")
    return tz if is_zone(tz) else default


def _render_booking(link: links.Link, token: str, *, status: int = 200, error: str | None = None, form=None):
    client = link.client
    g.lang = client.language
    now = utcnow()
    tz = _client_zone(client.lawyer.timezone)
    slots = bookings.availability.slots_for(client, now)
    return (
        render_template(
            "booking.html",
            client=client,
            lawyer=client.lawyer,
            callback=link.callback,
            terms=presentation.agreement_terms(client),
            days=presentation.group_by_day(slots, tz),
            tz=tz,
            tz_given="tz" in request.values and is_zone(request.values.get("tz")),
            zones=zone_names(),
            form_token=formtoken.issue("book", token_hash(token)),
            form=form or {"name": client.name, "email": client.email, "agenda": ""},
            error=error,
            action=url_for("public.book", token=token),
        ),
        status,
    )


@bp.get("/b/<token>")
def booking_page(token: str):
    return _render_booking(links.resolve(token, utcnow()), token)


@bp.post("/b/<token>")
def book(token: str):
    now = utcnow()
    link = links.resolve(token, now)
    form = {k: request.form.get(k, "") for k in ("name", "email", "agenda")}
    if not formtoken.valid(request.form.get("form_token"), "book", token_hash(token)):
        return _render_booking(link, token, status=400, form=form, error=presentation.EXPIRED_FORM())
    try:
        if not request.form.get("start"):
            raise AppError(422, "invalid_start", presentation.CHOOSE_SLOT())
        start = parse_instant(request.form.get("start"))
        contact = bookings.validate_contact(form["name"], form["email"], form["agenda"])
        booking, manage_token = bookings.book(link.client, start, contact, now, link.callback)
    except AppError as exc:
        return _render_booking(link, token, status=exc.status, form=form, error=presentation.translate_error(exc))
    tz = _client_zone(link.client.lawyer.timezone)
    return redirect(url_for("public.manage", token=manage_token, tz=tz, booked=1), 303)


def _booking_or_404(token: str):
    booking = bookings.find_by_manage_token(token) if isinstance(token, str) and len(token) <= 64 else None
    if booking is None:
        abort(404, "This link does not exist.")
    g.lang = booking.client.language
    return booking


def _render_manage(booking, token: str, *, status: int = 200, error: str | None = None, notice: str | None = None):
    now = utcnow()
    tz = _client_zone(booking.client.lawyer.timezone)
    changeable = booking.status == "confirmed" and now < bookings.change_deadline(booking)
    slots = (
        [
            slot
            for slot in bookings.availability.slots_for(booking.client, now, exclude_booking_id=booking.id)
            if slot.start != booking.start
        ]
        if changeable
        else []
    )
    return (
        render_template(
            "manage.html",
            booking=booking,
            client=booking.client,
            lawyer=booking.client.lawyer,
            tz=tz,
            zones=zone_names(),
            when=presentation.when(booking, tz),
            deadline=presentation.local(bookings.change_deadline(booking), tz),
            changeable=changeable,
            days=presentation.group_by_day(slots, tz),
            form_token=formtoken.issue("manage", token_hash(token)),
            token=token,
            just_booked=request.args.get("booked") == "1",
            error=error,
            notice=notice,
        ),
        status,
    )


@bp.get("/m/<token>")
def manage(token: str):
    return _render_manage(_booking_or_404(token), token)


@bp.post("/m/<token>/cancel")
def cancel(token: str):
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=presentation.EXPIRED_FORM())
    try:
        bookings.cancel(booking, utcnow())
    except AppError as exc:
        return _render_manage(booking, token, status=exc.status, error=presentation.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone)), 303)


@bp.post("/m/<token>/reschedule")
def reschedule(token: str):
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=presentation.EXPIRED_FORM())
    try:
        if not request.form.get("start"):
            raise AppError(422, "invalid_start", presentation.CHOOSE_SLOT())
        bookings.reschedule(booking, parse_instant(request.form.get("start")), utcnow())
    except AppError as exc:
        return _render_manage(booking, token, status=exc.status, error=presentation.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone), moved=1), 303)


@bp.get("/m/<token>/invite.ics")
def invite(token: str):
    booking = _booking_or_404(token)
    body = invites.booking_ics(booking, manage_url=links.public_url("public.manage", token=token))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="consultation-{booking.uid[:8]}.ics"'},
    )

