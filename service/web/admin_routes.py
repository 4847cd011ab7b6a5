"""Routes of the admin area defined outside ``service.web.admin`` (which registers them on
its blueprint, so its login and CSRF checks apply), without an import cycle."""

from __future__ import annotations

from collections.abc import Callable


class Routes:
    """Collects ``@routes.get/post/route`` views; ``register(bp)`` adds them to a blueprint."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, Callable, dict]] = []

    def route(self, rule: str, **options):
        def collect(view: Callable) -> Callable:
            self._routes.append((rule, view, options))
            return view
        return collect

    def get(self, rule: str, **options):
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options):
        return self.route(rule, methods=["POST"], **options)

    def register(self, bp) -> None:
        for rule, view, options in self._routes:
            bp.add_url_rule(rule, view.__name__, view, **options)
