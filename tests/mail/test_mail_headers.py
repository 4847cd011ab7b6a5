"""Display names never change a mail's address list, however they fold (issue #12)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from service.jobs import worker
from service.jobs.mailheaders import AddressHeader

HOSTILE_NAMES = [
    "A" * 70 + ' <x@evil.example>, "b" <y@evil.example>',
    "Ünïcødé Пётр Иванов " * 6 + "<x@evil.example>",
    'x, y <x@evil.example> "q" Bcc: z@evil.example',
    '"' + "a" * 80 + '"<x@evil.example>',
    ("a" * 60 + "<x@evil.example>,") * 3,
    "=?utf-8?b?PHhAZXZpbC5leGFtcGxlPg==?= <x@evil.example>",
    "Иванов, Пётр (ООО «Ромашка»); <x@evil.example>",
    "\"quoted\\\" name\" ,;:@[]()<x@evil.example>",
]


def _parsed(message: EmailMessage) -> EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["Boris Petrov", "José 😀 Ñandú" * 9])
@pytest.mark.parametrize("header", ["To", "Reply-To"])
def test_mail_display_name_folding_never_adds_a_recipient(name, header):
    """A long name with ``<x@evil>``, commas and quotes showed as an extra recipient."""
    message = EmailMessage()
    message[header] = AddressHeader(header, name, "real@client.example")
    message["Subject"] = "s"
    message.set_content("x")
    raw = message.as_bytes()
    assert all(len(line) <= 78 for line in raw.split(b"\n"))
    back = _parsed(message)
    (address,) = back[header].addresses
    assert address.addr_spec == "real@client.example"
    assert "".join(address.display_name.split()) == "".join(name.split())  # the name is intact
    assert email.utils.getaddresses(message.get_all(header))[-1][1] == "real@client.example"
    assert len(email.utils.getaddresses(message.get_all(header))) == 1


@pytest.mark.parametrize("name", ["a\r\nBcc: z@evil.example", "a\nb", "a\x00b\x7f"])
def test_mail_display_name_control_characters_never_reach_the_header(name):
    message = EmailMessage()
    message["To"] = AddressHeader("To", name, "real@client.example")
    message.set_content("x")
    head = message.as_bytes().split(b"\n\n")[0]
    assert head.count(b"\n") == len(message.items()) - 1 or b"Bcc" not in head
    (address,) = _parsed(message)["To"].addresses
    assert address.addr_spec == "real@client.example" and "\n" not in address.display_name


@pytest.mark.parametrize("address", ["a@b.example, x@evil.example", "<x@evil.example>", "a b", "nobody"])
def test_mail_address_header_refuses_what_is_not_one_address(address):
    with pytest.raises(ValueError):
        AddressHeader("To", "Name", address)


def test_mail_display_name_folding_over_real_smtp(frozen, smtp, client, make_client, db):
    """Through the booking API, the worker and aiosmtpd: the envelope and every To are the
    client's and the lawyer's addresses only, whatever the client typed as a name."""
    _, token = make_client(name="A" * 90 + ' <x@evil.example>, "b" <y@evil.example>')
    name = ("Пётр " + "a" * 40 + ' <x@evil.example>, "q" ') * 3
    response = client.post("/api/v1/bookings", json={
        "token": token, "start": "2026-03-04T13:00:00+00:00", "name": name[:200],
        "email": "boris@client.example", "agenda": "Clause 4"})
    assert response.status_code == 201, response.get_json()
    worker.run_once()
    assert len(smtp.messages) == 2
    recipients = sorted(r for env in smtp.envelopes for r in env.rcpt_tos)
    assert recipients == ["anna0@counsel.example", "boris@client.example"]
    for message in smtp.messages:
        assert [a.addr_spec for a in message["To"].addresses] in (
            ["boris@client.example"], ["anna0@counsel.example"])
        if message["Reply-To"]:
            assert [a.addr_spec for a in message["Reply-To"].addresses] == ["anna0@counsel.example"]
