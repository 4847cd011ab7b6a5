"""Browser tests: the app served on a free local port, driven by headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``); without it the tests are skipped locally and
fail under CI (``CI=true``), where it must be installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _shots():
    """``docs/screenshot_week.py`` as a module: one way to serve the app and sign in."""
    spec = importlib.util.spec_from_file_location("screenshot_week", ROOT / "docs" / "screenshot_week.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shots = _shots()


def chromium_or_skip() -> str:
    path = shots.CHROMIUM
    if not (os.path.exists(path) or shutil.which(path)):
        message = f"Chromium not found at {path} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def browser():
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=shots.CHROMIUM, args=shots.CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1; yields its base URL."""
    with shots.serve(app) as base:
        yield base
