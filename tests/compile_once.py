"""Compile the app's URL builders, templates and SQL once per test process, not once per app.

Every test gets a new app (``create_app`` in the ``app`` fixture, and the apps that tests
make themselves). Most of a short test's time went into compiling the same code again:

- URL rules: registering ~95 rules took 0.1-0.4 s an app, almost all of it in werkzeug's
  ``Rule._compile_builder``, which generates a small Python function per rule (``ast`` +
  ``compile``). That function depends only on the rule's parsed parts (``Rule._trace``),
  the converted values of its defaults and whether unknown values are appended; it is
  bound to its ``Rule`` afterwards (``__get__``) and reads converters through that rule.
  So apps with the same rules share the functions, memoised on exactly those inputs.
- Templates: each app has its own Jinja environment, which compiled every template it
  rendered (0.1-0.3 s per page the first time). A Jinja bytecode cache (its documented
  hook, ``Environment.bytecode_cache``) shared by every app's environment keeps the
  compiled code per template source and environment settings.
- SQL: each app has its own engine, and SQLAlchemy keeps the statements it compiled in a
  cache of that engine, keyed by the engine's dialect object: every test compiled every
  query it ran again (a tenth of a short admin test's CPU). All engines share one cache
  (``SharedStatements``), keyed by the dialect's class and settings (its plain attributes:
  paramstyle, server version, flags) instead of the object, so engines of the same kind
  of database reuse each other's compiled statements and other kinds compile their own.

Nothing else changes: each app still builds its own ``Map``, ``Rule`` objects, Jinja
environment and engine, and renders, builds URLs and runs SQL with the same generated code
(tests/test_compile_once.py checks this). Production code is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha1
from types import ModuleType
from typing import Any

import flask
from jinja2 import Environment
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.util import LRUCache
from werkzeug.routing.rules import Rule

_original_builder = Rule._compile_builder
_original_jinja = flask.Flask.create_jinja_environment
_builders: dict[tuple, Callable[..., Any]] = {}


def _builder_key(rule: Rule, append_unknown: bool) -> tuple:
    defaults = rule.defaults or {}
    # A default for a value of the rule is baked into the function as its converted text.
    baked = tuple(
        sorted((name, rule._converters[name].to_url(value)) for name, value in defaults.items()
               if name in rule._converters)
    )
    return (type(rule), tuple(rule._trace), tuple(sorted(map(str, defaults))), baked, append_unknown)


def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
    key = _builder_key(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _original_builder(self, append_unknown)
    return builder


def _settings(environment: Environment) -> str:
    """What the compiled code of a template depends on besides its source."""
    autoescape = environment.autoescape
    autoescape = getattr(autoescape, "__func__", autoescape)
    return repr((
        sorted(environment.extensions), sorted(environment.filters), sorted(environment.tests),
        environment.block_start_string, environment.block_end_string,
        environment.variable_start_string, environment.variable_end_string,
        environment.comment_start_string, environment.comment_end_string,
        environment.line_statement_prefix, environment.line_comment_prefix,
        environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
        environment.keep_trailing_newline, environment.optimized, environment.is_async,
        getattr(autoescape, "__qualname__", autoescape), environment.finalize is not None,
        environment.undefined, environment.code_generator_class, environment.context_class,
    ))


class SharedTemplateCode(BytecodeCache):
    """Compiled templates in memory, by template, source and environment settings."""

    def __init__(self) -> None:
        self.code: dict[str, tuple[str, Any]] = {}

    def get_bucket(self, environment: Environment, name: str, filename: str | None,
                   source: str) -> Bucket:
        key = sha1(f"{self.get_cache_key(name, filename)}|{_settings(environment)}".encode()).hexdigest()
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self.code.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = (bucket.checksum, bucket.code)

    def clear(self) -> None:
        self.code.clear()


TEMPLATES = SharedTemplateCode()


def _create_jinja_environment(self: flask.Flask):
    environment = _original_jinja(self)
    environment.bytecode_cache = TEMPLATES
    return environment


_PLAIN = (bool, int, float, str, bytes, tuple, type, type(None), ModuleType)


def dialect_settings(dialect: Any) -> tuple:
    """What a statement compiled for ``dialect`` depends on besides the statement: its
    class and its plain attributes (set from the engine's options and, at the first
    connection, from the server). Its helper objects (identifier preparer, type compiler)
    follow from those."""
    return (type(dialect), *sorted((k, v) for k, v in vars(dialect).items() if isinstance(v, _PLAIN)))


class SharedStatements:
    """One compiled-statement cache for every engine: SQLAlchemy's keys (dialect object,
    statement cache key, columns, flags), with the dialect object replaced by its
    settings."""

    def __init__(self, size: int = 5000) -> None:
        self.compiled: LRUCache = LRUCache(size)

    @staticmethod
    def _key(key: tuple) -> tuple:
        return (dialect_settings(key[0]), *key[1:])

    def get(self, key: tuple, default: Any = None) -> Any:
        return self.compiled.get(self._key(key), default)

    def __setitem__(self, key: tuple, value: Any) -> None:
        self.compiled[self._key(key)] = value

    def __len__(self) -> int:
        return len(self.compiled)

    def clear(self) -> None:
        self.compiled.clear()


STATEMENTS = SharedStatements()


def _share_statements(connection) -> None:
    """On each connection (``engine_connect``): the engine's cache is the shared one,
    unless the engine has none (``query_cache_size=0``)."""
    engine = connection.engine
    if engine._compiled_cache is not None:
        engine._compiled_cache = STATEMENTS


def install() -> None:
    """Share compiled URL builders, templates and SQL for the rest of the process (idempotent)."""
    Rule._compile_builder = _compile_builder
    flask.Flask.create_jinja_environment = _create_jinja_environment
    if not event.contains(Engine, "engine_connect", _share_statements):
        event.listen(Engine, "engine_connect", _share_statements)


def uninstall() -> None:
    Rule._compile_builder = _original_builder
    flask.Flask.create_jinja_environment = _original_jinja
    if event.contains(Engine, "engine_connect", _share_statements):
        event.remove(Engine, "engine_connect", _share_statements)
