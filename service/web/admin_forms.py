"""The admin area's forms (WTForms via Flask-WTF; the CSRF token is checked for every
admin POST by the blueprint, so the forms themselves do not repeat it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from booking import terms
from booking.model import WEEKDAYS
from service.core.names import name_problem
from service.usecases.wording import weekday_name


def _choices(*pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


LANGUAGE_CHOICES = (("en", "English"), ("ru", "Русский"))


def weekday_choices(blank: str | None = None) -> list[SelectChoice]:
    choices = [(str(n), weekday_name(n)) for n in range(len(WEEKDAYS))]
    return _choices(*([("", blank)] if blank is not None else []), *choices)


class Unsigned(FlaskForm):
    class Meta:
        csrf = False  # checked once per request by the admin blueprint


def one_line(form, field) -> None:
    if field.data and any(ch in field.data for ch in "\r\n\x00"):
        raise ValidationError(_l("Please keep this to one line."))


def visible_name(form, field) -> None:
    """No bidi overrides, something visible (``service.core.names``)."""
    if field.data and name_problem(field.data) is not None:
        raise ValidationError(_l("Please type the name plainly: visible letters, no direction-changing characters."))


class LoginForm(Unsigned):
    email = StringField(_l("E-mail"), validators=[InputRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1000)])


class LinkRequestForm(Unsigned):
    """"Forgot password" and "send me a sign-in link": the address only."""

    email = StringField(_l("E-mail"), validators=[InputRequired(), Length(max=320)])


class NewPasswordForm(Unsigned):
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=10, max=1000)])
    repeat = PasswordField(_l("New password again"), validators=[InputRequired()])

    def validate_repeat(self, field) -> None:
        if field.data != self.new.data:
            raise ValidationError(_l("The two new passwords differ."))


class WindowRow(Form):
    weekday = SelectField(_l("Day"), choices=[], validate_choice=False)
    start = StringField(_l("From"), render_kw={"type": "time"})
    end = StringField(_l("To"), render_kw={"type": "time"})
    remove = BooleanField(_l("Remove"))


def _int(label, bound: terms.Bound, **kw):
    """A number field limited by ``bound`` (``booking.terms.BOUNDS``), optional if it is."""
    minimum, maximum = bound.minimum, bound.maximum
    validators = [Optional() if bound.optional else InputRequired(), NumberRange(min=minimum, max=maximum)]
    return IntegerField(label, validators=validators, render_kw={"min": minimum, "max": maximum}, **kw)


_STEP_LABELS = {15: _l("15 minutes"), 30: _l("30 minutes")}  # one per ``terms.STEP`` choice


class ClientForm(Unsigned):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200), one_line, visible_name])
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=320), Email(), one_line])
    matter = StringField(_l("Matter"), validators=[Optional(), Length(max=300), one_line])
    language = SelectField(_l("Language"), choices=_choices(*LANGUAGE_CHOICES))
    note = TextAreaField(_l("Note shown to the client"), validators=[Optional(), Length(max=2000)])
    windows = FieldList(FormField(WindowRow), min_entries=1, max_entries=40)
    duration_min = _int(_l("Call length (minutes)"), terms.DURATION)
    prep_min = _int(_l("Preparation before each call (minutes)"), terms.PREP)
    buffer_min = _int(_l("Buffer after each call (minutes)"), terms.BUFFER_AFTER)
    notice_hours = _int(_l("Minimum notice (hours)"), terms.NOTICE)
    notice_next_working_day = BooleanField(_l("Not before the next working day"))
    horizon_days = _int(_l("Bookable ahead (days)"), terms.HORIZON)
    max_per_week = _int(_l("At most calls a week"), terms.MAX_PER_WEEK)
    max_per_month = _int(_l("At most calls a month"), terms.MAX_PER_MONTH)
    step_min = SelectField(
        _l("Start times every"),
        choices=_choices(("", _l("call length")), *((str(m), _STEP_LABELS[m]) for m in terms.STEP.choices)),
    )
    # Choices come per request (translated day names); ``refuse`` checks the value.
    status_day = SelectField(_l("Written status update due on"), choices=[], validate_choice=False)
    channel_video = BooleanField(_l("Video call"))
    channel_phone = BooleanField(_l("Phone call"))
    channel_office = BooleanField(_l("At the office"))
    default_channel = SelectField(
        _l("Offered first"),
        choices=_choices(("video", _l("Video call")), ("phone", _l("Phone call")), ("office", _l("At the office"))),
        validate_choice=False,  # checked by validate_default_channel
    )
    agenda_confirm_hours = IntegerField(
        _l("Agenda confirmed by the client, hours before preparation"),
        validators=[Optional(), NumberRange(min=1, max=336)], render_kw={"min": 1, "max": 336},
    )

    def validate_default_channel(self, field) -> None:
        chosen = [c for c in ("video", "phone", "office") if self[f"channel_{c}"].data]
        if not chosen and not field.raw_data:
            return  # a form without the channel fields (older clients of the form): unchanged
        if not chosen:
            raise ValidationError(_l("Choose at least one way to hold the calls."))
        if field.data not in chosen:
            raise ValidationError(_l("The way offered first must be one of those chosen."))

    #: The form field that holds each field of ``booking.terms``.
    TERMS_FIELDS = {
        "windows": "windows", "duration": "duration_min", "prep": "prep_min",
        "buffer_after": "buffer_min", "notice": "notice_hours", "horizon_days": "horizon_days",
        "max_per_week": "max_per_week", "max_per_month": "max_per_month", "step": "step_min",
        "status_day": "status_day",
    }

    def refuse(self, exc: terms.AgreementError) -> str:
        """Mark the field ``exc`` names and return its message, translated."""
        field = self[self.TERMS_FIELDS[exc.field]]
        message = agreement_error_text(exc, str(field.label.text))
        if isinstance(field.errors, list):
            field.errors.append(message)
        return message

    def fill_choices(self) -> None:
        from flask_babel import gettext

        self.status_day.choices = weekday_choices(blank=gettext("no regular update"))
        for row in self.windows:
            row.form.weekday.choices = weekday_choices(blank="—")


def agreement_error_text(exc: terms.AgreementError, label: str) -> str:
    """``exc`` worded for the lawyer, in the request's language, with its numbers."""
    from flask_babel import gettext

    p = exc.params
    if exc.code == "range":
        return gettext("%(label)s: allowed from %(minimum)d to %(maximum)d, not %(value)d.",
                       label=label, minimum=p["minimum"], maximum=p["maximum"], value=p["value"])
    if exc.code == "does_not_fit":
        return gettext("A %(duration)d-minute call does not fit in any window (longest: %(longest)d minutes).",
                       duration=p["duration"], longest=p["longest"])
    if exc.code == "notice_not_before_horizon":
        return gettext("The minimum notice (%(notice)d hours) must be shorter than the booking horizon "
                       "(%(days)d days).", notice=p["notice"], days=p["horizon_days"])
    if exc.code == "windows":
        return gettext("Windows: %(problem)s", problem=p["problem"])
    return gettext("%(label)s: please choose one of the offered values.", label=label)


