"""``flask worker``, ``flask notify status-due`` and ``flask seed-demo``."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from service.cli import demo
from service.jobs import notify, worker

notify_cli = AppGroup("notify", help="Reminders by mail.")


@notify_cli.command("status-due")
def notify_status_due() -> None:
    """Mail each lawyer the digest of status updates due today."""
    sent, queued = notify.status_due()
    click.echo(f"Status-update digests: {sent} sent, {queued - sent} left to the worker, "
               f"for {queued} lawyers")


@click.command("worker")
@click.option("--once", is_flag=True, help="do what is due now and exit")
@click.option("--interval", default=5.0, show_default=True, help="seconds between polls")
def worker_command(once: bool, interval: float) -> None:
    """Calendar writes, mail and periodic calendar sync (a supervisor and its child)."""
    if once:
        counts = worker.run_once()
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
        return
    _log_to_stderr()
    worker.run_forever(interval)


def _log_to_stderr() -> None:
    """The worker's own messages (service.*) from INFO up on stderr, where the process
    manager collects them: which child runs, what was killed and why. Other libraries
    keep Python's default (warnings and errors only)."""
    ours = logging.getLogger("service")
    if not ours.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False


@click.command("seed-demo")
def seed_demo() -> None:
    """Create a demo lawyer and two demo clients when the database is empty."""
    demo.seed()
