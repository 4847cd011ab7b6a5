"""The client's pages: the booking page ``/b/<token>``, the manage page ``/m/<token>``, the
public intake page ``/i/<slug>``, and their compact variants for the embeddable widget
under ``/embed/`` (framable by the lawyer's allow-listed sites, see ``service.web.framing``)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext

from service.core import urls
from service.core.zones import canonical, is_zone, zone_names
from service.storage.models import token_hash, utcnow
from service.usecases import (
    availability,
    bookings,
    change_requests,
    clients,
    intakes,
    invites,
    links,
    wording,
)
from service.usecases.errors import Refused
from service.web import error_words, formtoken, framing, limits
from service.web.errors import AppError, status_of
from service.web.params import parse_instant

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on pages without an icon link (e.g. a JSON answer)."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/embed.js")
def embed_script():
    """The widget loader for lawyers' websites (``templates/static/embed.js``)."""
    response = send_from_directory(current_app.static_folder, "embed.js", max_age=3600)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _client_zone(default: str) -> str:
    tz = request.values.get("tz", "")
    return canonical(tz) if is_zone(tz) else canonical(default)


def _page(template: str, lawyer, *, embed: bool, status: int = 200, **context):
    """Render a booking UI page, full-size or as the compact embed variant."""
    if embed:
        framing.show_in_frames_of(lawyer)
    return (
        render_template(
            template,
            base_template="embed.html" if embed else "layout.html",
            embed=embed,
            parent_origins=framing.origins(lawyer) if embed else [],
            lawyer=lawyer,
            **context,
        ),
        status,
    )


def _offered(subject, now, exclude_booking_id: int | None = None):
    """(slots, availability_unknown): nothing is offered while the calendar is unreadable."""
    try:
        return availability.slots_for(subject, now, exclude_booking_id=exclude_booking_id), False
    except availability.AvailabilityUnknown:
        return [], True


def _booking_form(subject, *, embed: bool, status: int, **context):
    """The booking form for a client link or an intake: agreed terms, free slots, fields."""
    now = utcnow()
    tz = _client_zone(subject.lawyer.timezone)
    slots, unknown = _offered(subject, now)
    return _page(
        "booking.html",
        subject.lawyer,
        embed=embed,
        status=status,
        availability_unknown=unknown,
        note=subject.note,
        days=wording.group_by_day(slots, tz),
        tz=tz,
        tz_given="tz" in request.values and is_zone(request.values.get("tz")),
        zones=zone_names(),
        **context,
    )


def _render_booking(
    link: links.Link, token: str, *, status: int = 200, error: str | None = None, form=None, embed: bool = False,
    error_link: str | None = None,
):
    client = link.client
    g.lang = client.language
    return _booking_form(
        client,
        embed=embed,
        status=status,
        callback=link.callback,
        terms=wording.agreement_terms(client),
        form_token=formtoken.issue("book", token_hash(token)),
        form=form or {"name": client.name, "email": client.email, "agenda": ""},
        error=error,
        error_link=error_link,
        action=url_for("public.embed_book" if embed else "public.book", token=token),
    )


def _resolve(token: str, now):
    """``links.resolve``; a replaced link answers 410 in its client's language, naming whom to ask."""
    try:
        return links.resolve(token, now)
    except links.LinkReplaced as exc:
        g.lang = exc.client.language
        lawyer = exc.client.lawyer
        abort(410, gettext("This link has been replaced by a new one. Please ask %(name)s (%(email)s) "
                           "for your current link.", name=lawyer.name, email=lawyer.email))


@bp.get("/b/<token>")
def booking_page(token: str):
    return _render_booking(_resolve(token, utcnow()), token)


@bp.post("/b/<token>")
def book(token: str):
    return _book(token, embed=False)


@bp.get("/embed/b/<token>")
@framing.framable
def embed_booking_page(token: str):
    return _render_booking(_resolve(token, utcnow()), token, embed=True)


@bp.post("/embed/b/<token>")
@framing.framable
def embed_book(token: str):
    return _book(token, embed=True)


def _book(token: str, *, embed: bool):
    now = utcnow()
    link = _resolve(token, now)
    form = {k: request.form.get(k, "") for k in ("name", "email", "agenda")}
    if not formtoken.valid(request.form.get("form_token"), "book", token_hash(token)):
        return _render_booking(link, token, status=400, form=form, error=wording.EXPIRED_FORM(), embed=embed)
    try:
        start, contact = _parse_booking_form(form)
        booking, manage_token = bookings.book(link.client, start, contact, now, link.callback)
    except Refused as exc:
        already = isinstance(exc, bookings.AlreadyBooked)
        error = error_words.translate_error(Refused("already_booked", exc.message) if already else exc)
        return _render_booking(link, token, status=status_of(exc), form=form, error=error, embed=embed,
                               error_link=exc.manage_url if already else None)
    return _booked(manage_token, link.client.lawyer.timezone, embed)


def _parse_booking_form(form: dict):
    if not request.form.get("start"):
        raise AppError(422, "invalid_start", wording.CHOOSE_SLOT())
    start = parse_instant(request.form.get("start"))
    return start, bookings.validate_contact(form["name"], form["email"], form["agenda"])


def _booked(manage_token: str, default_zone: str, embed: bool):
    endpoint = "public.embed_manage" if embed else "public.manage"
    return redirect(url_for(endpoint, token=manage_token, tz=_client_zone(default_zone), booked=1), 303)


