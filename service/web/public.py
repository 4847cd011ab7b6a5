"""The client's pages: the booking page ``/b/<token>``, the manage page ``/m/<token>``, the
public intake page ``/i/<slug>``, and their compact variants for the embeddable widget
under ``/embed/`` (framable by the lawyer's allow-listed sites, see ``service.web.framing``)."""

from __future__ import annotations

import dataclasses
from datetime import date

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
from werkzeug.exceptions import RequestEntityTooLarge

from service.core import urls
from service.core.zones import canonical, is_zone, zone_names
from service.storage.extensions import db
from service.storage.models import Client, token_hash, utcnow
from service.usecases import (
    availability,
    bookings,
    change_requests,
    channels,
    clients,
    demand,
    intake_holds,
    intakes,
    invites,
    letters,
    links,
    privacy,
    readiness,
    urgent,
    wording,
)
from service.usecases.errors import Refused
from service.web import error_words, formtoken, framing, hardening, limits, zonepick
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
    """The zone the client chose (``tz``, or the picker's search ``tz_q``), else ``default``."""
    return zonepick.chosen("tz") or canonical(default)


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


def _offered(subject, now, exclude_booking_id: int | None = None, reserve_access: bool = False):
    """(slots, availability_unknown): nothing is offered while the calendar is unreadable."""
    try:
        return availability.slots_for(subject, now, exclude_booking_id=exclude_booking_id,
                                      reserve_access=reserve_access), False
    except availability.AvailabilityUnknown:
        return [], True


def _booking_form(subject, *, embed: bool, status: int, **context):
    """The booking form for a client link or an intake: agreed terms, free slots, fields."""
    now = utcnow()
    tz = _client_zone(subject.lawyer.timezone)
    slots, unknown = _offered(subject, now, reserve_access=context.get("callback") is not None)
    if isinstance(subject, Client) and not unknown:
        context["demand"] = demand.demand_line(subject, now, slots, tz)
    return _page(
        "booking.html",
        subject.lawyer,
        embed=embed,
        status=status,
        availability_unknown=unknown,
        resting=not subject.takes_bookings,
        note=subject.note,
        days=wording.group_by_day(slots, tz),
        tz=tz,
        tz_given="tz" in request.values and is_zone(request.values.get("tz")),
        zones=zone_names(),
        privacy_notice=privacy.notice_for(subject.lawyer, subject.language),
        **context,
    )


def _render_booking(
    link: links.Link, token: str, *, status: int = 200, error: str | None = None, form=None, embed: bool = False,
    notice: str | None = None,
    error_link: str | None = None,
):
    client = link.client
    g.lang = client.language
    own_link = link.callback is None
    return _booking_form(
        client,
        embed=embed,
        status=status,
        callback=link.callback,
        next_letter=letters.next_letter_due(client, utcnow()) if own_link else None,
        letters_url=url_for("public.client_letters", token=token) if own_link and letters.letters_of(client) else None,
        urgent_url=url_for("public.urgent_request", token=token) if own_link and not embed else None,
        notice=notice,
        terms=wording.agreement_terms(client),
        form_token=formtoken.issue("book", token_hash(token)),
        form=form or {"name": client.name, "email": client.email, "agenda": "",
                      "channel": client.channel_list[0], "phone": channels.phone_display(client.phone)},
        channel_choices=_channel_choices(client),
        error=error,
        error_link=error_link,
        action=url_for("public.embed_book" if embed else "public.book", token=token),
    )


def _resolve(token: str, now, *, lock: bool = False):
    """``links.resolve`` (``lock``: to book); a replaced link answers 410 in its client's
    language, naming whom to ask."""
    try:
        return links.resolve(token, now, lock=lock)
    except links.LinkReplaced as exc:
        g.lang = exc.client.language
        lawyer = exc.client.lawyer
        abort(410, gettext("This link has been replaced by a new one. Please ask %(name)s (%(email)s) "
                           "for your current link.", name=lawyer.name, email=lawyer.email))


@bp.get("/b/<token>")
def booking_page(token: str):
    return _render_booking(_resolve(token, utcnow()), token)


def _own_link_client(token: str):
    """The client behind their own booking link (never a callback link): letters are theirs."""
    client = links.find_client(token)
    if client is None or client.status == "archived":
        raise Refused("unknown_token", "This booking link does not exist.")
    g.lang = client.language
    return client


@bp.get("/b/<token>/letters")
def client_letters(token: str):
    client = _own_link_client(token)
    return _page("letters.html", client.lawyer, embed=False, client=client, token=token,
                 letters=letters.letters_of(client), letter=None,
                 next_letter=letters.next_letter_due(client, utcnow()))


