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

from booking.model import WEEKDAYS
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


class LoginForm(Unsigned):
    email = StringField(_l("E-mail"), validators=[InputRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1000)])


class WindowRow(Form):
    weekday = SelectField(_l("Day"), choices=[], validate_choice=False)
    start = StringField(_l("From"), render_kw={"type": "time"})
    end = StringField(_l("To"), render_kw={"type": "time"})
    remove = BooleanField(_l("Remove"))


def _int(label, minimum, maximum, required=True, **kw):
    validators = [InputRequired() if required else Optional(), NumberRange(min=minimum, max=maximum)]
    return IntegerField(label, validators=validators, render_kw={"min": minimum, "max": maximum}, **kw)


class ClientForm(Unsigned):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200), one_line])
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=320), Email(), one_line])
    matter = StringField(_l("Matter"), validators=[Optional(), Length(max=300), one_line])
    language = SelectField(_l("Language"), choices=_choices(*LANGUAGE_CHOICES))
    note = TextAreaField(_l("Note shown to the client"), validators=[Optional(), Length(max=2000)])
    windows = FieldList(FormField(WindowRow), min_entries=1, max_entries=40)
    duration_min = _int(_l("Call length (minutes)"), 5, 480)
    prep_min = _int(_l("Preparation before each call (minutes)"), 0, 480)
    buffer_min = _int(_l("Buffer after each call (minutes)"), 0, 240)
    notice_hours = _int(_l("Minimum notice (hours)"), 0, 24 * 30)
    notice_next_working_day = BooleanField(_l("Not before the next working day"))
    horizon_days = _int(_l("Bookable ahead (days)"), 1, 365)
    max_per_week = _int(_l("At most calls a week"), 1, 50, required=False)
    max_per_month = _int(_l("At most calls a month"), 1, 200, required=False)
    step_min = SelectField(
        _l("Start times every"),
        choices=_choices(("", _l("call length")), ("15", _l("15 minutes")), ("30", _l("30 minutes"))),
    )
    status_day = SelectField(_l("Written status update due on"), choices=[], validate_choice=False)

    def fill_choices(self) -> None:
        from flask_babel import gettext

        self.status_day.choices = weekday_choices(blank=gettext("no regular update"))
        for row in self.windows:
            row.form.weekday.choices = weekday_choices(blank="—")


class NotesForm(Unsigned):
    notes = TextAreaField(_l("Notes after the call"), validators=[Optional(), Length(max=20000)])


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


class PasswordForm(Unsigned):
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=10, max=1000)])
    repeat = PasswordField(_l("New password again"), validators=[InputRequired()])

    def validate_repeat(self, field) -> None:
        if field.data != self.new.data:
            raise ValidationError(_l("The two new passwords differ."))
