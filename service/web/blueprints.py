"""Every blueprint of the web app, and the headers all responses carry."""

from __future__ import annotations

from flask import Flask, request

from service.usecases import audit
from service.web import admin, api, auth, firm, google, hardening, i18n, microsoft, public
from service.web.framing import content_security_policy

#: Requests of these blueprints act as the client (booking pages, widget, JSON API).
CLIENT_BLUEPRINTS = ("public", "api")


def init_app(app: Flask) -> None:
    i18n.init_app(app, app.config["ROOT"])
    auth.init_app(app)
    hardening.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(google.oauth_bp)
    app.register_blueprint(google.hooks_bp)
    app.register_blueprint(microsoft.oauth_bp)
    app.register_blueprint(microsoft.hooks_bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(firm.bp)
    app.register_blueprint(firm.public_bp)

    @app.before_request
    def audit_actor():
        """Who the audit log names for changes made by this request (admin: the person)."""
        audit.set_actor(audit.Actor("client") if request.blueprint in CLIENT_BLUEPRINTS else audit.SYSTEM)

    @app.teardown_request
    def audit_actor_done(_exc):
        audit.set_actor(audit.SYSTEM)  # nothing after the request acts as its person

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy()
            response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/b/", "/m/", "/embed/", "/i/", "/invite/")):
            # Pages behind bearer tokens: never leak the URL, never index, never cache.
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["X-Robots-Tag"] = "noindex, nofollow"
            response.headers["Cache-Control"] = "no-store"
        return response