@bp.get("/b/<token>/letters/<int:letter_id>")
def client_letter(token: str, letter_id: int):
    client = _own_link_client(token)
    letter = letters.letter_of(client, letter_id)
    return _page("letters.html", client.lawyer, embed=False, client=client, token=token,
                 letters=letters.letters_of(client), letter=letter, next_letter=None)


@bp.post("/b/<token>/urgent")
def urgent_request(token: str):
    """A client asks for an urgent call before a deadline (own link only)."""
    client = _own_link_client(token)
    link = links.Link(client)
    if not formtoken.valid(request.form.get("form_token"), "book", token_hash(token)):
        return _render_booking(link, token, status=400, error=wording.EXPIRED_FORM())
    try:
        try:
            deadline = date.fromisoformat(request.form.get("deadline", ""))
        except ValueError:
            raise AppError(422, "invalid_deadline", gettext("Please give the deadline as a date.")) from None
        urgent.ask(client, deadline, request.form.get("reason", ""), utcnow())
    except Refused as exc:
        db.session.rollback()
        return _render_booking(link, token, status=status_of(exc), error=error_words.translate_error(exc))
    db.session.commit()
    return _render_booking(link, token, notice=gettext(
        "Your request is with the lawyer. If accepted, you get a link to book reserved urgent time."))


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
    link = _resolve(token, now, lock=True)
    form = {k: request.form.get(k, "") for k in FORM_FIELDS}
    if not formtoken.valid(request.form.get("form_token"), "book", token_hash(token)):
        return _render_booking(link, token, status=400, form=form, error=wording.EXPIRED_FORM(), embed=embed)
    try:
        start, contact = _parse_booking_form(form, link.client)
        consent = privacy.consent_for_booking(link.client.lawyer, link.client.language, form["consent"])
        booking, manage_token = bookings.book(link.client, start, contact, now, link.callback, consent=consent)
    except Refused as exc:
        already = isinstance(exc, bookings.AlreadyBooked)
        error = error_words.translate_error(Refused("already_booked", exc.message) if already else exc)
        return _render_booking(link, token, status=status_of(exc), form=form, error=error, embed=embed,
                               error_link=exc.manage_url if already else None)
    return _booked(manage_token, link.client.lawyer.timezone, embed)


FORM_FIELDS = ("name", "email", "agenda", "channel", "phone", "consent")


def _channel_choices(subject) -> list[tuple[str, str]]:
    return [(c, channels.name(c)) for c in subject.channel_list]


def _choice(subject, form: dict) -> channels.Choice:
    """The channel picked in a form (or the only one allowed), with the phone number."""
    tz = _client_zone(subject.lawyer.timezone)
    return channels.choose(subject, form.get("channel") or None, form.get("phone", ""), tz=tz,
                           region=request.form.get("region") or None)


def _parse_booking_form(form: dict, subject):
    if not request.form.get("start"):
        raise AppError(422, "invalid_start", wording.CHOOSE_SLOT())
    start = parse_instant(request.form.get("start"))
    contact = bookings.validate_contact(form["name"], form["email"], form["agenda"])
    return start, dataclasses.replace(contact, channel=_choice(subject, form))


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
        form=form or {"name": "", "email": "", "agenda": "", "channel": intake.channel_list[0], "phone": ""},
        channel_choices=_channel_choices(intake),
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
    form = {k: request.form.get(k, "") for k in FORM_FIELDS}
    if not formtoken.valid(request.form.get("form_token"), "intake", intake.slug):
        return _render_intake(intake, status=400, form=form, error=wording.EXPIRED_FORM(), embed=embed)
    try:
        start, contact = _parse_booking_form(form, intake)
        consent = privacy.consent_for_booking(intake.lawyer, intake.language, form["consent"])
        booking, manage_token = bookings.book_intake(intake, start, contact, utcnow(), consent=consent)
    except Refused as exc:
        error = error_words.translate_error(exc)
        return _render_intake(intake, status=status_of(exc), form=form, error=error, embed=embed)
    return _booked(manage_token, intake.lawyer.timezone, embed)


@bp.get("/i/confirm/<token>")
def intake_confirm(token: str):
    """The link in the confirmation mail: a page with one button (a mail scanner that
    follows links confirms nothing)."""
    return _confirm_page(_pending_or_404(token), token)


def _confirm_page(booking, token: str, status: int = 200, error: str | None = None):
    tz = booking.client.lawyer.timezone
    page = render_template("intake_confirm.html", booking=booking, lawyer=booking.client.lawyer,
                           when=wording.when(booking, tz), tz=tz, token=token, error=error,
                           form_token=formtoken.issue("confirm", token_hash(token)))
    return page, status


