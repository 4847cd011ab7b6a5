"""The per-process compile cache (tests/compile_once.py) builds exactly the URLs and
renders exactly the pages that werkzeug and Jinja build and render without it."""

from __future__ import annotations

import uuid

from werkzeug.routing import converters

from service import create_app
from tests import compile_once
from tests.conftest import app_config

SAMPLES = {
    converters.IntegerConverter: 7,
    converters.FloatConverter: 2.5,
    converters.PathConverter: "a b/c",
    converters.UUIDConverter: uuid.UUID("12345678-1234-5678-1234-567812345678"),
}


def _sample(converter) -> object:
    for kind, value in SAMPLES.items():
        if isinstance(converter, kind):
            return value
    if isinstance(converter, converters.AnyConverter):
        return next(iter(converter.items))
    return "x y/ü"


def _urls(app) -> dict:
    built = {}
    for rule in app.url_map.iter_rules():
        values = {name: _sample(conv) for name, conv in rule._converters.items()}
        key = (rule.endpoint, rule.rule)
        built[key] = (rule.build(values, append_unknown=False),
                      rule.build({**values, "next": "/admin/?a=1"}, append_unknown=True))
    return built


def test_cached_builders_build_the_same_urls_as_werkzeugs(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    compile_once.uninstall()
    try:
        plain = _urls(create_app(app_config(tmp_path)))
    finally:
        compile_once.install()
    first = _urls(create_app(app_config(tmp_path)))
    second = _urls(create_app(app_config(tmp_path)))  # from the cache
    assert len(plain) > 50
    assert first == plain and second == plain


def test_an_app_with_its_own_rules_gets_its_own_builders(tmp_path, monkeypatch):
    """Rules with the same path but other defaults share no builder."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []
    for page in ("one", "two"):
        app = create_app(app_config(tmp_path))
        app.add_url_rule("/t/<name>", endpoint="t", defaults={"name": page},
                         view_func=lambda name: name)
        apps.append(app)
    with apps[0].test_request_context(), apps[1].test_request_context():
        rules = [next(r for r in a.url_map.iter_rules() if r.endpoint == "t") for a in apps]
        assert [r.build({})[1] for r in rules] == ["/t/one", "/t/two"]


def _pages(tmp_path, token: str) -> list[str]:
    app = create_app(app_config(tmp_path))
    client = app.test_client()
    paths = ["/admin/", f"/b/{token}", "/b/unknown-token", "/nowhere"]
    return [client.get(p, headers={"Accept-Language": lang}).get_data(as_text=True)
            for p in paths for lang in ("en", "ru")]


def test_cached_templates_render_the_same_pages_as_jinjas(tmp_path, frozen, make_client):
    _client, token = make_client()
    fast = compile_once.TEMPLATES
    compile_once.uninstall()
    try:
        plain = _pages(tmp_path, token)
    finally:
        compile_once.install()
    fast.clear()
    first = _pages(tmp_path, token)
    compiled = len(fast.code)
    second = _pages(tmp_path, token)  # every template from the cache
    assert compiled >= 3 and len(fast.code) == compiled
    assert 'data-slot-start="' in first[2]
    assert first == plain and second == plain


def test_template_code_is_shared_only_between_like_environments():
    """Another source or other settings (here autoescape) compile again."""
    from jinja2 import DictLoader, Environment

    cache = compile_once.SharedTemplateCode()
    sources = {"page.html": "{{ x }}"}

    def render(**settings) -> str:
        env = Environment(loader=DictLoader(sources), bytecode_cache=cache, **settings)
        return env.get_template("page.html").render(x="<b>")

    assert render(autoescape=True) == "&lt;b&gt;"
    assert render(autoescape=False) == "<b>"
    assert render(autoescape=True) == "&lt;b&gt;" and len(cache.code) == 2
    sources["page.html"] = "[{{ x }}]"
    assert render(autoescape=False) == "[<b>]"


def test_shared_statements_run_the_same_sql_as_sqlalchemys(tmp_path, frozen, make_client):
    """Apps whose engines share compiled statements send the database exactly the SQL and
    parameters that engines with their own caches send."""
    import sqlalchemy as sa

    _client, token = make_client()
    sent: list[tuple[str, str]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        sent.append((statement, repr(parameters)))

    def run() -> list[tuple[str, str]]:
        sent.clear()
        _pages(tmp_path, token)
        return list(sent)

    shared = compile_once.STATEMENTS
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        compile_once.uninstall()
        try:
            plain = run()
        finally:
            compile_once.install()
        shared.clear()
        first = run()
        compiled = len(shared)
        second = run()  # every statement from the shared cache
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert compiled >= 3 and len(shared) == compiled
    assert any("FROM client" in statement for statement, _ in plain)
    assert first == plain and second == plain


def test_statements_are_shared_only_between_like_dialects(tmp_path):
    """Another paramstyle (a dialect setting) compiles again and gets its own SQL."""
    import sqlalchemy as sa

    table = sa.table("t", sa.column("x"))
    query = sa.select(table.c.x).where(table.c.x == sa.bindparam("x"))
    shared = compile_once.STATEMENTS
    shared.clear()
    sent: list[str] = []
    engines = [sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}"),
               sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}"),
               sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}", paramstyle="named")]
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (7)")
            assert connection.execute(query, {"x": 7}).scalars().all() == [7]
        engine.dispose()
    assert len(shared) == 2
    assert [s for s in sent if s.startswith("SELECT")] == [
        "SELECT t.x \nFROM t \nWHERE t.x = ?", "SELECT t.x \nFROM t \nWHERE t.x = ?",
        "SELECT t.x \nFROM t \nWHERE t.x = :x"]
