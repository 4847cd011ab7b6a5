"""Take ``docs/widget.png``: the booking widget embedded inline on a sample law-firm page.

Run from the repository root: ``.venv/bin/python docs/screenshot_widget.py``. It starts the
app on a temporary database and a sample host site on another origin (as the browser
tests do), and drives Debian's Chromium (``/usr/bin/chromium``) with Playwright.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.live import CHROMIUM, CHROMIUM_ARGS, HostSite, make_live_app, serve, widget_tag  # noqa: E402

OUT = ROOT / "docs" / "widget.png"

SITE_CSS = """
body { margin: 0; font: 16px/1.55 Georgia, "Times New Roman", serif; color: #222; background: #f4f1ea; }
header { background: #26323f; color: #f4f1ea; padding: 1.2rem 2rem; }
header b { font-size: 1.3rem; letter-spacing: .03em; }
header span { float: right; font-family: system-ui, sans-serif; font-size: .9rem; opacity: .8; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-weight: normal; margin: .2rem 0 .5rem; }
.widget { background: #fff; border-radius: 10px; box-shadow: 0 2px 14px rgba(0,0,0,.12); overflow: hidden; }
"""


def seed(app, site_url: str) -> str:
    from service.storage.extensions import db
    from service.storage.models import EmbedOrigin, Lawyer
    from service.usecases.clients import create_client

    with app.app_context():
        lawyer = Lawyer(name="Anna Keller", email="anna@counsel.example", timezone="Europe/Berlin")
        lawyer.embed_origins.append(EmbedOrigin(origin=site_url))
        db.session.add(lawyer)
        _, token = create_client(
            lawyer, name="Clara Schmidt", email="clara@client.example",
            windows="mon 09:00-11:00,wed 14:00-16:00,fri 10:00-11:00", duration_min=30, prep_min=15,
            notice_hours=12, horizon_days=9, max_per_week=2,
            note="Written questions by e-mail are answered within two working days.",
        )
        db.session.commit()
        return token


def main() -> None:
    app = make_live_app(Path(tempfile.mkdtemp(prefix="counsel-hours-shot-")))
    site = HostSite()
    site.add("/site.css", SITE_CSS, content_type="text/css")
    with serve(app) as app_server, serve(site) as site_server:
        app_url = f"http://127.0.0.1:{app_server.server_port}"
        site_url = f"http://localhost:{site_server.server_port}"
        app.config["BASE_URL"] = app_url
        token = seed(app, site_url)
        site.add("/", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Keller Law — Book a consultation</title><link rel="stylesheet" href="/site.css"></head>
<body><header><b>KELLER LAW</b><span>Tenancy · Companies · Contracts</span></header>
<main><h1>Book your consultation</h1>
<p>Choose a time that suits you. Tell me what you want to discuss, so I can prepare.</p>
<div class="widget">{widget_tag(app_url, token=token)}</div></main></body></html>""")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 1000}, timezone_id="Europe/Berlin",
                                    device_scale_factor=1)
            page.goto(site_url + "/")
            frame = page.frame_locator(".counselhours iframe")
            frame.locator("[data-slot-start]").nth(1).click()
            page.wait_for_function(
                "() => document.querySelector('.counselhours iframe').getBoundingClientRect().height > 600")
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