@bp.post("/i/confirm/<token>")
def intake_confirm_post(token: str):
    booking = _pending_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "confirm", token_hash(token)):
        return _confirm_page(booking, token, 400, wording.EXPIRED_FORM())
    try:
        booking = bookings.confirm_intake(booking, utcnow())
    except Refused as exc:
        return _confirm_page(booking, token, status_of(exc), error_words.translate_error(exc))
    return redirect(urls.manage_url(booking) + "?confirmed=1", 303)


def _pending_or_404(token: str):
    booking = intake_holds.find_by_confirm_token(token)
    if booking is None:
        abort(404, "This link does not exist or has already been used.")
    g.lang = booking.client.language
    return booking


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
        hold_until=wording.local(booking.hold_until, tz) if booking.hold_until else None,
        changeable=changeable,
        may_ask=change_requests.may_ask(booking, now),
        moved=booking.status == "confirmed" and booking.moved_at is not None,
        book_again=clients.booking_url(booking.client) if booking.client.takes_bookings else None,
        days=wording.group_by_day(slots, tz),
        form_token=formtoken.issue("manage", token_hash(token)),
        token=token,
        just_booked=request.args.get("booked") == "1",
        just_confirmed=request.args.get("confirmed") == "1",
        error=error,
        notice=notice,
        how=channels.details(booking, region=channels.region_of(booking)),
        location=channels.location(booking, channels.region_of(booking)),
        channel_choices=_channel_choices(booking.client),
        phone_shown=channels.phone_display(booking.phone or booking.client.phone, channels.region_of(booking)),
        ready_open=booking.status == "confirmed" and not readiness.prep_started(booking, now),
        prep_from=wording.local(booking.blocked_start, tz),
        files=readiness.files_of(booking),
        max_files=readiness.MAX_FILES,
        confirmation=readiness.confirmation_state(booking, now),
        confirm_until=(lambda c: wording.local(c.deadline, tz) if c else None)(readiness.confirmation_state(booking, now)),
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


@bp.post("/m/<token>/channel")
def change_channel(token: str):
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=wording.EXPIRED_FORM())
    try:
        choice = _choice(booking.client, {k: request.form.get(k, "") for k in ("channel", "phone")})
        bookings.change_channel(booking, choice, utcnow())
    except Refused as exc:
        return _render_manage(booking, token, status=status_of(exc), error=error_words.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone)), 303)


def _manage_action(token: str, action):
    """A POST of the manage page: form token checked, ``action(booking)`` run, back to the page."""
    booking = _booking_or_404(token)
    if not formtoken.valid(request.form.get("form_token"), "manage", token_hash(token)):
        return _render_manage(booking, token, status=400, error=wording.EXPIRED_FORM())
    try:
        action(booking)
    except Refused as exc:
        return _render_manage(booking, token, status=status_of(exc), error=error_words.translate_error(exc))
    return redirect(url_for("public.manage", token=token, tz=_client_zone(booking.client.lawyer.timezone)), 303)


@bp.post("/m/<token>/agenda")
def update_agenda(token: str):
    return _manage_action(token, lambda b: readiness.update_agenda(b, request.form.get("agenda"), utcnow()))


@bp.post("/m/<token>/confirm")
def confirm_agenda(token: str):
    return _manage_action(token, lambda b: readiness.confirm_agenda(b, utcnow()))


#: The whole upload request: one document plus the form's few fields.
UPLOAD_REQUEST_MAX = readiness.MAX_BYTES + 64 * 1024
hardening.BODY_LIMITS["public.upload_file"] = UPLOAD_REQUEST_MAX


@bp.post("/m/<token>/files")
def upload_file(token: str):
    request.max_content_length = UPLOAD_REQUEST_MAX  # refused before the body is read
    try:
        request.form  # noqa: B018 - parses the body now, within the cap
    except RequestEntityTooLarge:
        booking = _booking_or_404(token)
        return _render_manage(booking, token, status=413, error=error_words.translate_error(
            Refused("file_too_large", "A document may be at most 10 MB.")))

    def add(booking):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Refused("invalid_file", "Please choose a document.")
        data = upload.stream.read(readiness.MAX_BYTES + 1)
        if len(data) > readiness.MAX_BYTES:
            raise Refused("file_too_large", "A document may be at most 10 MB.")
        readiness.add_file(booking, upload.filename, data, utcnow())

    return _manage_action(token, add)


@bp.post("/m/<token>/files/<int:file_id>/remove")
def remove_file(token: str, file_id: int):
    return _manage_action(token, lambda b: readiness.remove_file(b, file_id, utcnow()))


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

