"""Compile each URL rule's builder once per test session instead of once per app.

Every test gets a new app (``create_app`` in the ``app`` fixture). Registering its ~95 URL
rules took 0.1-0.4 s a test, almost all of it in werkzeug's ``Rule._compile_builder``, which
generates a small Python function per rule and compiles it (``ast`` + ``compile``). That
function depends only on the rule's parsed parts (``Rule._trace``), its defaults and
whether unknown values are appended; it is bound to its ``Rule`` afterwards
(``__get__``) and reads converters through that rule. So two apps with the same rules can
share the compiled functions: ``install()`` memoises them on exactly those inputs. Nothing
else changes: each app still builds its own ``Map`` and ``Rule`` objects, and URLs are
built by the same code (``tests/test_fast_routing.py`` checks this).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_original = Rule._compile_builder
_builders: dict[tuple, Callable[..., Any]] = {}


def _key(rule: Rule, append_unknown: bool) -> tuple:
    defaults = rule.defaults or {}
    # A default for a value of the rule is baked into the function as its converted text.
    baked = tuple(
        sorted((name, rule._converters[name].to_url(value)) for name, value in defaults.items()
               if name in rule._converters)
    )
    return (type(rule), tuple(rule._trace), tuple(sorted(map(str, defaults))), baked, append_unknown)


def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
    key = _key(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _original(self, append_unknown)
    return builder


def install() -> None:
    """Memoise the rule builders for the rest of the process (idempotent)."""
    Rule._compile_builder = _compile_builder


def uninstall() -> None:
    Rule._compile_builder = _original
