"""What a refusal or a failed request says to the user, in the page's language: each
reason's own wording, and a wording per HTTP status for library defaults."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from service.usecases.errors import Refused

_ERRORS = {
    "invalid_name": lazy_gettext("Please give your name (one line)."),
    "invalid_email": lazy_gettext("Please give a valid e-mail address."),
    "invalid_agenda": lazy_gettext(
        "Please describe what you want to discuss (at most 5,000 characters), so the call can be prepared."
    ),
    "invalid_start": lazy_gettext("Please choose a time."),
    "slot_busy": lazy_gettext("This time is no longer free. Please choose another."),
    "slot_past": lazy_gettext("This time has already passed. Please choose another."),
    "slot_too_soon": lazy_gettext("This time is too soon to be prepared. Please choose a later one."),
    "slot_beyond_horizon": lazy_gettext("This time is too far ahead. Please choose an earlier one."),
    "slot_day_off": lazy_gettext("No calls on this day. Please choose another."),
    "slot_outside_windows": lazy_gettext("This time is outside the agreed windows."),
    "slot_not_on_step": lazy_gettext("This time is outside the agreed windows."),
    "slot_client_week_limit": lazy_gettext("The agreed number of calls for that week is reached."),
    "slot_client_month_limit": lazy_gettext("The agreed number of calls for that month is reached."),
    "slot_lawyer_day_limit": lazy_gettext("This day is fully booked. Please choose another."),
    "slot_lawyer_week_limit": lazy_gettext("This week is fully booked. Please choose another."),
    "too_late": lazy_gettext("This call is too close to be changed online; please write to your lawyer."),
    "already_cancelled": lazy_gettext("This call has been cancelled."),
    "link_spent": lazy_gettext("This callback link has already been used or has expired."),
    "calendar_unavailable": lazy_gettext(
        "The lawyer's calendar cannot be checked right now; please try again shortly."
    ),
}


_ERRORS.update({
    "unknown_token": lazy_gettext("This booking link does not exist."),
    "unknown_client": lazy_gettext("This booking link is no longer active."),
    "not_found": lazy_gettext("This link does not exist."),
    "csrf_failed": lazy_gettext("This form has expired or did not come from this site. Please reload the page and try again."),
})

# Asking for a change inside the notice (#13).
_ERRORS.update({
    "invalid_message": lazy_gettext("Please write what you need changed (at most 1,000 characters)."),
    "change_asked": lazy_gettext("Your lawyer already has your request and will answer."),
    "change_not_needed": lazy_gettext("This call can be changed on this page, or is no longer ahead."),
    "already_booked": lazy_gettext("You already have a consultation booked for that period."),
})

_STATUS = {
    400: lazy_gettext("The request could not be understood. Please go back and try again."),
    403: lazy_gettext("You may not do this."),
    404: lazy_gettext("This page does not exist."),
    405: lazy_gettext("This action is not possible here."),
    409: lazy_gettext("This conflicts with a change made meanwhile. Please reload and try again."),
    410: lazy_gettext("This link is no longer valid."),
    413: lazy_gettext("The request is too large."),
    422: lazy_gettext("Some of the input is not valid."),
    429: lazy_gettext("Too many requests. Please wait a moment and try again."),
    500: lazy_gettext("Something went wrong on our side. Please try again later."),
    503: lazy_gettext("The service is busy right now. Please try again shortly."),
}


def page_error(status: int, code: str, message: str, generic: bool = False) -> str:
    """The message of an error page in the page's language.

    Known codes have their own wording; messages that are catalog entries are translated;
    library defaults (``generic``) get the wording for their status.
    """
    known = _ERRORS.get(code)
    if known is not None and not (code == "not_found" and generic):
        return str(known)
    if generic:
        return str(_STATUS.get(status, _STATUS[500 if status >= 500 else 400]))
    return gettext(message)


def translate_error(exc: Refused) -> str:
    message = _ERRORS.get(exc.code)
    return str(message) if message is not None else exc.message
