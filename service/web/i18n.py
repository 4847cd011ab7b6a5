"""Languages: Russian and English. A client's page speaks the client's agreed language;
elsewhere the browser's ``Accept-Language`` decides."""

from __future__ import annotations

import os

from flask import Flask, g, request
from flask_babel import Babel, get_locale

from service.usecases import wording
from service.web import zonepick

LANGUAGES = ("en", "ru")


def select_locale() -> str:
    lang = getattr(g, "lang", None)
    if lang in LANGUAGES:
        return lang
    if request:
        return request.accept_languages.best_match(LANGUAGES) or "en"
    return "en"


def init_app(app: Flask, root: str) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(root, "translations"))
    Babel(app, locale_selector=select_locale)

    @app.before_request
    def fresh_locale() -> None:
        # The locale is cached in ``g``; an app context can outlive a request (tests,
        # streamed responses), so every request chooses its language afresh.
        g.pop("_flask_babel", None)
        g.pop("lang", None)
    app.jinja_env.globals["get_locale"] = get_locale


    app.jinja_env.globals["format_date"] = wording.format_date
    app.jinja_env.globals["format_datetime"] = wording.format_datetime
    app.jinja_env.globals["format_time"] = wording.format_time
    app.jinja_env.globals["zone_words"] = wording.zone_words
    app.jinja_env.globals["zone_pick"] = zonepick.state
