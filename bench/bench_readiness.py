"""What a call's readiness costs: storing a 10 MB document (type check + Fernet encryption
+ write) against writing the same bytes plainly, and scheduling a booking's reminders
against the whole booking write they are part of.

Run from the repo root: ``python bench/bench_readiness.py [--rounds N]``. Uses a
throw-away migrated SQLite database in a temp dir. Prints one JSON object per line: each
figure (median of N rounds) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_seconds(func, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from service import create_app
    from service.storage.extensions import db
    from service.storage.models import Booking, Lawyer
    from service.usecases import bookings, readiness, reminders
    from service.usecases.clients import create_client

    folder = Path(tempfile.mkdtemp(prefix="bench-readiness-"))
    os.environ["INSTANCE_PATH"] = str(folder / "instance")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                      "SECRET_KEY": "bench", "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                      "RATELIMIT_ENABLED": False})
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # real clock: timings
    with app.app_context():
        upgrade()
        lawyer = Lawyer(name="Anna", email="anna@bench.example", timezone="Europe/Berlin")
        db.session.add(lawyer)
        all_week = ",".join(f"{d} 08:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
        client, _ = create_client(lawyer, name="Boris", email="b@bench.example", windows=all_week,
                                  duration_min=30, prep_min=30, notice_hours=1, horizon_days=60)
        db.session.commit()
        contact = bookings.validate_contact("Boris", "b@bench.example", "Lease")

        data = b"%PDF-1.4\n" + os.urandom(readiness.MAX_BYTES - 9)
        plain = folder / "plain.bin"
        store_plain = median_seconds(lambda: plain.write_bytes(data), args.rounds)
        slots = iter(now + timedelta(days=2, hours=h) for h in range(0, 24 * 40, 1))

        def book_one():
            while True:
                try:
                    return bookings.book(client, next(slots), contact, now)[0]
                except Exception:  # noqa: BLE001 - a slot outside the windows: take the next
                    continue

        booking = book_one()

        def store_document():
            record = readiness.add_file(booking, "big.pdf", data, now)
            readiness.remove_file(booking, record.id, now)

        store_encrypted = median_seconds(store_document, args.rounds)
        print(json.dumps({"figure": "store_10mb_plain_s", "value": round(store_plain, 4)}))
        print(json.dumps({"figure": "store_10mb_checked_encrypted_s", "value": round(store_encrypted, 4)}))
        print(json.dumps({"figure": "ratio_encrypted_to_plain", "value": round(store_encrypted / store_plain, 1)}))

        whole = median_seconds(book_one, args.rounds * 4)
        some = db.session.scalar(db.select(Booking).order_by(Booking.id.desc()))
        schedule = median_seconds(lambda: (reminders.schedule(some, now), db.session.rollback()), args.rounds * 4)
        print(json.dumps({"figure": "book_call_s", "value": round(whole, 5)}))
        print(json.dumps({"figure": "schedule_reminders_s", "value": round(schedule, 5)}))
        print(json.dumps({"figure": "ratio_schedule_to_booking", "value": round(schedule / whole, 3)}))


if __name__ == "__main__":
    main()
