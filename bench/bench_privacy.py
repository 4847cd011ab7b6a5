"""What privacy costs: reading N bookings with encrypted agendas and notes vs the same rows
read raw (no decryption), and one client's erasure with the SQLite compaction, on a
database of N bookings.

Run from the repository root: ``python bench/bench_privacy.py [--bookings N] [--repeat R]``.
Prints one JSON line per figure (best of R runs), with the ratio of decrypted to raw reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from service import create_app  # noqa: E402
from service.storage.extensions import db  # noqa: E402
from service.storage.models import Booking, Client, Lawyer, new_token, token_hash  # noqa: E402
from service.usecases import compaction, privacy  # noqa: E402
from service.usecases.clients import create_client  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def best(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    os.environ["INSTANCE_PATH"] = str(folder / "instance")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                      "SECRET_KEY": "bench", "ENCRYPTION_KEY": Fernet.generate_key().decode()})
    with app.app_context():
        upgrade()
        lawyer = Lawyer(name="Bench", email="bench@x.example", timezone="UTC")
        db.session.add(lawyer)
        db.session.flush()
        clients = [create_client(lawyer, name=f"C{i}", email=f"c{i}@x.example", windows="mon 10:00-12:00",
                                 duration_min=30, record=False)[0] for i in range(50)]
        db.session.flush()
        for i in range(args.bookings):
            start = NOW - timedelta(hours=i)
            db.session.add(Booking(uid=f"b{i}", lawyer_id=lawyer.id, client_id=clients[i % 50].id, start=start,
                                   end=start + timedelta(minutes=30), blocked_start=start,
                                   blocked_end=start + timedelta(minutes=30), status="cancelled",
                                   name="N", email="n@x.example", agenda="Agenda " * 40, notes="Notes " * 20,
                                   manage_token_hash=token_hash(new_token()), manage_token_enc="x"))
        db.session.commit()

        def decrypted():
            db.session.execute(sa.select(Booking.agenda, Booking.notes)).all()

        def raw():
            db.session.execute(sa.select(sa.type_coerce(Booking.agenda, sa.Text),
                                         sa.type_coerce(Booking.notes, sa.Text))).all()

        dec, plain = best(args.repeat, decrypted), best(args.repeat, raw)
        print(json.dumps({"figure": "read_agenda_notes", "bookings": args.bookings, "decrypted_s": round(dec, 4),
                          "raw_s": round(plain, 4), "ratio": round(dec / plain, 2)}))
        target = db.session.scalar(sa.select(Client.id).order_by(Client.id))
        started = time.perf_counter()
        erased = privacy.erase_client(db.session.get(Client, target), NOW)
        total = time.perf_counter() - started
        started = time.perf_counter()
        compaction.compact()
        compact = time.perf_counter() - started
        print(json.dumps({"figure": "erase_one_client_sqlite", "bookings": args.bookings, "calls": erased.calls,
                          "erase_with_compact_s": round(total, 4), "compact_alone_s": round(compact, 4),
                          "ratio": round(total / compact, 2)}))


if __name__ == "__main__":
    main()
