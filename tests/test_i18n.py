"""Russian and English everywhere: complete catalogs, nothing left unextracted, compiled
catalogs up to date, and every template rendered in both languages without a string
left in the other language."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("en", "ru")


def catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def extracted_ids() -> set:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    keywords = dict(DEFAULT_KEYWORDS) | {"lazy_gettext": None, "_l": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang):
    untranslated = [
        m.id for m in catalog(lang)
        if m.id and (not all(m.string) if isinstance(m.string, list | tuple) else not m.string)
    ]
    fuzzy = [m.id for m in catalog(lang) if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalog_has_every_string_in_the_code(lang):
    ids = {m.id[0] if isinstance(m.id, list | tuple) else m.id for m in catalog(lang) if m.id}
    missing = extracted_ids() - ids
    assert missing == set(), "run `make translations-update` and translate the new strings"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    source = {_key(m.id): _key(m.string) for m in catalog(lang) if m.id}
    assert compiled == source, "run `make translations` and commit the .mo files"


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_russian_plurals_have_three_forms():
    ru = catalog("ru")
    assert ru.num_plurals == 3
    for m in ru:
        if isinstance(m.id, tuple):
            assert len(m.string) == 3 and all(m.string), m.id


# -- rendering every template in both languages ------------------------------------------


class Text(HTMLParser):
    """Visible text and the human-readable attributes of an HTML page."""

    ATTRS = {"title", "aria-label", "placeholder", "alt"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in self.ATTRS and value:
                self.parts.append(value)

    def handle_data(self, data):
        if data.strip():
            self.parts.append(data.strip())


def visible_text(body: str, html: bool = True) -> list[str]:
    if not html:
        return [line for line in body.splitlines() if line.strip()]
    parser = Text()
    parser.feed(body)
    return parser.parts


def english_fragments() -> list[re.Pattern]:
    """Pieces of every English msgid whose Russian text differs (placeholders cut out)."""
    ru = catalog("ru")
    patterns = []
    for m in ru:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in ids:
            for piece in re.split(r"%\(\w+\)[sd]|\n", text):
                piece = piece.strip(" .,:;()—–-")
                if len(re.findall(r"[A-Za-z]", piece)) >= 4 and not any(piece in s for s in strings):
                    patterns.append(re.compile(r"(?<![A-Za-z])" + re.escape(piece) + r"(?![A-Za-z])"))
    return patterns


def all_templates() -> set[str]:
    base = ROOT / "templates"
    names = set()
    for path in base.rglob("*"):
        rel = path.relative_to(base).as_posix()
        if path.is_file() and not rel.startswith("static/"):
            names.add(rel)
    return names


DATA = {
    "ru": {"name": "Борис Петров", "email": "boris@client.example", "matter": "Аренда, Петров против «Нордбау»",
           "agenda": "Ответ арендодателя; пункт 4", "notes": "Предложить встречный вариант."},
    "en": {"name": "Clara Schmidt", "email": "clara@client.example", "matter": "Company formation",
           "agenda": "Articles of association; clause 4", "notes": "Send the draft by Friday."},
}


@pytest.fixture
def rendered(app, monkeypatch):
    """Every template Jinja loads (pages, the layouts they extend, the partials they include)."""
    names: list[str] = []
    loader = app.jinja_env.loader
    original = loader.get_source

    def get_source(environment, template):
        names.append(template)
        return original(environment, template)

    monkeypatch.setattr(loader, "get_source", get_source)
    return names


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_in_both_languages_has_no_string_of_the_other(
    lang, frozen, app, client, make_lawyer, make_client, db, rendered
):
    from werkzeug.security import generate_password_hash

    from service.jobs import mail, notify
    from service.storage.models import Booking, Calendar, CalendarAccount, Intake, OutboxTask
    from service.usecases import status_updates
    from tests.admin.conftest import csrf_token, log_in

    data = DATA[lang]
    lawyer = make_lawyer(password_hash=generate_password_hash("pw-for-the-walk", method="scrypt:1024:8:1"),
                         max_per_day=4, max_per_week=10, language=lang)
    person, token = make_client(lawyer=lawyer, name=data["name"], email=data["email"], matter=data["matter"],
                                language=lang, status_day=0, max_per_week=2, max_per_month=6, note="")
    person.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    past = Booking(uid=secrets.token_hex(16), lawyer_id=lawyer.id, client_id=person.id,
                   start=datetime(2026, 2, 27, 9, tzinfo=UTC), end=datetime(2026, 2, 27, 9, 30, tzinfo=UTC),
                   blocked_start=datetime(2026, 2, 27, 8, 30, tzinfo=UTC), blocked_end=datetime(2026, 2, 27, 9, 30, tzinfo=UTC),
                   name=data["name"], email=data["email"], agenda=data["agenda"], notes=data["notes"],
                   manage_token_hash=secrets.token_hex(32), manage_token_enc="x")
    db.session.add(past)
    intake = Intake(lawyer=lawyer, slug=f"first-{lang}", title=data["matter"], language=lang,
                    windows="wed 14:00-16:00", duration_min=30, prep_min=30, notice_hours=24, horizon_days=30)
    db.session.add(intake)
    account = CalendarAccount(lawyer_id=lawyer.id, kind="caldav", label="dav.example", config={},
                              last_error="HTTP 401 Unauthorized")
    account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id="work", name="Office", conflict=False,
                                      last_error="Read timed out"))
    db.session.add(account)
    db.session.add(OutboxTask(kind="mail.booking", payload={"to": "client"}, lawyer_id=lawyer.id, status="dead",
                              attempts=8, last_error="SMTP 554"))
    db.session.commit()

    pages: list[tuple[str, str]] = []  # (what, text)

    def get(path, **kwargs):
        response = client.get(path, headers={"Accept-Language": lang}, **kwargs)
        assert response.status_code < 500, path
        pages.append((path, response.get_data(as_text=True)))
        return response

    # The client's side (language from the agreement).
    booking_page = get(f"/b/{token}").get_data(as_text=True)
    start = re.search(r'data-slot-start="([^"]+)"', booking_page).group(1)
    booked = client.post("/api/v1/bookings", json={"token": token, "start": start, "name": data["name"],
                                                    "email": data["email"], "agenda": data["agenda"]}).get_json()
    assert "manage_url" in booked, booked
    manage_path = booked["manage_url"].removeprefix("http://counsel.test")
    get(manage_path)
    get("/embed" + manage_path)
    get(f"/embed/b/{token}")
    get(f"/i/{intake.slug}")
    get(f"/b/{'x' * 30}")  # the error page
    pages.append(("invite.ics", client.get(manage_path + "/invite.ics").get_data(as_text=True)))

    # A client's request for a change (#13), shown on the dashboard and mailed.
    from service.storage.models import ChangeRequest

    asked = ChangeRequest(booking_id=db.session.query(Booking.id).filter(Booking.uid == booked["uid"]).scalar(),
                          lawyer_id=lawyer.id, message=data["notes"], created_at=datetime(2026, 3, 2, 8, tzinfo=UTC))
    db.session.add(asked)
    db.session.commit()

    # The lawyer's side (language from Accept-Language).
    get("/admin/login")
    assert log_in(client, lawyer.email, "pw-for-the-walk", headers={"Accept-Language": lang}).status_code == 302
    for path in ("/admin/", "/admin/week?date=2026-03-02", "/admin/week?date=2026-03-29", "/admin/clients",
                 "/admin/clients?show=archived", f"/admin/clients/{person.id}", f"/admin/clients/{person.id}/edit",
                 "/admin/clients/new", "/admin/calendars", "/admin/settings",
                 "/admin/practice", "/admin/intakes", "/admin/intakes/new", f"/admin/intakes/{intake.id}/edit"):
        get(path)
    # Firm, people, audit, privacy (#17): the lawyer administers the default firm.
    from service.storage.models import Firm
    from service.usecases import firms

    lawyer.firm_admin = True
    firm = db.session.get(Firm, lawyer.firm_id)
    firm.retention_days = 30
    setattr(firm, f"privacy_text_{lang}", {"ru": "Обрабатываем данные для консультации.",
                                           "en": "We process data for the consultation."}[lang])
    firm.privacy_version, firm.consent_required = 1, True
    invited = firms.invite(firm, f"clerk-{lang}@firm.example", "assistant", lawyer, datetime(2026, 3, 2, 8, tzinfo=UTC))
    db.session.commit()
    for path in ("/admin/audit", "/admin/audit?scope=firm", "/admin/people", "/admin/firm/settings",
                 "/admin/privacy", f"/admin/clients/{person.id}/erase", f"/f/{firm.slug}",
                 invited.url.removeprefix("http://counsel.test")):
        get(path)
    assistant_http = app.test_client()
    clerk = firms.accept(invited.url.rsplit("/", 1)[-1], "Clerk", "pw-for-the-walk-2", "", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert log_in(assistant_http, clerk.email, "pw-for-the-walk-2").status_code == 302
    response = assistant_http.get("/admin/account", headers={"Accept-Language": lang})
    pages.append(("/admin/account", response.get_data(as_text=True)))
    # Editing people; the ways back in: forgot password, the reset and sign-in links (#12, #17).
    get(f"/admin/people/lawyers/{lawyer.id}/edit")
    get(f"/admin/people/{clerk.id}/edit")
    from service.jobs import sign_in_mail
    from service.usecases import signin

    anonymous = app.test_client()
    for path in ("/admin/forgot", "/admin/reset/no-such-link"):
        response = anonymous.get(path, headers={"Accept-Language": lang})
        pages.append((path, response.get_data(as_text=True)))
    sent = anonymous.post("/admin/forgot", headers={"Accept-Language": lang},
                          data={"email": clerk.email, "csrf_token": csrf_token(anonymous, "/admin/forgot")})
    pages.append(("forgot sent", sent.get_data(as_text=True)))
    for purpose in signin.PURPOSES:
        url = signin.make_link(clerk.email, purpose, datetime.now(UTC))
        db.session.commit()
        response = anonymous.get(url.removeprefix("http://counsel.test"), headers={"Accept-Language": lang})
        pages.append((purpose, response.get_data(as_text=True)))
        clerk.language = lang
        pages.append((f"{purpose} mail", client_mail_text(sign_in_mail.link_message(purpose, clerk, url))))
    callback = client.post(f"/admin/clients/{person.id}/callback", headers={"Accept-Language": lang},
                           data={"hours": "24", "csrf_token": csrf_token(client, "/admin/")})
    pages.append(("callback", callback.get_data(as_text=True)))
    # Status letters (#15): the draft page, the template page, the client's letters, the mail.
    from service.jobs import status_letters
    from service.usecases import letters

    get(f"/admin/clients/{person.id}/letter")
    from service.storage.models import UrgentRequest
    urgent_request = UrgentRequest(client_id=person.id, deadline=datetime(2026, 3, 4, 23, tzinfo=UTC),
                                   reason=data["agenda"], status="pending", created_at=datetime(2026, 3, 2, tzinfo=UTC))
    db.session.add(urgent_request)
    db.session.commit()
    assert "data-urgent-requests" in get("/admin/").get_data(as_text=True)
    get("/admin/letters/template")
    get("/admin/load")
    # A 400 page from the admin side.
    get("/admin/week?date=nonsense")
    # The lawyer's calls (#13): the booking form with its errors, the call's page, the confirmation.
    booked_id = db.session.query(Booking.id).filter(Booking.uid == booked["uid"]).scalar()
    get(f"/admin/bookings/{booked_id}")
    for path, form in ((f"/admin/clients/{person.id}/book", {"day": "", "time": "", "agenda": ""}),
                       (f"/admin/bookings/{booked_id}/cancel", {"reason": data["notes"][:100]}),
                       (f"/admin/clients/{person.id}/regenerate-link", {})):
        posted = client.post(path, headers={"Accept-Language": lang},
                             data={**form, "csrf_token": csrf_token(client, "/admin/")})
        pages.append((path, posted.get_data(as_text=True)))

    # A new visitor of the intake (issue #12): the hold, the confirmation, the request.
    from service.jobs import intake_mail
    from service.storage.models import token_hash
    from service.usecases import intake_holds

    intake_page = get(f"/i/{intake.slug}").get_data(as_text=True)
    held = client.post(f"/i/{intake.slug}", headers={"Accept-Language": lang}, data={
        "form_token": re.search(r'name="form_token" value="([^"]+)"', intake_page).group(1),
        "start": re.search(r'data-slot-start="([^"]+)"', intake_page).group(1),
        "name": data["name"], "email": "visitor@example.org", "agenda": data["agenda"],
        "consent": "on"})  # the walk's firm asks for consent (#17)
    assert held.status_code == 303, held.get_data(as_text=True)
    get(held.headers["Location"].removeprefix("http://counsel.test"))  # "please confirm"
    visit = db.session.scalar(sa.select(Booking).where(Booking.status == "pending"))
    visit.confirm_token_hash = token_hash("walk-confirm-token")
    lawyer.approve_new_clients = True
    db.session.commit()
    get("/i/confirm/walk-confirm-token")
    with app.test_request_context(headers={"Accept-Language": "ru" if lang == "en" else "en"}):
        pages.append(("intake confirm mail", client_mail_text(intake_mail.confirm_message(visit, "t"))))
    visit.status = "requested"
    db.session.commit()
    get(held.headers["Location"].removeprefix("http://counsel.test"))  # "request sent"
    get("/admin/")  # the request on the dashboard
    with app.test_request_context(headers={"Accept-Language": "ru" if lang == "en" else "en"}):
        pages.append(("intake request mail", client_mail_text(intake_mail.requested_message(visit))))
        intake_holds.decline(visit, datetime(2026, 3, 2, 8, tzinfo=UTC))
        pages.append(("intake declined mail", client_mail_text(intake_mail.declined_message(visit))))
    db.session.rollback()

    # Mail, in the recipient's language.
    booking = db.session.get(Booking, db.session.query(Booking.id).filter(Booking.uid == booked["uid"]).scalar())
    with app.test_request_context(headers={"Accept-Language": "ru" if lang == "en" else "en"}):
        from service.jobs import reminders

        for which in ("long", "short"):
            reminder = reminders.reminder_message(booking, which)
            pages.append((f"reminder {which}", reminder["Subject"] + "\n" + reminder.get_content()))
        brief = reminders.prep_message(booking)
        pages.append(("prep brief", brief["Subject"] + "\n" + brief.get_content()))
        for event in ("booked", "rescheduled", "cancelled", "changed"):
            pages.append((f"client mail {event}", client_mail_text(mail.client_message(booking, event))))
            pages.append((f"lawyer mail {event}", mail.lawyer_message(booking, event).get_content()))
        from service.jobs.change_mail import change_request_message

        pages.append(("change request mail", change_request_message(asked).get_content()))
        owed = status_updates.owed_updates(lawyer, datetime(2026, 3, 2, 8, tzinfo=UTC))
        assert owed
        digest = notify.digest_message(lawyer, owed, date(2026, 3, 2))
        pages.append(("digest", digest["Subject"] + "\n" + digest.get_content()))
        account = CalendarAccount(lawyer_id=lawyer.id, kind="caldav", label="Office", config={},
                                  broken=True, last_error="401")
        db.session.add(account)
        db.session.flush()
        broken = mail.calendar_broken_message(account)
        pages.append(("calendar broken", broken["Subject"] + "\n" + broken.get_content()))
        letter, _task = letters.send(person, letters.draft(person, datetime(2026, 3, 2, 8, tzinfo=UTC)),
                                     datetime(2026, 3, 2, 8, tzinfo=UTC))
        db.session.commit()
        sent = status_letters.letter_message(letter)
        pages.append(("status letter", sent["Subject"] + "\n" + sent.get_content()))
        notice = status_letters.urgent_message(urgent_request)
        pages.append(("urgent request", notice["Subject"] + "\n" + notice.get_content()))
    get(f"/b/{token}/letters/{letter.id}")

    missing = all_templates() - set(rendered)
    assert missing == set(), f"templates not walked: {sorted(missing)}"

    assert len(pages) >= 27
    if lang == "ru":
        fragments = english_fragments()
        dashboard = dict(pages)["/admin/"]
        assert "Ближайшие звонки" in dashboard
        # The detector itself: the English dashboard would be caught.
        assert any(p.search(t) for t in visible_text(dashboard.replace("Ближайшие звонки", "Upcoming calls"))
                   for p in fragments)
        problems = []
        for what, body in pages:
            html = body.lstrip().startswith("<!doctype")
            for text in visible_text(body, html):
                for pattern in fragments:
                    if pattern.search(text):
                        problems.append((what, pattern.pattern, text[:120]))
        assert problems == [], "\n".join(map(str, problems))
    else:
        cyrillic = [(what, line[:120]) for what, body in pages for line in visible_text(body, "<!doctype" in body)
                    if re.search(r"[А-Яа-яЁё]", line) and "Русский" not in line]
        assert cyrillic == []


def client_mail_text(message) -> str:
    parts = [message["Subject"]]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def test_error_page_follows_accept_language(client):
    ru = client.get("/nowhere", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    assert "Такой страницы не существует." in ru and 'lang="ru"' in ru
    en = client.get("/nowhere", headers={"Accept-Language": "de, en;q=0.5"}).get_data(as_text=True)
    assert "This page does not exist." in en


def test_client_page_speaks_the_agreed_language_whatever_the_browser(frozen, client, make_client):
    _, token = make_client(language="ru")
    page = client.get(f"/b/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "О чём мы договорились" in page and "среда, 4 марта" in page


def test_dates_are_formatted_per_locale(frozen, app):
    from flask_babel import force_locale

    from service.usecases.wording import format_date, format_datetime

    with app.test_request_context():
        with force_locale("ru"):
            assert format_date(date(2026, 3, 6)) == "пятница, 6 марта 2026\u202fг."
        with force_locale("en"):
            assert format_date(date(2026, 3, 6)) == "Friday, March 6, 2026"
            assert format_datetime(datetime(2026, 3, 6, 15, tzinfo=UTC) + timedelta(0)) == "Mar 6, 2026, 3:00\u202fPM"


def test_form_validation_messages_are_russian_too(app, client, make_lawyer):
    from werkzeug.security import generate_password_hash

    from tests.admin.conftest import csrf_token, log_in

    lawyer = make_lawyer(password_hash=generate_password_hash("pw-for-the-walk", method="scrypt:1024:8:1"))
    ru = {"Accept-Language": "ru"}
    log_in(client, lawyer.email, "pw-for-the-walk", headers=ru)
    response = client.post("/admin/clients/new", headers=ru, data={
        "csrf_token": csrf_token(client, "/admin/"), "name": "", "email": "not-an-address", "language": "ru",
        "duration_min": "0", "prep_min": "x", "buffer_min": "0", "notice_hours": "24", "horizon_days": "30",
        "windows-0-weekday": "1", "windows-0-start": "10:00", "windows-0-end": "11:00"})
    assert response.status_code == 422
    errors = re.findall(r'class="field-error">([^<]+)<', response.get_data(as_text=True))
    assert len(errors) >= 4
    assert all(re.search(r"[А-Яа-я]", e) for e in errors), errors
