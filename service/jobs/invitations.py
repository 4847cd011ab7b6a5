"""The invitation mail (outbox kind ``mail.invitation``): the one-time link to join a firm.

The task carries the link's token encrypted (``token_enc``), never in clear text; a
used or expired invitation is not mailed.
"""

from __future__ import annotations

from flask_babel import force_locale, gettext

from service.core.crypto import decrypt
from service.jobs.mail import new_message, send
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Invitation, Lawyer, utcnow
from service.usecases import firms


@outbox.handler("mail.invitation")
def invitation_mail(payload: dict) -> None:
    invitation = db.session.get(Invitation, payload.get("invitation_id"))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        return
    url = firms.invitation_url(decrypt(payload["token_enc"]))
    lawyer = db.session.get(Lawyer, invitation.lawyer_id) if invitation.lawyer_id else None
    language = lawyer.language if lawyer is not None else "en"
    with force_locale(language):
        message = new_message("", invitation.email,
                              gettext("Invitation to %(firm)s on Counsel Hours", firm=invitation.firm.name))
        message.set_content(gettext(
            "Hello,\n\nyou are invited to join %(firm)s on Counsel Hours. Choose your password here "
            "(the link works once, within seven days):\n%(url)s\n", firm=invitation.firm.name, url=url))
    send(message)
