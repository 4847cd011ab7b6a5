"""Readiness: the client updates the agenda, attaches documents and confirms the agenda
until preparation starts; documents are typed by content, capped, encrypted at rest, and
served to the call's lawyer alone."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, BookingFile, OutboxTask
from service.usecases import readiness
from tests.admin.conftest import PASSWORD, log_in
from tests.test_pages import form_token

WED_14 = "2026-03-04T13:00:00+00:00"
PREP_AT = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)  # 30 minutes of preparation

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def ooxml(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(part, "<x/>")
    return buffer.getvalue()


DOCX, XLSX = ooxml("word/document.xml"), ooxml("xl/workbook.xml")


@pytest.fixture
def booked(frozen, client, make_client, db):
    """(manage path, manage page token) of a fresh booking."""
    _, token = make_client(lawyer=None)
    body = client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": "Boris Petrov",
                                                 "email": "boris@client.example", "agenda": "Lease"}).get_json()
    path = body["manage_url"].removeprefix("http://counsel.test")
    return path


def multipart(fields: dict[str, str], name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand (the test client would spool big ones to
    temporary files it never closes)."""
    boundary = "----counselhours-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(client, path, name, data, content_type="application/octet-stream", token=None):
    token = token or form_token(client.get(path).get_data(as_text=True))
    body, kind = multipart({"form_token": token}, name, data, content_type)
    return client.post(f"{path}/files", data=body, content_type=kind)


def count_files(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(BookingFile.id)))


