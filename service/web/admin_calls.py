"""The admin area's pages for calls from the lawyer's side (part of the ``admin``
blueprint: ``service.web.admin`` registers them; this module's URLs are listed here):

- ``GET|POST /admin/clients/<id>/book`` book a call for the client: one of the client's
  offered slots (a button each, ``start=ISO``), or another time (``day``, ``time`` and the
  overrides; ``?start=`` prefills them)
- ``GET /admin/bookings/<id>``            the call: move, cancel, mark the outcome
- ``POST /admin/bookings/<id>/move``      move: to an offered slot or another time, as on booking
- ``POST /admin/bookings/<id>/cancel``    asks for confirmation first, then cancels
- ``POST /admin/bookings/<id>/outcome``   held / no_show / late_cancel / none
- ``GET /admin/calls.csv``                the calls as CSV (``?from=&to=&agenda=1``)

Views parse, authorise through ``auth.current_lawyer()`` and call ``usecases.steer``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from service.storage.extensions import db
from service.storage.models import Booking, Client, utcnow
from service.usecases import availability, export, steer, wording
from service.usecases.errors import Refused
from service.web import auth, params
from service.web.admin_routes import Routes
from service.web.errors import AppError

bp = Routes()
register = bp.register

#: What a refusal says to the lawyer (the engine's own text follows as the detail).
_WORDS = {
    "slot_past": lazy_gettext("This time has already passed."),
    "slot_too_soon": lazy_gettext("This is inside the agreed notice."),
    "slot_beyond_horizon": lazy_gettext("This is beyond the agreed booking horizon."),
    "slot_day_off": lazy_gettext("This is one of your days off."),
    "slot_outside_windows": lazy_gettext("This time is outside the agreed windows."),
    "slot_not_on_step": lazy_gettext("This time is not on the agreed start times."),
    "slot_client_week_limit": lazy_gettext("The agreed number of calls for that week is reached."),
    "slot_client_month_limit": lazy_gettext("The agreed number of calls for that month is reached."),
    "slot_lawyer_day_limit": lazy_gettext("Your daily limit of calls is reached."),
    "slot_lawyer_week_limit": lazy_gettext("Your weekly limit of calls is reached."),
    "slot_busy": lazy_gettext("This collides with busy time in your calendar."),
    "slot_other_booking": lazy_gettext(
        "This overlaps another call (with its preparation). Move or cancel that call first."
    ),
    "invalid_agenda": lazy_gettext("Please write what the call is about (at most 5,000 characters)."),
    "invalid_reason": lazy_gettext("Please give the reason in one line (at most 500 characters)."),
    "already_cancelled": lazy_gettext("This call has been cancelled."),
    "call_over": lazy_gettext("This call is over; mark how it went instead."),
    "call_ahead": lazy_gettext("This call has not taken place yet."),
    "calendar_unavailable": lazy_gettext(
        "Your calendar cannot be checked right now; try again shortly, or book over busy time."
    ),
    "unknown_client": lazy_gettext("This client is archived."),
}
#: Refusals the agreement override lifts, and the one the busy override lifts.
_TERMS = {"slot_too_soon", "slot_beyond_horizon", "slot_day_off", "slot_outside_windows", "slot_not_on_step",
          "slot_client_week_limit", "slot_client_month_limit", "slot_lawyer_day_limit", "slot_lawyer_week_limit"}

OUTCOME_WORDS = {
    "held": lazy_gettext("held"),
    "no_show": lazy_gettext("no-show"),
    "late_cancel": lazy_gettext("cancelled late"),
}


def refusal_words(exc: Refused) -> list[str]:
    """The refusal in the lawyer's language, then a hint about the override that lifts it."""
    words = [str(_WORDS.get(exc.reason, exc.message))]
    if exc.reason in _TERMS:
        words.append(gettext('Tick "outside the agreement" to book it anyway.'))
    elif exc.reason == "slot_busy":
        words.append(gettext('Tick "over busy time" if you want the call there anyway.'))
    return words


def _own_client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None or client.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return client


def _own_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return booking


