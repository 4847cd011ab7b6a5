"""The demand line on a client's booking page: "This week 7 of 9 agreed hours are booked;
the next free time is Thursday 10:00" (``booking.demand``), switchable off per lawyer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.numbers import format_decimal
from flask_babel import get_locale, gettext, ngettext

from booking.demand import Demand, week_demand
from booking.intervals import Interval
from booking.model import Slot
from booking.walltime import wall_interval, week_start
from service.storage.extensions import db
from service.storage.models import Client, Lawyer
from service.usecases import load, wording
from service.usecases.availability import calendar_busy, lawyer_bookings


def week_windows(lawyer: Lawyer, monday: date) -> list[Interval]:
    """Every active agreement's windows in the week (one-off windows too), days off excluded."""
    zone, days_off = lawyer.zone, lawyer.rules().days_off
    clients = db.session.scalars(
        sa.select(Client).where(Client.lawyer_id == lawyer.id, Client.status == "active")
    )
    found = []
    for client in clients:
        agreement = client.agreement()
        for offset in range(7):
            day = monday + timedelta(days=offset)
            if day in days_off:
                continue
            walls = [(w.start, w.end) for w in agreement.windows if w.weekday == day.weekday()]
            walls += [(x.start, x.end) for x in agreement.extra_windows if x.day == day]
            for start, end in walls:
                span = wall_interval(day, start, end, zone)
                if span is not None:
                    found.append(span)
    return found


def this_week(lawyer: Lawyer, now: datetime) -> Demand:
    monday = week_start(now.astimezone(lawyer.zone).date())
    low, high = load.week_bounds(lawyer, monday)
    span = Interval(low, high)
    taken = calendar_busy(lawyer.id, span) + [b.blocked for b in lawyer_bookings(lawyer.id, span)]
    return week_demand(week_windows(lawyer, monday), taken)


def _hours(minutes: int) -> str:
    return format_decimal(round(minutes / 60, 1), "#,##0.#", locale=get_locale())


def demand_line(client: Client, now: datetime, slots: list[Slot], tz: str) -> str | None:
    """The sentence for the booking page in the current locale; None when the lawyer hides
    it or no hours are agreed this week."""
    lawyer = client.lawyer
    if not lawyer.show_demand:
        return None
    demand = this_week(lawyer, now)
    if demand.agreed_minutes <= 0:
        return None
    line = ngettext(
        "This week %(taken)s of %(total)s agreed hour is booked.",
        "This week %(taken)s of %(total)s agreed hours are booked.",
        max(1, round(demand.agreed_minutes / 60)),
        taken=_hours(demand.taken_minutes), total=_hours(demand.agreed_minutes),
    )
    if slots:
        start = slots[0].start.astimezone(ZoneInfo(tz))
        when = "{} {}".format(wording.format_date(start.date(), "EEEE d MMMM"),
                              wording.format_time(start, "short", tzinfo=ZoneInfo(tz)))
        line += " " + gettext("The next free time is %(when)s.", when=when)
    return line
