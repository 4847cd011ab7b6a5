"""Request-wide holes of the security review (issue #12): body size, HSTS."""

from __future__ import annotations

import io

import pytest

from service import create_app
from tests.conftest import app_config


class Endless(io.RawIOBase):
    """A request body of ``size`` bytes that is produced as it is read (and counted)."""

    def __init__(self, size: int):
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.pos, 65536))
        buffer[:n] = b"[" * n
        self.pos += n
        self.read_bytes += n
        return n


MB_200 = 200 * 1024 * 1024


def test_max_content_length_refuses_a_200_mb_body_with_413_json(client):
    """A 200 MB body was read into memory."""
    body = Endless(MB_200)
    response = client.post("/api/v1/bookings", input_stream=body, content_length=MB_200,
                           content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"
    assert body.read_bytes < 10 * 1024 * 1024


def test_max_content_length_refuses_a_big_form_with_a_413_page(client, make_client):
    _, token = make_client()
    body = b"agenda=" + b"x" * 3_000_000
    response = client.post(f"/b/{token}", data=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "text/html" in response.headers["Content-Type"]


def test_max_content_length_cuts_a_chunked_body_without_length(client):
    body = Endless(MB_200)
    response = client.post("/api/v1/bookings", input_stream=body, content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    assert response.status_code == 413
    assert body.read_bytes < 10 * 1024 * 1024


def test_max_content_length_is_a_setting(tmp_path, monkeypatch):
    from service.core.config import ConfigError

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(tmp_path, MAX_CONTENT_LENGTH=1000))
    assert app.config["MAX_CONTENT_LENGTH"] == 1000
    with pytest.raises(ConfigError):
        create_app(app_config(tmp_path, MAX_CONTENT_LENGTH=0))


def test_hsts_when_base_url_is_https(tmp_path, monkeypatch):
    """No Strict-Transport-Security header was sent, even behind https."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(tmp_path, BASE_URL="https://counsel.example"))
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" in app.test_client().get("/admin/login").headers


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