@pytest.mark.parametrize(("name", "data", "mime"), [
    ("claim.pdf", PDF, "application/pdf"),
    ("contract.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("figures.XLSX", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("scan.jpeg", JPEG, "image/jpeg"),
    ("photo.png", PNG, "image/png"),
    ("no-extension", PDF, "application/pdf"),
])
def test_accepted_documents_are_typed_by_content(client, booked, db, name, data, mime):
    response = upload(client, booked, name, data, content_type="text/plain")  # the browser's word is ignored
    assert response.status_code == 303, response.get_data(as_text=True)
    record = db.session.scalar(sa.select(BookingFile))
    assert record.mime == mime and record.size == len(data)
    assert record.name.startswith(name.rsplit(".", 1)[0])


@pytest.mark.parametrize(("name", "data"), [
    ("claim.exe", PDF),  # a PDF renamed .exe
    ("claim.pdf", EXE),  # an .exe renamed .pdf
    ("notes.pdf", b"just some text, not a PDF"),
    ("archive.docx", b"PK\x03\x04" + b"\x00" * 40),  # a zip that is no Word document
    ("contract.pdf", DOCX),  # a Word document called .pdf
    ("empty.pdf", b""),
])
def test_refused_documents_leave_nothing_behind(client, booked, db, app, name, data):
    response = upload(client, booked, name, data, content_type="application/pdf")
    assert response.status_code == 422
    assert count_files(db) == 0
    uploads = Path(app.instance_path) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_ten_megabytes_pass_ten_megabytes_and_one_byte_do_not(client, booked, db):
    exact = PDF + b"%" * (readiness.MAX_BYTES - len(PDF))
    assert upload(client, booked, "big.pdf", exact).status_code == 303
    response = upload(client, booked, "bigger.pdf", exact + b"%")
    assert response.status_code == 413
    assert "10 MB" in response.get_data(as_text=True)
    assert count_files(db) == 1


def test_a_request_body_over_the_cap_is_refused_before_it_is_read(client, booked, db):
    huge = PDF + b"%" * (readiness.MAX_BYTES + 200 * 1024)
    response = upload(client, booked, "a.pdf", huge)
    assert response.status_code == 413 and count_files(db) == 0


def test_at_most_five_documents_per_call(client, booked, db):
    for n in range(5):
        assert upload(client, booked, f"doc{n}.pdf", PDF).status_code == 303
    assert upload(client, booked, "doc6.pdf", PDF).status_code == 409
    assert count_files(db) == 5


def test_files_are_encrypted_at_rest_and_readable_only_after_decryption(client, booked, db, app):
    secret = PDF + b"(Confidential settlement offer: EUR 40,000)"
    assert upload(client, booked, "offer.pdf", secret).status_code == 303
    record = db.session.scalar(sa.select(BookingFile))
    stored = (Path(app.instance_path) / "uploads" / record.stored_as).read_bytes()
    assert b"%PDF" not in stored and b"settlement" not in stored
    assert record.name == "offer.pdf" and record.stored_as not in ("offer.pdf",)
    assert readiness.read_file(record) == secret


def test_only_the_calls_lawyer_gets_the_file(client, booked, db, app, make_lawyer):
    from werkzeug.security import generate_password_hash

    assert upload(client, booked, "offer.pdf", PDF).status_code == 303
    record = db.session.scalar(sa.select(BookingFile))
    assert client.get(f"/admin/files/{record.id}").status_code == 302  # not signed in: to the login
    booking = db.session.scalar(sa.select(Booking))
    owner = booking.lawyer
    owner.password_hash = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    other = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    db.session.commit()
    with app.test_client() as stranger:
        log_in(stranger, other.email)
        assert stranger.get(f"/admin/files/{record.id}").status_code == 404
    with app.test_client() as lawyer:
        log_in(lawyer, owner.email)
        response = lawyer.get(f"/admin/files/{record.id}")
        assert response.status_code == 200 and response.data == PDF
        assert response.mimetype == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert f'/admin/files/{record.id}' in lawyer.get("/admin/").get_data(as_text=True)


def test_another_clients_token_never_reaches_a_file(client, booked, db, make_client):
    assert upload(client, booked, "offer.pdf", PDF).status_code == 303
    record = db.session.scalar(sa.select(BookingFile))
    _, token = make_client(email="vera@client.example")
    other = client.post("/api/v1/bookings", json={"token": token, "start": "2026-03-04T14:00:00+00:00",
                                                  "name": "Vera", "email": "vera@client.example",
                                                  "agenda": "Other"}).get_json()
    other_path = other["manage_url"].removeprefix("http://counsel.test")
    page = client.get(other_path).get_data(as_text=True)
    assert "offer.pdf" not in page
    response = client.post(f"{other_path}/files/{record.id}/remove", data={"form_token": form_token(page)})
    assert response.status_code == 404 and count_files(db) == 1
    for path in (f"/m/{'x' * 32}/files/{record.id}/remove",):
        assert client.post(path, data={"form_token": "x"}).status_code == 404
    # No public URL serves a file's content at all.
    assert client.get(f"{booked}/files/{record.id}").status_code in (404, 405)


def test_the_client_removes_a_document_and_updates_the_agenda(client, booked, db):
    assert upload(client, booked, "offer.pdf", PDF).status_code == 303
    record = db.session.scalar(sa.select(BookingFile))
    page = client.get(booked).get_data(as_text=True)
    assert "offer.pdf" in page
    assert client.post(f"{booked}/files/{record.id}/remove", data={"form_token": form_token(page)}).status_code == 303
    assert count_files(db) == 0
    response = client.post(f"{booked}/agenda", data={"form_token": form_token(page), "agenda": "Lease; deposit"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Booking.agenda)) == "Lease; deposit"
    assert client.post(f"{booked}/agenda", data={"form_token": form_token(page), "agenda": "  "}).status_code == 422


def test_nothing_changes_once_preparation_has_started(client, booked, db, frozen, app):
    from service.storage.models import token_hash
    from service.web import formtoken

    frozen.move_to(PREP_AT)
    token = formtoken.issue("manage", token_hash(booked.rsplit("/", 1)[-1]))
    page = client.get(booked).get_data(as_text=True)
    assert "data-readiness" not in page
    response = upload(client, booked, "a.pdf", PDF, token=token)
    assert response.status_code == 409 and count_files(db) == 0
    assert client.post(f"{booked}/agenda", data={"form_token": token, "agenda": "New"}).status_code == 409
    assert db.session.scalar(sa.select(Booking.agenda)) == "Lease"


def test_agenda_confirmation_and_not_confirmed_on_the_dashboard(frozen, client, make_client, make_lawyer, db, app):
    from werkzeug.security import generate_password_hash

    lawyer = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    _, token = make_client(lawyer=lawyer, agenda_confirm_hours=24)
    for start, email in ((WED_14, "boris@client.example"), ("2026-03-04T14:00:00+00:00", "boris@client.example")):
        client.post("/api/v1/bookings", json={"token": token, "start": start, "name": "Boris", "email": email,
                                              "agenda": "Lease"})
    first, second = db.session.scalars(sa.select(Booking).order_by(Booking.start)).all()
    from service.core.urls import manage_url

    path = manage_url(first).removeprefix("http://counsel.test")
    page = client.get(path).get_data(as_text=True)
    assert 'data-agenda-confirmation="open"' in page and "data-confirm-form" in page
    assert client.post(f"{path}/confirm", data={"form_token": form_token(page)}).status_code == 303
    assert 'data-agenda-confirmation="confirmed"' in client.get(path).get_data(as_text=True)
    # At the second call's deadline (24 h before its prep block): "not confirmed".
    frozen.move_to(second.blocked_start - timedelta(hours=24))
    with app.test_client() as admin:
        log_in(admin, lawyer.email)
        board = admin.get("/admin/").get_data(as_text=True)
    assert board.count('data-agenda-confirmation="missed"') == 1
    assert board.count('data-agenda-confirmation="confirmed"') == 1
    assert "not confirmed" in board
    path2 = manage_url(second).removeprefix("http://counsel.test")
    page2 = client.get(path2).get_data(as_text=True)
    assert client.post(f"{path2}/confirm", data={"form_token": form_token(page2)}).status_code == 409
    assert re.search(r"not confirmed in time", page2)
    assert db.session.scalar(sa.select(sa.func.count(OutboxTask.id))) > 0
