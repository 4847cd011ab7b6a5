"""Screenshot of the client booking page for the README: ``python docs/screenshot_booking.py``.

Starts the app on a throwaway SQLite database with the demo data, opens a demo client's
link in headless Chromium and saves docs/booking.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    tmp = tempfile.mkdtemp()
    port = free_port()
    env = {**os.environ, "FLASK_APP": "service", "ENV": "development", "INSTANCE_PATH": tmp,
           "BASE_URL": f"http://127.0.0.1:{port}", "DATABASE_URL": f"sqlite:///{tmp}/demo.db"}
    subprocess.run([FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run([FLASK, "seed-demo"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout
    link = next(line.split()[-1] for line in seeded.splitlines() if "Clara" in line)
    server = subprocess.Popen([FLASK, "run", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"])
            page = browser.new_page(viewport={"width": 900, "height": 1000}, timezone_id="America/New_York")
            page.goto(link)
            page.wait_for_load_state("networkidle")
            page.locator("[data-slot-start]").nth(2).click()
            page.fill("textarea[name=agenda]", "Articles of association: voting rights of the second shareholder.")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ROOT / "docs" / "booking.png"), full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
