"""The OpenAPI 3.1 document of the JSON API, served at ``/api/v1/openapi.json``.

Kept next to ``service/api.py`` and checked against it by schemathesis
(``tests/test_openapi.py``): every documented response must match what the API sends.
"""

from __future__ import annotations

from typing import Any

from service.core.zones import all_zone_names
from service.usecases.bookings import AGENDA_MAX, NAME_MAX

_ERROR_EXAMPLES = {
    "404": ("unknown_token", "This booking link does not exist."),
    "409": ("slot_busy", "This time has just been booked. Please choose another."),
    "410": ("link_spent", "This callback link has already been used or has expired."),
    "422": ("invalid_start", "start: 'tomorrow' is not an ISO 8601 date-time."),
    "429": ("too_many_requests", "Too many requests; please wait a moment."),
    "503": ("calendar_unavailable", "The lawyer's calendar cannot be checked right now; please try again shortly."),
}

_ERROR_TEXT = {
    "404": "Unknown (or archived) booking link token.",
    "409": (
        "The slot is not (or no longer) bookable. `code` says why: `slot_busy`, `slot_past`, "
        "`slot_too_soon`, `slot_beyond_horizon`, `slot_outside_windows`, `slot_not_on_step`, "
        "`slot_day_off`, `slot_client_week_limit`, `slot_client_month_limit`, "
        "`slot_lawyer_day_limit`, `slot_lawyer_week_limit`."
    ),
    "410": "A single-use callback link that was used or has expired.",
    "422": "Malformed input; `message` names the field and the problem.",
    "429": "Rate limit reached; retry after the number of seconds in `Retry-After`.",
    "503": "The lawyer's calendar could not be checked live; nothing was booked. Retry later.",
}

_LINK_PARAM_TEXT = (
    "The client's booking link token (the last part of `/b/<token>`), or a single-use "
    "callback link's token. It identifies the client and the agreement."
)


def _error_response(status: str) -> dict[str, Any]:
    code, message = _ERROR_EXAMPLES[status]
    return {
        "description": _ERROR_TEXT[status],
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": {"code": code, "message": message}},
            }
        },
    }


