"""What one client's erasure costs on PostgreSQL, and what a concurrent booking waits (#17).

Run from the repository root: ``python bench/bench_erase.py [--clients 1000,20000]
[--bookings 100000]``. Needs the PostgreSQL server of the tests (``TEST_POSTGRES_URL``,
default 127.0.0.1:5432, trust auth); each size gets a fresh database, dropped after.

For each size: 20 lawyers, N clients, B bookings (agendas and notes of realistic length,
encrypted as in production). Then, for one client each time, ``privacy.erase_client``
(timed: what the request or CLI waits; on PostgreSQL it only queues the compaction) and
then a compaction, while another connection reads a client (the booking page's first
query) and inserts a booking right after the compaction started: how long each waited,
and whether the erased e-mail address is still in the table files afterwards (read with
``pg_read_binary_file`` after a CHECKPOINT):

- ``erase_then_vacuum_full``: the worker's ``compaction.compact`` (VACUUM FULL per table);
- ``erase_then_plain_vacuum``: a plain VACUUM instead (no exclusive lock);
- ``erase_then_vacuum_full_small_tables``: VACUUM FULL of every table but ``booking``.

One JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from service import create_app  # noqa: E402
from service.storage.extensions import db  # noqa: E402
from service.storage.models import Booking, Client, Lawyer, OutboxTask, new_token, token_hash  # noqa: E402
from service.usecases import compaction, privacy  # noqa: E402
from tests.pg import fresh_database  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=UTC)
LAWYERS = 20
CHUNK = 5000
_inserted = [0]  # the concurrent bookings so far (each at its own time: no overlap)


def populate(clients: int, bookings: int) -> list[int]:
    lawyers = [Lawyer(name=f"Lawyer {i}", email=f"l{i}@bench.example", timezone="Europe/Berlin")
               for i in range(LAWYERS)]
    db.session.add_all(lawyers)
    db.session.flush()
    lawyer_ids = [lawyer.id for lawyer in lawyers]
    rows = [{"lawyer_id": lawyer_ids[i % LAWYERS], "name": f"Client {i} Petrov", "email": f"client{i}@bench.example",
             "matter": f"Matter {i}: dispute over the lease of the premises", "windows": "mon 10:00-12:00",
             "duration_min": 45, "token_hash": token_hash(new_token()), "token_enc": "x", "created_at": NOW}
            for i in range(clients)]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(Client), rows[start:start + CHUNK])
    client_ids = list(db.session.scalars(sa.select(Client.id).order_by(Client.id)))
    agenda = "Please go through clause 4 of the draft and the landlord's letter of 2 February. " * 4
    batch = []
    for i in range(bookings):
        client_index = i % clients
        lawyer_index = client_index % LAWYERS
        start = NOW - timedelta(hours=2 * (i // LAWYERS) + 1)  # one lawyer's calls 2 h apart
        batch.append({"uid": f"b{i}", "lawyer_id": lawyer_ids[lawyer_index], "client_id": client_ids[client_index],
                      "start": start, "end": start + timedelta(minutes=45), "blocked_start": start,
                      "blocked_end": start + timedelta(minutes=45), "status": "confirmed",
                      "name": f"Client {client_index} Petrov", "email": f"client{client_index}@bench.example",
                      "agenda": agenda, "notes": "Agreed to send the revised draft by Friday.",
                      "manage_token_hash": token_hash(new_token()), "manage_token_enc": "x", "created_at": NOW})
        if len(batch) == CHUNK:
            db.session.execute(sa.insert(Booking), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Booking), batch)
    db.session.commit()
    return client_ids


def table_sizes() -> dict:
    sizes = {}
    for table in ("client", "booking", "outbox_task", "consent"):
        sizes[table] = db.session.scalar(sa.text(f"SELECT pg_total_relation_size('{table}')"))
    db.session.commit()
    return sizes


def still_in_files(needle: str) -> bool:
    """Whether ``needle`` is in the files of ``client`` or ``booking`` (after a CHECKPOINT)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("CHECKPOINT")
        for table in ("client", "booking"):
            path = connection.exec_driver_sql(f"SELECT pg_relation_filepath('{table}')").scalar()
            segment, found = 0, False
            while True:
                name = path if segment == 0 else f"{path}.{segment}"
                exists = connection.exec_driver_sql(
                    "SELECT (pg_stat_file(%s, true)).size", (name,)).scalar()
                if exists is None:
                    break
                data = connection.exec_driver_sql("SELECT pg_read_binary_file(%s)", (name,)).scalar()
                if needle.encode() in bytes(data):
                    found = True
                segment += 1
            if found:
                return True
    return False