def _when_fields(form) -> tuple[datetime | None, list[str]]:
    """The start from the ``day`` and ``time`` fields, in the lawyer's zone; or the errors."""
    zone = auth.current_lawyer().zone
    errors = []
    day = clock = None
    try:
        day = date.fromisoformat((form.get("day") or "").strip())
    except ValueError:
        errors.append(gettext("Please give the date, e.g. 2026-03-04."))
    try:
        clock = time.fromisoformat((form.get("time") or "").strip())
    except ValueError:
        errors.append(gettext("Please give the time, e.g. 14:00."))
    if errors or not params.in_range(day):
        return None, errors or [gettext("Please give the date, e.g. 2026-03-04.")]
    return datetime.combine(day, clock.replace(second=0, microsecond=0, tzinfo=None), zone), []


def _override(form) -> steer.Override:
    return steer.Override(terms=form.get("outside_terms") == "1", busy=form.get("over_busy") == "1")


def _chosen(form) -> tuple[datetime | None, steer.Override, list[str]]:
    """The start and overrides the form asks for: an offered slot's button (``start``, no
    override: the agreement allows it, and the use case checks it again), or the
    "another time" fields with their override boxes."""
    if form.get("start"):
        try:
            return params.parse_instant(form["start"]), steer.NO_OVERRIDE, []
        except AppError:
            return None, steer.NO_OVERRIDE, [gettext("Please choose one of the offered times.")]
    start, errors = _when_fields(form)
    return start, _override(form), errors


def offered_days(client: Client, now: datetime, booking: Booking | None = None) -> dict:
    """The slots the client's own link offers now (``availability.slots_for``, the client
    pages' use case and cache; for a move, as the client's manage page offers them), by
    day in the lawyer's zone."""
    try:
        slots = availability.slots_for(client, now, exclude_booking_id=booking.id if booking else None)
    except availability.AvailabilityUnknown:
        return {"slot_days": [], "slots_unknown": True}
    if booking is not None:
        slots = [slot for slot in slots if slot.start != booking.start]
    return {"slot_days": wording.group_by_day(slots, client.lawyer.timezone), "slots_unknown": False}


def _prefill(client: Client, start: datetime | None) -> dict:
    zone = client.lawyer.zone
    if start is None:
        start = (utcnow() + timedelta(days=1)).astimezone(zone).replace(minute=0, second=0, microsecond=0)
    local = start.astimezone(zone)
    return {"day": local.date().isoformat(), "time": local.strftime("%H:%M")}


@bp.route("/clients/<int:client_id>/book", methods=["GET", "POST"])
def book_for_client(client_id: int):
    client = _own_client(client_id)
    errors: list[str] = []
    if request.method == "POST":
        values = request.form
        start, override, errors = _chosen(values)
        agenda = values.get("agenda", "")
        if not agenda.strip():
            errors.append(str(_WORDS["invalid_agenda"]))
        if not errors:
            try:
                booking = steer.book_for_client(client, start, agenda, utcnow(), override)
            except Refused as exc:
                db.session.rollback()
                errors = refusal_words(exc)
            else:
                flash(gettext("Call booked for %(name)s on %(when)s; the invitation goes to %(email)s.",
                              name=client.name, when=wording.format_datetime(booking.start.astimezone(client.lawyer.zone)),
                              email=client.email), "ok")
                return redirect(url_for("admin.booking_page", booking_id=booking.id))
        values = {k: v for k, v in values.to_dict().items() if k != "start"}
        if "day" not in values:  # a slot's button: the other-time fields keep their prefill
            values.update(_prefill(client, None))
    else:
        start = None
        raw = request.args.get("start")
        if raw:
            try:
                start = datetime.fromisoformat(raw)
                start = start if start.tzinfo else start.replace(tzinfo=client.lawyer.zone)
            except ValueError:
                start = None
            if start is not None and not params.in_range(start.date()):
                start = None  # e.g. 9999-12-31: out of any calendar's reach, not a 500
        values = _prefill(client, start)
    status = 422 if errors else 200
    return render_template("admin/book.html", client=client, values=values, errors=errors,
                           **offered_days(client, utcnow())), status


def week_extras(lawyer, monday: date) -> dict:
    """For the week picture: the week's calls (to move or cancel) and the clients to book for."""
    zone = lawyer.zone
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    clients = db.session.scalars(
        sa.select(Client).where(Client.lawyer_id == lawyer.id, Client.status != "archived").order_by(Client.name)
    )
    return {"week_calls": steer.calls(lawyer.id, start, end), "book_clients": list(clients),
            "book_day": max(monday, utcnow().astimezone(zone).date()).isoformat()}


