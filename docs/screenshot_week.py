"""Screenshot of the week picture for the README: ``python docs/screenshot_week.py [OUT.png]``.

Builds a throw-away database with the demo lawyer, clients and a sample week, serves the
app on a free local port, signs in with headless Chromium (``/usr/bin/chromium``) and saves
the week picture to ``docs/week.png``.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
WEEK = date(2026, 3, 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app):
    """Serve ``app`` on 127.0.0.1 in a thread; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[data-login-form] button[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def shoot(base: str, out: Path, email: str, password: str, week: date = WEEK) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-GB")
            sign_in(page, base, email, password)
            page.goto(f"{base}/admin/week?date={week.isoformat()}")
            page.locator("main").screenshot(path=str(out))
        finally:
            browser.close()


def main(out: Path) -> None:
    from cryptography.fernet import Fernet

    from service import create_app
    from service.cli.demo import DEMO_EMAIL, DEMO_PASSWORD, seed, seed_week
    from service.storage.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INSTANCE_PATH"] = tmp
        app = create_app({
            "ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp}/week.db",
            "SECRET_KEY": "screenshot-only",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        })
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            seed()
            seed_week(WEEK)
            db.session.remove()
        with serve(app) as base:
            shoot(base, out, DEMO_EMAIL, DEMO_PASSWORD)
        with app.app_context():
            db.engine.dispose()
    print(f"Saved {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "week.png")