def _render_intake(intake, *, status: int = 200, error: str | None = None, form=None, embed: bool = False):
    g.lang = intake.language
    return _booking_form(
        intake,
        embed=embed,
        status=status,
        intake=intake,
        terms=wording.agreement_terms(intake, caps=False),
        form_token=formtoken.issue("intake", intake.slug),
        form=form or {"name": "", "email": "", "agenda": ""},
        error=error,
        action=url_for("public.embed_intake_book" if embed else "public.intake_book", slug=intake.slug),
    )


@bp.get("/i/<slug>")
def intake_page(slug: str):
    return _render_intake(intakes.resolve(slug))


@bp.post("/i/<slug>")
def intake_book(slug: str):
    return _book_intake(slug, embed=False)


@bp.get("/embed/i/<slug>")
@framing.framable
def embed_intake_page(slug: str):
    return _render_intake(intakes.resolve(slug), embed=True)


@bp.post("/embed/i/<slug>")
@framing.framable
def embed_intake_book(slug: str):
    return _book_intake(slug, embed=True)


def _book_intake(slug: str, *, embed: bool):
    intake = intakes.resolve(slug)
    form = {k: request.form.get(k, "") for k in ("name", "email", "agenda")}
    if not formtoken.valid(request.form.get("form_token"), "intake", intake.slug):
        return _render_intake(intake, status=400, form=form, error=wording.EXPIRED_FORM(), embed=embed)
    try:
        start, contact = _parse_booking_form(form)
        booking, manage_token = bookings.book_intake(intake, start, contact, utcnow())
    except Refused as exc:
        error = error_words.translate_error(exc)
        return _render_intake(intake, status=status_of(exc), form=form, error=error, embed=embed)
    return _booked(manage_token, intake.lawyer.timezone, embed)


def _booking_or_404(token: str):
    booking = links.find_by_manage_token(token) if isinstance(token, str) and len(token) <= 64 else None
    if booking is None:
        abort(404, "This link does not exist.")
    g.lang = booking.client.language
    return booking


def _render_manage(
    booking, token: str, *, status: int = 200, error: str | None = None, notice: str | None = None, embed: bool = False,
    confirm_cancel: bool = False,
):
    now = utcnow()
    tz = _client_zone(booking.client.lawyer.timezone)
    changeable = bookings.change_refusal(booking, now) is None
    slots, unknown = _offered(booking.client, now, booking.id) if changeable else ([], False)
    slots = [slot for slot in slots if slot.start != booking.start]
    return _page(
        "manage.html",
        booking.client.lawyer,
        embed=embed,
        status=status,
        availability_unknown=unknown,
        booking=booking,
        client=booking.client,
        tz=tz,
        zones=zone_names(),
        when=wording.when(booking, tz),
        deadline=wording.local(bookings.change_deadline(booking), tz),
        changeable=changeable,
        may_ask=change_requests.may_ask(booking, now),
        moved=booking.status == "confirmed" and booking.moved_at is not None,
        book_again=clients.booking_url(booking.client) if booking.client.status == "active" else None,
        days=wording.group_by_day(slots, tz),
        form_token=formtoken.issue("manage", token_hash(token)),
        token=token,
        just_booked=request.args.get("booked") == "1",
        error=error,
        notice=notice,
        confirm_cancel=confirm_cancel,
    )


@bp.get("/m/<token>")
def manage(token: str):
    return _render_manage(_booking_or_404(token), token)


@bp.get("/embed/m/<token>")
@framing.framable
def embed_manage(token: str):
    """The confirmation inside the widget; changes happen on the full manage page."""
    return _render_manage(_booking_or_404(token), token, embed=True)


@bp.post("/m/<token>/cancel")
def cancel(token: str):
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=wording.EXPIRED_FORM())
    if request.form.get("confirm") != "yes" and bookings.change_refusal(booking, utcnow()) is None:
        return _render_manage(booking, token, confirm_cancel=True)  # asks first; nothing changes yet
    try:
        bookings.cancel(booking, utcnow())
    except Refused as exc:
        return _render_manage(booking, token, status=status_of(exc), error=error_words.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone)), 303)


@bp.post("/m/<token>/reschedule")
def reschedule(token: str):
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=wording.EXPIRED_FORM())
    try:
        if not request.form.get("start"):
            raise AppError(422, "invalid_start", wording.CHOOSE_SLOT())
        bookings.reschedule(booking, parse_instant(request.form.get("start")), utcnow())
    except Refused as exc:
        return _render_manage(booking, token, status=status_of(exc), error=error_words.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone), moved=1), 303)


@bp.post("/m/<token>/ask")
@limits.limited(limits.BOOKING_BY_IP)
def ask_for_change(token: str):
    """Inside the notice: a message to the lawyer instead of a change (mail + dashboard)."""
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=wording.EXPIRED_FORM())
    try:
        change_requests.ask(booking, request.form.get("message"), utcnow())
    except Refused as exc:
        return _render_manage(booking, token, status=status_of(exc), error=error_words.translate_error(exc))
    return _render_manage(booking, token, notice=gettext("Your message has reached %(name)s, who will answer you.",
                                                         name=booking.client.lawyer.name))


@bp.get("/m/<token>/invite.ics")
def invite(token: str):
    booking = _booking_or_404(token)
    body = invites.booking_ics(booking, manage_url=urls.public_url("public.manage", token=token))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="consultation-{booking.uid[:8]}.ics"'},
    )

