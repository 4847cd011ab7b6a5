"""Real servers and a real browser for the widget tests (and ``docs/screenshot_widget.py``).

The app runs on ``http://127.0.0.1:P1`` with a migrated SQLite database; sample host
pages run on another origin, ``http://localhost:P2`` (another site, so the widget's
frame is a third-party context there). Chromium is Debian's, driven by Playwright.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from werkzeug.serving import BaseWSGIServer, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def require_chromium() -> None:
    """At a browser test module's top: skip it without Chromium, but under ``CI=true``
    fail instead (CI must run the browser tests)."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


@contextmanager
def serve(wsgi_app, host: str = "127.0.0.1") -> Iterator[BaseWSGIServer]:
    """Serve ``wsgi_app`` on a free port in a thread for the duration of the block."""
    server = make_server(host, 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class HostSite:
    """A tiny website on another origin: pages registered by path, served as given."""

    pages: dict[str, tuple[str, bytes, dict[str, str]]] = field(default_factory=dict)

    def add(self, path: str, body: str, content_type: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.pages[path] = (content_type, body.encode(), headers)

    def __call__(self, environ, start_response):
        page = self.pages.get(environ.get("PATH_INFO", ""))
        if page is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        content_type, body, headers = page
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store"), *headers.items()])
        return [body]


def make_live_app(tmp_dir: Path):
    """The app on a fresh migrated SQLite database under ``tmp_dir`` (real clock)."""
    from flask_migrate import upgrade

    from service import create_app

    app = create_app({
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_dir / 'live.db'}",
        "SECRET_KEY": "live-test-secret-key",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SMTP_HOST": "",
    })
    with app.app_context():
        upgrade()
    return app


def widget_page(app_url: str, title: str, *tags: str, script: str = "") -> str:
    """A host page with the given widget tags (each a dict of data-* attributes)."""
    body = "\n".join(tags)
    extra = f'<script src="{script}"></script>' if script else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{extra}</head>
<body>
{body}
</body></html>"""


def widget_tag(app_url: str, **data: str) -> str:
    attrs = " ".join(f'data-{k.replace("_", "-")}="{v}"' for k, v in data.items())
    return f'<script src="{app_url}/embed.js" {attrs} async></script>'