def document(base_url: str) -> dict[str, Any]:
    """The OpenAPI document for an app served at ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Counsel Hours API",
            "version": "1.0.0",
            "description": (
                "Free consultation slots of one client's agreement, and booking one. "
                "All instants are ISO 8601 with an offset. Errors are "
                '`{"error": {"code", "message"}}`. Browsers may call the API from the '
                "origins the lawyer allow-listed for the widget (CORS)."
            ),
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/slots": {
                "get": {
                    "operationId": "listSlots",
                    "summary": "Free slots of the client's agreement",
                    "description": (
                        "The calls the client may book now: inside the agreed windows, after "
                        "the minimum notice, within the horizon, allowed by the cadence, with "
                        "the call and its preparation time free in the lawyer's calendar. "
                        "Ranges beyond the horizon are clamped, not refused."
                    ),
                    "parameters": [
                        {
                            "name": "token",
                            "in": "query",
                            "required": True,
                            "description": _LINK_PARAM_TEXT,
                            "schema": {"type": "string", "minLength": 16, "maxLength": 64},
                        },
                        {
                            "name": "from",
                            "in": "query",
                            "description": "First day (inclusive), read in `tz` (else the lawyer's zone).",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "description": "Last day (inclusive), read in `tz` (else the lawyer's zone).",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "tz",
                            "in": "query",
                            "description": (
                                "IANA time zone, e.g. `Europe/Berlin`: the zone of `from`/`to` "
                                "and of the returned offsets (default: UTC offsets)."
                            ),
                            "schema": {"type": "string", "enum": all_zone_names(),
                                       "examples": ["Europe/Berlin"]},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The free slots, earliest first.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/SlotList"}}
                            },
                        },
                        **{s: {"$ref": f"#/components/responses/{s}"} for s in ("404", "410", "422", "429")},
                    },
                }
            },
            "/bookings": {
                "post": {
                    "operationId": "createBooking",
                    "summary": "Book a slot",
                    "description": (
                        "Books the call starting at `start` if it is bookable right now "
                        "(checked against fresh calendar data). The client and the lawyer get "
                        "an e-mail with an invitation; `manage_url` lets the client move or "
                        "cancel the call within the agreed notice."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/BookingRequest"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Booked.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}
                            },
                        },
                        **{
                            s: {"$ref": f"#/components/responses/{s}"}
                            for s in ("404", "409", "410", "422", "429", "503")
                        },
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Slot": {
                    "type": "object",
                    "required": ["start", "end"],
                    "properties": {
                        "start": {"type": "string", "format": "date-time", "description": "Start of the call."},
                        "end": {"type": "string", "format": "date-time", "description": "End of the call."},
                    },
                },
                "SlotList": {
                    "type": "object",
                    "required": ["slots"],
                    "properties": {"slots": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}}},
                },
                "BookingRequest": {
                    "type": "object",
                    "required": ["token", "start", "name", "email", "agenda"],
                    "properties": {
                        "token": {"type": "string", "minLength": 16, "maxLength": 64,
                                  "description": _LINK_PARAM_TEXT},
                        "start": {"type": "string", "format": "date-time",
                                  "description": "A slot's `start` from `GET /slots`."},
                        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX,
                                 "pattern": r"^[^\r\n\x00]*[^\s\x00][^\r\n\x00]*$",
                                 "description": "One line."},
                        "email": {"type": "string", "format": "email", "maxLength": 320},
                        "agenda": {"type": "string", "minLength": 1, "maxLength": AGENDA_MAX,
                                   "pattern": r"\S",
                                   "description": "What the client wants to discuss; the call is prepared from it."},
                        "consent": {"type": "boolean",
                                    "description": "The client agrees to the firm's privacy notice; required "
                                                   "(422 consent_required) when the firm asks for consent."},
                        "channel": {"type": "string", "enum": ["phone", "video", "office"],
                                    "description": "How the call takes place; one the agreement allows "
                                                   "(default: the agreement's first)."},
                        "phone": {"type": "string", "maxLength": 40,
                                  "description": "The number to call, for `channel: phone` (required then). "
                                                 "With `+` and the country code, or as dialled in `region`, "
                                                 "the country of `tz` or of the client's language."},
                        "tz": {"type": "string", "description": "The client's IANA time zone (reminders' times)."},
                        "region": {"type": "string", "maxLength": 2,
                                   "description": "ISO country to read a `phone` without `+` in, e.g. RU."},
                    },
                },
                "Booking": {
                    "type": "object",
                    "required": ["uid", "start", "end", "manage_url"],
                    "properties": {
                        "uid": {"type": "string", "description": "The booking's id (also the calendar event's UID)."},
                        "start": {"type": "string", "format": "date-time"},
                        "end": {"type": "string", "format": "date-time"},
                        "manage_url": {"type": "string", "format": "uri",
                                       "description": "The client's page to move or cancel the call."},
                        "channel": {"type": "string", "enum": ["phone", "video", "office"]},
                        "location": {"type": "string",
                                     "description": "Where the call takes place: the phone number, the video "
                                                    "link, or the lawyer's office address (empty for a Google "
                                                    "Meet link not made yet)."},
                        "join_url": {"type": "string", "format": "uri",
                                     "description": "The video call's link, when there is one."},
                        "phone": {"type": "string", "description": "The number to call, E.164."},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string", "description": "Machine-readable, e.g. `slot_busy`."},
                                "message": {"type": "string", "description": "Human-readable, in English."},
                            },
                        }
                    },
                },
            },
            "responses": {status: _error_response(status) for status in _ERROR_EXAMPLES},
        },
    }
