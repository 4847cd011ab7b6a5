"""Languages: Russian and English. A client's page speaks the client's agreed language;
elsewhere the browser's ``Accept-Language`` decides."""

from __future__ import annotations

import os

from flask import Flask, g, request
from flask_babel import Babel, get_locale

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
    app.jinja_env.globals["get_locale"] = get_locale

    from service import presentation

    app.jinja_env.globals["format_date"] = presentation.format_date
    app.jinja_env.globals["format_datetime"] = presentation.format_datetime