@bp.get("/book")
def book_from_week():
    """The week picture's "book a call" form: on to the client's booking form, prefilled."""
    client_id = params.parse_id(request.args.get("client", ""))
    if client_id is None:
        abort(400, gettext("Choose a client."))
    client = _own_client(client_id)
    day, clock = request.args.get("day", ""), request.args.get("time", "")
    return redirect(url_for("admin.book_for_client", client_id=client.id, start=f"{day}T{clock}" if day else None))


@bp.get("/bookings/<int:booking_id>")
def booking_page(booking_id: int, errors: list[str] | None = None, values: dict | None = None, status: int = 200):
    booking = _own_booking(booking_id)
    now = utcnow()
    is_open = booking.status == "confirmed" and booking.end > now
    values = values or {}
    if "day" not in values:
        values = {**values, **_prefill(booking.client, booking.start)}
    return render_template(
        "admin/booking.html",
        b=booking,
        now=now,
        open=is_open,
        past=booking.start <= now,
        values=values,
        errors=errors or [],
        outcome_words=OUTCOME_WORDS,
        **(offered_days(booking.client, now, booking) if is_open else {"slot_days": [], "slots_unknown": False}),
    ), status


@bp.post("/bookings/<int:booking_id>/move")
def move_booking(booking_id: int):
    booking = _own_booking(booking_id)
    start, override, errors = _chosen(request.form)
    if not errors:
        try:
            booking = steer.move(booking, start, utcnow(), override, request.form.get("reason", ""))
        except Refused as exc:
            db.session.rollback()
            errors = refusal_words(exc)
        else:
            flash(gettext("Call moved to %(when)s; the client gets the updated invitation.",
                          when=wording.format_datetime(booking.start.astimezone(booking.lawyer.zone))), "ok")
            return redirect(url_for("admin.booking_page", booking_id=booking.id))
    values = {k: v for k, v in request.form.to_dict().items() if k != "start"}
    return booking_page(booking_id, errors=errors, values=values, status=422)


@bp.post("/bookings/<int:booking_id>/cancel")
def cancel_booking(booking_id: int):
    booking = _own_booking(booking_id)
    reason = request.form.get("reason", "")
    try:
        reason = steer.checked_reason(reason, required=True)
    except Refused as exc:
        return booking_page(booking_id, errors=refusal_words(exc), values=request.form.to_dict(), status=422)
    if request.form.get("confirm") != "yes":
        return render_template("admin/confirm_cancel.html", b=booking, reason=reason)
    try:
        steer.cancel(booking, reason, utcnow())
    except Refused as exc:
        db.session.rollback()
        return booking_page(booking_id, errors=refusal_words(exc), status=409)
    flash(gettext("Call cancelled; %(name)s gets the cancellation with your reason. The time is free again.",
                  name=booking.client.name), "ok")
    return redirect(url_for("admin.booking_page", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/outcome")
def booking_outcome(booking_id: int):
    booking = _own_booking(booking_id)
    outcome = request.form.get("outcome", "")
    try:
        steer.mark_outcome(booking, None if outcome == "none" else outcome, utcnow())
    except Refused as exc:
        db.session.rollback()
        return booking_page(booking_id, errors=refusal_words(exc), status=422)
    flash(gettext("Saved."), "ok")
    back = request.form.get("back")
    if back == "client":
        return redirect(url_for("admin.client", client_id=booking.client_id))
    return redirect(url_for("admin.booking_page", booking_id=booking_id))


@bp.get("/calls.csv")
def calls_csv():
    lawyer = auth.current_lawyer()
    zone = lawyer.zone
    try:
        first = date.fromisoformat(request.args["from"]) if request.args.get("from") else None
        last = date.fromisoformat(request.args["to"]) if request.args.get("to") else None
    except ValueError:
        abort(400, gettext("The date must look like 2026-03-02."))
    if any(day is not None and not params.in_range(day) for day in (first, last)):
        abort(400, gettext("The date must look like 2026-03-02."))
    start = datetime.combine(first, time(), zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    body = export.to_csv(steer.calls(lawyer.id, start, end), agenda=request.args.get("agenda") == "1")
    name = f"calls-{first or 'all'}-{last or 'all'}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
