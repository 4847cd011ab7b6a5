"""The practice settings in the admin area (routes registered on the ``admin`` blueprint)."""

from __future__ import annotations

from service.web.admin_routes import Routes

bp = Routes()
register = bp.register
