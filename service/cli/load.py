"""``flask lawyer load`` (the week's figures) and ``flask lawyer capacity`` (its settings)."""

from __future__ import annotations

import click

from service.cli import common
from service.cli.lawyers import lawyer_cli
from service.storage.extensions import db
from service.storage.models import utcnow
from service.usecases import load
from service.usecases.errors import Refused


def _hm(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


@lawyer_cli.command("load")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
def lawyer_load(lawyer_id: int) -> None:
    """The week's commitments: committed (calls + letters) vs capacity vs booked this week."""
    lawyer = common.lawyer(lawyer_id)
    f = load.figures(lawyer, utcnow())
    click.echo(f"Week of {f.monday.isoformat()} for lawyer {lawyer.id} ({lawyer.name})")
    click.echo(f"committed: {_hm(f.load.total)} a week "
               f"(calls with preparation {_hm(f.load.calls)}, letters {_hm(f.load.letters)} "
               f"at {f.letter_minutes} min each)")
    click.echo(f"capacity:  {_hm(f.capacity) if f.capacity is not None else 'not set'}"
               + (f" (over by {_hm(f.over)})" if f.over else ""))
    click.echo(f"booked:    {_hm(f.booked)} this week")
    if f.load.uncapped:
        click.echo(f"without a cadence (letters only counted): clients {', '.join(map(str, f.load.uncapped))}")


@lawyer_cli.command("capacity")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--minutes", type=int, help="weekly minutes for client communication (0: not set)")
@click.option("--letter-minutes", type=int, help="minutes a status letter takes (default 20)")
@click.option("--reserve", help='urgent time held back, e.g. "tue 17:00-17:30,thu 17:00-17:30" ("" : none)')
@click.option("--demand/--no-demand", default=None, help="show how booked the week is on booking pages")
def lawyer_capacity(lawyer_id: int, minutes: int | None, letter_minutes: int | None, reserve: str | None,
                    demand: bool | None) -> None:
    """Set the weekly capacity, minutes per letter, reserved urgent time, the demand line."""
    lawyer = common.lawyer(lawyer_id)
    try:
        load.apply_settings(lawyer, capacity=minutes or None, clear_capacity=minutes == 0,
                            letter_minutes=letter_minutes, reserve_windows=reserve, show_demand=demand)
    except Refused as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    capacity = f"{lawyer.capacity_min} min" if lawyer.capacity_min else "not set"
    click.echo(f"Lawyer {lawyer.id}: capacity {capacity}, {lawyer.letter_minutes} min per letter, "
               f"reserve {lawyer.reserve_windows or 'none'}, demand {'shown' if lawyer.show_demand else 'hidden'}")
