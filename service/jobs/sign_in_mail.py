"""One-time links by mail: the web's request (outbox kind ``signin.link_request``: the
address looked up here, off the request, so its timing tells nothing) and the mail of the
link (``mail.sign_in_link``): a password reset or a sign-in, to the person's own address,
in their language.

The task carries the token encrypted (``token_enc``), never in clear text; a link used,
replaced by a newer one or expired meanwhile is not mailed.
"""

from __future__ import annotations

from email.message import EmailMessage

from flask_babel import force_locale, gettext

from service.core.crypto import decrypt
from service.jobs.mail import new_message, send
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import SignInLink, utcnow
from service.usecases import signin


@outbox.handler(signin.REQUEST_KIND)
def link_request(payload: dict) -> None:
    """A link asked for on the web: made (and its mail queued) if the address signs in."""
    if payload.get("purpose") in signin.PURPOSES:
        signin.make_link(decrypt(payload["email_enc"]), payload["purpose"], utcnow())
        db.session.commit()


@outbox.handler("mail.sign_in_link")
def sign_in_link_mail(payload: dict) -> None:
    link = db.session.get(SignInLink, payload.get("link_id"))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return
    person = signin.link_person(link)
    if person is None:
        return
    send(link_message(link.purpose, person, signin.link_url(link.purpose, decrypt(payload["token_enc"]))))


def link_message(purpose: str, person, url: str) -> EmailMessage:
    """The mail of a ``reset`` or ``signin`` link to ``person``, in their language."""
    with force_locale(person.language or "en"):
        if purpose == "reset":
            message = new_message("", person.email, gettext("Your new password for Counsel Hours"))
            message.set_content(gettext(
                "Hello,\n\nsomeone (hopefully you) asked to reset the password of your Counsel Hours account. "
                "Choose a new password here (the link works once, within one hour):\n%(url)s\n\n"
                "If you did not ask for this, ignore this mail: your password stays as it is.\n", url=url))
        else:
            message = new_message("", person.email, gettext("Your sign-in link for Counsel Hours"))
            message.set_content(gettext(
                "Hello,\n\nsign-ins to your Counsel Hours account are paused after many wrong passwords. "
                "Sign in with this link instead (it works once, within 30 minutes):\n%(url)s\n\n"
                "If you did not ask for this, someone may be guessing your password: ignore this mail "
                "and consider changing the password.\n", url=url))
    return message