def waits_during(action, started: threading.Event) -> dict:
    """Run ``action``; from the moment it starts until it ends, another connection reads a
    client and inserts a booking every 0.1 s: the longest wait of each."""
    result: dict = {"read_wait_s": 0.0, "insert_wait_s": 0.0}
    engine = db.engine
    lawyer_id = db.session.scalar(sa.select(Lawyer.id).order_by(Lawyer.id))
    client_id = db.session.scalar(sa.select(Client.id).where(Client.lawyer_id == lawyer_id).order_by(Client.id.desc()))
    db.session.commit()
    done = threading.Event()

    def other() -> None:
        started.wait()
        while not done.is_set():
            t0 = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(sa.select(Client.id).where(Client.id == client_id)).all()
            result["read_wait_s"] = max(result["read_wait_s"], round(time.perf_counter() - t0, 4))
            _inserted[0] += 1
            start = NOW + timedelta(days=400, hours=_inserted[0])
            t0 = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(sa.insert(Booking.__table__).values(
                    uid=new_token()[:40], lawyer_id=lawyer_id, client_id=client_id, start=start,
                    end=start + timedelta(minutes=45), blocked_start=start,
                    blocked_end=start + timedelta(minutes=45), status="confirmed", name="x",
                    email="x@bench.example", agenda="", notes="", manage_token_hash=token_hash(new_token()),
                    manage_token_enc="x", sequence=0, created_at=NOW, for_letter=False, channel="video",
                    booked_by="client", outside_terms=False))
            result["insert_wait_s"] = max(result["insert_wait_s"], round(time.perf_counter() - t0, 4))
            time.sleep(0.1)

    thread = threading.Thread(target=other)
    thread.start()
    t0 = time.perf_counter()
    try:
        action()
    finally:
        result["action_s"] = round(time.perf_counter() - t0, 4)
        done.set()
        thread.join()
    return result


def vacuum(sql: str):
    def run() -> None:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(sql)
    return run


def measure(name: str, base: dict, client_id: int, index: int, action) -> None:
    """Erase client ``index`` (timed: the request's part), then run ``action`` (the
    compaction) while another connection books and reads; print one line."""
    t0 = time.perf_counter()
    privacy.erase_client(db.session.get(Client, client_id), NOW)
    erase_s = time.perf_counter() - t0
    tasks = list(db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == compaction.KIND)))
    xid = tasks[0].payload["xid"]
    db.session.execute(sa.delete(OutboxTask).where(OutboxTask.kind == compaction.KIND))
    db.session.commit()
    t0, retries = time.perf_counter(), 0
    while True:  # as the worker's retries would: until no transaction older than the erasure
        try:
            compaction.compact(xid, tables=())  # only the check: no older transaction open
            break
        except compaction.ErasureStillVisible:
            retries += 1
            time.sleep(0.5)
    waited_s = time.perf_counter() - t0
    started = threading.Event()

    def run() -> None:
        started.set()
        (action or compaction.compact)()

    figure = waits_during(run, started)
    print(json.dumps({"figure": name, **base, "erase_request_s": round(erase_s, 4), "compaction_tasks": len(tasks),
                      "older_transactions_waited_s": round(waited_s, 2), "compact_s": figure.pop("action_s"),
                      **figure,
                      "email_left_in_files": still_in_files(f"client{index}@bench.example")}), flush=True)


def one_size(clients: int, bookings: int) -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ["INSTANCE_PATH"] = str(folder / "instance")
    with fresh_database("ch_bench") as url:
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench",
                          "ENCRYPTION_KEY": Fernet.generate_key().decode()})
        with app.app_context():
            upgrade()
            t0 = time.perf_counter()
            client_ids = populate(clients, bookings)
            vacuum("VACUUM ANALYZE")()
            base = {"clients": clients, "bookings": bookings, "populate_s": round(time.perf_counter() - t0, 1),
                    "bytes": table_sizes()}
            # the worker's compaction: VACUUM FULL table by table (what the erasure queues)
            measure("erase_then_vacuum_full", base, client_ids[0], 0, None)
            # plain VACUUM for comparison: no exclusive lock, but is the address gone?
            measure("erase_then_plain_vacuum", base, client_ids[1], 1,
                    vacuum("VACUUM client, booking, outbox_task, consent"))
            # VACUUM FULL of the small tables only (the bookings keep the old versions)
            measure("erase_then_vacuum_full_small_tables", base, client_ids[2], 2,
                    vacuum("VACUUM (FULL) client, consent, outbox_task"))
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="1000,20000")
    parser.add_argument("--bookings", type=int, default=100_000)
    args = parser.parse_args()
    for clients in [int(n) for n in args.clients.split(",")]:
        one_size(clients, args.bookings)


if __name__ == "__main__":
    main()