class NotesForm(Unsigned):
    notes = TextAreaField(_l("Notes after the call"), validators=[Optional(), Length(max=20000)])
    for_letter = BooleanField(_l("For the status letter"))


class CallbackForm(Unsigned):
    hours = SelectField(
        _l("Valid for"),
        choices=_choices(("4", _l("4 hours")), ("24", _l("24 hours")), ("48", _l("2 days")),
                         ("72", _l("3 days")), ("168", _l("a week"))),
        default="24",
    )


class CalDAVForm(Unsigned):
    url = StringField(_l("Server or calendar URL"), validators=[InputRequired(), Length(max=1000), one_line])
    username = StringField(_l("User name"), validators=[InputRequired(), Length(max=300), one_line])
    password = PasswordField(_l("Password or app password"), validators=[InputRequired(), Length(max=1000)])


class ICSForm(Unsigned):
    url = StringField(_l("Feed URL (https://… .ics)"), validators=[InputRequired(), Length(max=2000), one_line])


class SettingsForm(Unsigned):
    language = SelectField(_l("Language of your notices"), choices=_choices(*LANGUAGE_CHOICES))


class ProfileForm(Unsigned):
    office_address = TextAreaField(_l("Office address (for calls at the office)"),
                                   validators=[Optional(), Length(max=500)])
    no_show_flag_at = IntegerField(_l("Flag a client after this many no-shows (empty: never)"),
                                   validators=[Optional(), NumberRange(min=1, max=100)])


class PasswordForm(Unsigned):
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=10, max=1000)])
    repeat = PasswordField(_l("New password again"), validators=[InputRequired()])

    def validate_repeat(self, field) -> None:
        if field.data != self.new.data:
            raise ValidationError(_l("The two new passwords differ."))
