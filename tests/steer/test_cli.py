"""``flask booking create|move|cancel|mark|list``: uid as the last word, one-line errors
with exit 1 and nothing written, CSV read back with Python's csv module (Cyrillic)."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from service.storage.models import Booking

WED_14 = "2026-03-04T14:00+01:00"
TUE_09 = "2026-03-03T09:00"  # no offset: the lawyer's zone (Berlin); outside the windows


def invoke(runner, *args):
    return runner.invoke(args=["booking", *args])


def one_line_error(result, *words):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


def create(runner, client, start=WED_14, *extra):
    result = invoke(runner, "create", "--client", str(client.id), "--start", start, "--agenda", "Пункт 4", *extra)
    assert result.exit_code == 0, result.output
    return result.output.split()[-1]


def test_create_prints_the_uid_last(frozen, runner, make_client, db):
    client, _ = make_client()
    uid = create(runner, client)
    booking = db.session.scalar(sa.select(Booking))
    assert booking.uid == uid and booking.booked_by == "lawyer"


def test_create_outside_the_windows_needs_override(frozen, runner, make_client, db):
    client, _ = make_client()
    result = invoke(runner, "create", "--client", str(client.id), "--start", TUE_09, "--agenda", "x")
    one_line_error(result, "not inside an agreed window")
    uid = create(runner, client, TUE_09, "--override")
    assert db.session.scalar(sa.select(Booking.outside_terms).where(Booking.uid == uid))


def test_create_over_another_booking_is_refused_even_with_override(frozen, runner, make_client, db):
    client, _ = make_client()
    create(runner, client)
    result = invoke(runner, "create", "--client", str(client.id), "--start", WED_14, "--agenda", "x")
    one_line_error(result)
    result = invoke(runner, "create", "--client", str(client.id), "--start", WED_14, "--agenda", "x",
                    "--override", "--over-busy")
    one_line_error(result, "overlaps another call")
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1


@pytest.mark.parametrize("args, words", [
    (["--client", "999", "--start", WED_14, "--agenda", "x"], ["no client with id 999"]),
    (["--client", "1", "--start", "tomorrow", "--agenda", "x"], ["not an ISO time"]),
    (["--client", "1", "--start", WED_14, "--agenda", "  "], ["describe"]),
])
def test_create_bad_input(frozen, runner, make_client, db, args, words):
    make_client()
    one_line_error(invoke(runner, "create", *args), *words)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_move_and_cancel(frozen, runner, make_client, db):
    client, _ = make_client()
    uid = create(runner, client)
    result = invoke(runner, "move", "--uid", uid, "--start", TUE_09, "--override", "--reason", "суд")
    assert result.exit_code == 0, result.output
    booking = db.session.scalar(sa.select(Booking))
    db.session.refresh(booking)
    assert booking.sequence == 1 and booking.change_reason == "суд"
    result = invoke(runner, "cancel", "--uid", uid, "--reason", "Заседание суда")
    assert result.exit_code == 0 and result.output.split()[-1] == uid
    db.session.refresh(booking)
    assert booking.status == "cancelled" and booking.change_reason == "Заседание суда"


def test_move_onto_another_booking_without_override_is_refused(frozen, runner, make_client, db):
    client, _ = make_client()
    other, _ = make_client(lawyer=client.lawyer, name="Clara", email="clara@client.example")
    create(runner, other)
    uid = create(runner, client, "2026-03-04T15:00+01:00")
    one_line_error(invoke(runner, "move", "--uid", uid, "--start", WED_14))
    assert db.session.scalar(sa.select(Booking.sequence).where(Booking.uid == uid)) == 0


@pytest.mark.parametrize("command", [["move", "--start", WED_14], ["cancel", "--reason", "x"],
                                     ["mark", "--outcome", "held"]])
def test_unknown_uid(frozen, runner, app, command):
    one_line_error(invoke(runner, command[0], "--uid", "deadbeef", *command[1:]), "deadbeef")


@pytest.mark.parametrize("reason", ["court\r\nBcc: x@evil.example", "court\nhearing", ""])
def test_cancel_refuses_cr_lf_in_the_reason(frozen, runner, make_client, db, reason):
    client, _ = make_client()
    uid = create(runner, client)
    one_line_error(invoke(runner, "cancel", "--uid", uid, "--reason", reason))
    assert db.session.scalar(sa.select(Booking.status).where(Booking.uid == uid)) == "confirmed"


def test_mark_outcome_of_a_past_call(frozen, runner, make_client, db):
    client, _ = make_client()
    uid = create(runner, client)
    one_line_error(invoke(runner, "mark", "--uid", uid, "--outcome", "no_show"), "not started")
    frozen.move_to("2026-03-05T08:00:00Z")
    assert invoke(runner, "mark", "--uid", uid, "--outcome", "no_show").exit_code == 0
    assert db.session.scalar(sa.select(Booking.outcome)) == "no_show"


def test_list_csv_with_cyrillic_reads_back(frozen, runner, make_client, db):
    client, _ = make_client(name="Борис Петров", matter="Аренда, склад «Север»")
    lawyer_id = str(client.lawyer_id)
    create(runner, client)
    create(runner, client, "2026-03-11T14:00+01:00")
    result = invoke(runner, "list", "--lawyer", lawyer_id, "--from", "2026-03-01", "--to", "2026-03-10",
                    "--format", "csv", "--agenda")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 1
    (row,) = rows
    assert row["client"] == "Борис Петров" and row["matter"] == "Аренда, склад «Север»"
    assert row["start"] == "2026-03-04 14:00" and row["end"] == "2026-03-04 14:30"
    assert row["timezone"] == "Europe/Berlin" and row["duration_min"] == "30"
    assert row["status"] == "confirmed" and row["agenda"] == "Пункт 4"
    text = invoke(runner, "list").output.splitlines()
    assert len(text) == 2 and "Борис Петров" in text[0]


def test_list_bad_range(frozen, runner, make_client):
    client, _ = make_client()
    one_line_error(invoke(runner, "list", "--from", "2026-03-10", "--to", "2026-03-01"), "--to")
    assert invoke(runner, "list", "--lawyer", "99").exit_code == 1
