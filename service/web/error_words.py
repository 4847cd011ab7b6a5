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
    "invalid_phone": lazy_gettext(
        "Please give a phone number we can call you on (with the country code if you are abroad)."
    ),
    "invalid_channel": lazy_gettext("Please choose one of the offered ways to hold the call."),
    "invalid_file": lazy_gettext("Only PDF, Word (DOCX), Excel (XLSX), JPEG and PNG documents of up to 10 MB are accepted."),
    "file_too_large": lazy_gettext("A document may be at most 10 MB."),
    "too_many_files": lazy_gettext("At most 5 documents can be attached to a call."),
    "unknown_file": lazy_gettext("This document does not exist."),
    "prep_started": lazy_gettext("Preparation for the call has started; please write to your lawyer instead."),
    "confirm_closed": lazy_gettext("The time to confirm the agenda has passed; please write to your lawyer."),
    "not_needed": lazy_gettext("This call needs no confirmation."),
})

_ERRORS.update({
    "unknown_token": lazy_gettext("This booking link does not exist."),
    "unknown_client": lazy_gettext("This booking link is no longer active."),
    "not_found": lazy_gettext("This link does not exist."),
    "unknown_letter": lazy_gettext("This letter does not exist."),
    "invalid_reason": lazy_gettext("Please say what is urgent (at most 2,000 characters)."),
    "invalid_deadline": lazy_gettext("The deadline must be a date between today and 14 days ahead."),
    "urgent_pending": lazy_gettext("Your earlier urgent requests are still open; the lawyer will answer them."),
    "already_answered": lazy_gettext("This request has been answered already."),
    "csrf_failed": lazy_gettext("This form has expired or did not come from this site. Please reload the page and try again."),
})

_ERRORS.update({  # the holes of issue #12
    "client_inactive": lazy_gettext("Your booking link is paused; please write to your lawyer to change this call."),
    "intake_busy": lazy_gettext("Too many bookings are waiting for confirmation here; please try again later."),
    "hold_expired": lazy_gettext("This confirmation link has expired and the time was released; please book again."),
    "oauth_not_started_here": lazy_gettext(
        "This sign-in answer was not started in this browser; start again from the calendars page."),
    "oauth_state_used": lazy_gettext("This sign-in answer has already been used; start again from the calendars page."),
})

# Firms, people and privacy (service.usecases.firms, .privacy).
_ERRORS.update({
    "consent_required": lazy_gettext("Please agree to the privacy notice to book."),
    "unknown_invitation": lazy_gettext("This invitation does not exist, was used or has expired."),
    "invalid_person_name": lazy_gettext("The name must be one line of at most 200 visible characters, "
                                        "without direction-changing characters."),
    "unknown_person": lazy_gettext("Nobody with this id works in your firm."),
    "last_admin": lazy_gettext("The firm needs at least one active firm admin."),
    "not_yourself": lazy_gettext("You cannot deactivate yourself."),
    "invalid_language": lazy_gettext("The language must be English or Russian."),
    "unknown_link": lazy_gettext("This link does not exist, was used or has expired. Ask for a new one."),
    "email_taken": lazy_gettext("This e-mail address already signs in to Counsel Hours."),
    "already_joined": lazy_gettext("This lawyer already signs in."),
    "lawyer_required": lazy_gettext("Choose the lawyer the assistant will work for."),
    "unknown_lawyer": lazy_gettext("This lawyer is not in this firm."),
    "invalid_role": lazy_gettext("Choose a role: lawyer, assistant or firm admin."),
    "invalid_password": lazy_gettext("The password needs at least 10 characters."),
    "invalid_timezone": lazy_gettext("Choose your time zone."),
    "invalid_privacy_text": lazy_gettext("A privacy notice has at most 5,000 characters, and consent needs a notice."),
    "invalid_privacy_url": lazy_gettext("The privacy notice link must be an http(s) address."),
    "invalid_retention": lazy_gettext("Retention is a number of days between 30 and 36,500, or empty."),
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
