"""The session-wide URL builder cache (tests/fast_routing.py) builds exactly the URLs that
werkzeug's own per-app builders build."""

from __future__ import annotations

import uuid

from werkzeug.routing import converters

from service import create_app
from tests import fast_routing
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
    fast_routing.uninstall()
    try:
        plain = _urls(create_app(app_config(tmp_path)))
    finally:
        fast_routing.install()
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
