"""The CLI's agreement options are checked against booking.terms' one table of bounds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.storage.models import Client, Intake

CLIENT = ["client", "create", "--name", "Boris", "--email", "b@client.example",
          "--windows", "tue 16:00-18:00", "--duration", "45", "--prep", "30"]
INTAKE = ["intake", "create", "--slug", "first-call", "--title", "First call",
          "--windows", "wed 10:00-12:00", "--duration", "30", "--prep", "15"]


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def refused(runner, argv: list[str]) -> str:
    result = runner.invoke(args=argv)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--notice", "721"], "--notice must be between 0 and 720 hours, not 721"),
        (["--notice", "-5"], "--notice must be between 0 and 720 hours, not -5"),
        (["--prep", "481"], "--prep must be between 0 and 480 minutes, not 481"),
        (["--buffer-after", "241"], "--buffer-after must be between 0 and 240 minutes, not 241"),
        (["--max-per-week", "51"], "--max-per-week must be between 1 and 50 calls, not 51"),
        (["--max-per-month", "0"], "--max-per-month must be between 1 and 200 calls, not 0"),
        (["--horizon", "366"], "--horizon must be between 1 and 365 days, not 366"),
        (["--duration", "481"], "--duration must be between 5 and 480 minutes, not 481"),
        (["--horizon", "2", "--notice", "48"], "--notice of 48 hours must be shorter than the horizon"),
        (["--duration", "180"], "--duration 180 does not fit in any window (longest: 120 min)"),
    ],
)
@pytest.mark.parametrize("command", [CLIENT, INTAKE], ids=["client", "intake"])
def test_cli_refuses_values_beyond_the_bounds_table(runner, make_lawyer, db, command, args, message):
    lawyer = make_lawyer()
    output = refused(runner, [*command, "--lawyer", str(lawyer.id), *args])
    assert message in output
    assert count(db, Client) == count(db, Intake) == 0


def test_cli_refuses_notice_beyond_the_bound(runner, make_lawyer, db):
    """client create stored a notice of 10 000 hours that the admin form then refused to save."""
    lawyer = make_lawyer()
    output = refused(runner, [*CLIENT, "--lawyer", str(lawyer.id), "--notice", "10000",
                              "--horizon", "365"])
    assert "--notice must be between 0 and 720 hours, not 10000" in output
    assert count(db, Client) == 0


def test_cli_accepts_the_bounds_themselves(runner, make_lawyer, db):
    lawyer = make_lawyer()
    result = runner.invoke(args=[
        "client", "create", "--lawyer", str(lawyer.id), "--name", "Boris",
        "--email", "b@client.example", "--windows", "tue 08:00-16:00", "--duration", "480",
        "--prep", "480", "--buffer-after", "240", "--notice", "720", "--horizon", "365",
        "--max-per-week", "50", "--max-per-month", "200", "--step", "30", "--status-day", "sun",
    ])
    assert result.exit_code == 0, result.output
    stored = db.session.scalar(sa.select(Client))
    assert (stored.duration_min, stored.prep_min, stored.buffer_min, stored.notice_hours) == (480, 480, 240, 720)
    assert (stored.horizon_days, stored.max_per_week, stored.max_per_month) == (365, 50, 200)
    assert (stored.step_min, stored.status_day) == (30, 6)
