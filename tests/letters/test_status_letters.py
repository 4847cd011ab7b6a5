"""Status letters: the draft from seeded calls and notes in both languages, sending over
real SMTP (aiosmtpd) settles that client's status day, early sending counts, the client's
letters behind their own token only, and the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from booking.status_updates import DUE, SOON
from service.storage.models import OutboxTask, StatusLetter
from service.usecases import letters, status_updates
from tests.admin.conftest import post
from tests.letters.conftest import add_booking

pytestmark = pytest.mark.db_matrix

MON, WED = 0, 2
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)  # Monday, conftest's frozen "now"


def seed_calls(db, client):
    add_booking(db, client, datetime(2026, 2, 17, 15, tzinfo=UTC), agenda="Lease clause 4",
                notes="Landlord offered 3 months' rent.", for_letter=True)
    add_booking(db, client, datetime(2026, 2, 24, 15, tzinfo=UTC), agenda="Counter-offer",
                notes="Private: client seemed unsure.", for_letter=False)
    add_booking(db, client, datetime(2026, 2, 26, 15, tzinfo=UTC), agenda="Never happened", outcome="no_show")
    add_booking(db, client, datetime(2026, 2, 27, 15, tzinfo=UTC), agenda="Cancelled one", status="cancelled")
    add_booking(db, client, datetime(2026, 3, 4, 13, tzinfo=UTC), agenda="Signing")


def test_draft_in_english_lists_calls_marked_notes_and_upcoming(frozen, db, agreed):
    client, _ = agreed(status_day=MON, matter="Petrov v. Nordbau")
    seed_calls(db, client)
    text = letters.draft(client, NOW).replace("\u202f", " ")
    assert text.startswith("Dear Boris Petrov,")
    assert "status of Petrov v. Nordbau for February 1, 2026 – March 2, 2026" in text
    assert "- February 17, 2026: Lease clause 4\n- February 24, 2026: Counter-offer\n" in text
    assert "Landlord offered 3 months' rent." in text
    assert "client seemed unsure" not in text  # notes not marked for the letter stay private
    assert "Never happened" not in text and "Cancelled one" not in text
    assert "Coming up:\n- Wednesday, March 4, 2026, 2:00" in text  # Berlin time
    assert text.rstrip().endswith("Anna Keller")


def test_draft_in_russian_uses_russian_template_and_dates(frozen, db, agreed):
    client, _ = agreed(status_day=MON, matter="Петров против Нордбау", language="ru")
    seed_calls(db, client)
    text = letters.draft(client, NOW).replace("\u202f", " ")
    assert text.startswith("Здравствуйте, Boris Petrov!")
    assert "«Петров против Нордбау» за период с 1 февраля 2026 г. по 2 марта 2026 г." in text
    assert "Состоявшиеся консультации:\n- 17 февраля 2026 г.: Lease clause 4" in text
    assert "Промежуточные итоги и дальнейшие шаги:" in text and "Landlord offered" in text
    assert "Предстоящие консультации:\n- среда, 4 марта 2026 г." in text


def test_draft_covers_only_the_period_since_the_last_letter(frozen, db, agreed):
    client, _ = agreed(status_day=MON)
    seed_calls(db, client)
    letters.send(client, "Earlier letter", datetime(2026, 2, 20, 9, tzinfo=UTC))
    db.session.commit()
    text = letters.draft(client, NOW)
    assert "Lease clause 4" not in text and "Counter-offer" in text
    assert "February 20, 2026 – March 2, 2026" in text


def test_empty_sections_disappear_and_lawyer_template_is_used(frozen, db, agreed, lawyer):
    client, _ = agreed(status_day=MON)
    letters.set_template(lawyer, "en", "Hi {{client}}\n[[calls]]Calls:\n{{calls}}\n[[/calls]]Bye {{lawyer}}")
    db.session.commit()
    assert letters.draft(client, NOW) == "Hi Boris Petrov\nBye Anna Keller\n"


def test_sending_over_smtp_settles_only_that_clients_status_day(frozen, db, agreed, smtp, lawyer):
    boris, _ = agreed(status_day=MON, matter="Lease")
    vera, _ = agreed(name="Vera Ivanova", email="vera@client.example", status_day=MON)
    assert {o.client.id for o in status_updates.owed_updates(lawyer, NOW)} == {boris.id, vera.id}

    from service.jobs import status_letters
    letter, mailed = status_letters.send_now(boris, "Dear Boris,\r\nall is on track.\n", NOW)
    assert mailed
    (message,) = smtp.to("boris@client.example")
    assert message["Subject"] == "Status update: Lease"
    assert message["Reply-To"] == "Anna Keller <anna0@counsel.example>"
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Boris,\nall is on track.\n")
    assert "/b/" in body and "/letters" in body
    assert not smtp.to("vera@client.example")

    stored = db.session.get(StatusLetter, letter.id)
    assert stored.body == "Dear Boris,\nall is on track.\n" and stored.sent_at == NOW
    assert stored.due_on == date(2026, 3, 2)
    owed = status_updates.owed_updates(lawyer, NOW)
    assert [(o.client.id, o.state) for o in owed] == [(vera.id, DUE)]


def test_a_failed_mail_is_kept_and_retried_by_the_worker(frozen, db, agreed, smtp, app, lawyer):
    boris, _ = agreed(status_day=MON)
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nothing listens there
    from service.jobs import status_letters, worker
    letter, mailed = status_letters.send_now(boris, "Text", NOW)
    assert not mailed and not smtp.messages
    assert db.session.get(StatusLetter, letter.id) is not None  # stored all the same
    task = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == letters.MAIL_KIND))
    assert task.status == "pending" and task.attempts == 1
    app.config["SMTP_PORT"] = port
    frozen.move_to(task.due_at)
    assert worker.run_once()["done"] == 1
    assert len(smtp.to("boris@client.example")) == 1


def test_sending_early_counts_for_the_coming_status_day(frozen, db, make_client, lawyer, smtp):
    boris, _ = make_client(lawyer=lawyer, status_day=WED)  # agreed today: Wednesday is the first
    assert [(o.state, o.due_on) for o in status_updates.owed_updates(lawyer, NOW)] == [(SOON, date(2026, 3, 4))]
    letters.send(boris, "Early", NOW)
    db.session.commit()
    frozen.move_to("2026-03-04 12:00:00")
    assert status_updates.owed_updates(lawyer, datetime(2026, 3, 4, 12, tzinfo=UTC)) == []
    assert letters.next_letter_due(boris, datetime(2026, 3, 4, 12, tzinfo=UTC)) == date(2026, 3, 11)


def test_dashboard_offers_the_draft_and_sends_the_edited_text(frozen, admin, db, agreed, smtp, lawyer):
    boris, _ = agreed(status_day=MON)
    add_booking(db, boris, datetime(2026, 2, 24, 15, tzinfo=UTC), agenda="Counter <offer>")
    dashboard = admin.get("/admin/").get_data(as_text=True)
    assert f"/admin/clients/{boris.id}/letter" in dashboard
    page = admin.get(f"/admin/clients/{boris.id}/letter").get_data(as_text=True)
    assert "Counter &lt;offer&gt;" in page and "Dear Boris Petrov," in page
    response = post(admin, f"/admin/clients/{boris.id}/letter", {"text": "Edited by me."})
    assert response.status_code == 302
    (message,) = smtp.to("boris@client.example")
    assert message.get_body(("plain",)).get_content().startswith("Edited by me.\r\n")
    assert status_updates.owed_updates(lawyer, NOW) == []


def test_an_empty_letter_is_refused_and_nothing_is_written(frozen, admin, db, agreed, smtp):
    boris, _ = agreed(status_day=MON)
    response = post(admin, f"/admin/clients/{boris.id}/letter", {"text": "  \r\n "})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(StatusLetter.id))) == 0
    db.session.refresh(boris)
    assert boris.status_updated_on is None and not smtp.messages


def test_another_lawyers_client_letter_page_is_404(frozen, admin, make_lawyer, make_client, db):
    other, _ = make_client(lawyer=make_lawyer())
    assert admin.get(f"/admin/clients/{other.id}/letter").status_code == 404
    assert post(admin, f"/admin/clients/{other.id}/letter", {"text": "x"}).status_code == 404


def test_notes_marked_for_the_letter_from_the_dashboard(frozen, admin, db, agreed):
    boris, _ = agreed(status_day=MON)
    past = add_booking(db, boris, datetime(2026, 2, 27, 10, tzinfo=UTC), agenda="Deposit")
    post(admin, f"/admin/bookings/{past.id}/notes", {"notes": "Deposit returned.", "for_letter": "y"})
    db.session.refresh(past)
    assert past.for_letter
    assert "Deposit returned." in letters.draft(boris, NOW)


def test_letter_links_of_one_client_never_open_anothers(frozen, client, db, agreed, lawyer):
    boris, boris_token = agreed(status_day=MON)
    vera, vera_token = agreed(name="Vera Ivanova", email="vera@client.example", status_day=MON)
    boris_letter, _ = letters.send(boris, "For Boris only", NOW)
    vera_letter, _ = letters.send(vera, "For Vera only", NOW)
    db.session.commit()

    page = client.get(f"/b/{boris_token}").get_data(as_text=True)
    assert f"/b/{boris_token}/letters" in page
    assert 'data-next-letter="2026-03-09"' in page
    own = client.get(f"/b/{boris_token}/letters/{boris_letter.id}")
    assert own.status_code == 200 and "For Boris only" in own.get_data(as_text=True)
    listing = client.get(f"/b/{boris_token}/letters").get_data(as_text=True)
    assert f'data-letter-link="{boris_letter.id}"' in listing and "For Vera" not in listing
    crossed = client.get(f"/b/{boris_token}/letters/{vera_letter.id}")
    assert crossed.status_code == 404 and "For Vera only" not in crossed.get_data(as_text=True)
    assert client.get(f"/b/{vera_token}/letters/{boris_letter.id}").status_code == 404
    assert client.get("/b/not-a-real-token-at-all-xxxx/letters").status_code == 404


def test_a_callback_link_does_not_open_the_letters(frozen, client, db, agreed):
    from service.usecases import clients as client_cases

    boris, _ = agreed(status_day=MON)
    letter, _ = letters.send(boris, "Private", NOW)
    _link, callback_token = client_cases.create_callback(boris, 24, NOW)
    db.session.commit()
    assert client.get(f"/b/{callback_token}/letters/{letter.id}").status_code == 404
    page = client.get(f"/b/{callback_token}").get_data(as_text=True)
    assert "/letters" not in page


def test_cli_draft_and_send(frozen, runner, db, agreed, smtp, tmp_path, lawyer):
    boris, _ = agreed(status_day=MON, language="ru")
    add_booking(db, boris, datetime(2026, 2, 24, 15, tzinfo=UTC), agenda="Встречный иск")
    result = runner.invoke(args=["status-letter", "draft", "--client", str(boris.id)])
    assert result.exit_code == 0 and "Встречный иск" in result.output
    letter_file = tmp_path / "letter.txt"
    letter_file.write_text("Уважаемый Борис!\nВсё идёт по плану.\n", encoding="utf-8")
    result = runner.invoke(args=["status-letter", "send", "--client", str(boris.id), "--file", str(letter_file)])
    assert result.exit_code == 0, result.output
    letter_id = int(result.output.split()[-1])
    assert db.session.get(StatusLetter, letter_id).body == "Уважаемый Борис!\nВсё идёт по плану.\n"
    (message,) = smtp.to("boris@client.example")
    assert message["Subject"] == "О ходе дела: письмо от Anna Keller"
    assert status_updates.owed_updates(lawyer, NOW) == []


def test_cli_send_refuses_bad_input_with_one_line(frozen, runner, db, agreed, tmp_path):
    boris, _ = agreed(status_day=MON)
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    for args, words in (
        (["--client", "999", "--file", str(empty)], "no client with id 999"),
        (["--client", str(boris.id), "--file", str(tmp_path / "missing.txt")], "cannot be read"),
        (["--client", str(boris.id), "--file", str(empty)], "empty"),
        (["--client", str(boris.id), "--file", str(binary)], "not UTF-8"),
    ):
        result = runner.invoke(args=["status-letter", "send", *args])
        assert result.exit_code != 0 and words in result.output, result.output
        assert "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count(StatusLetter.id))) == 0


def test_notify_status_due_still_mails_the_digest(frozen, runner, db, agreed, smtp, lawyer):
    agreed(status_day=MON)
    result = runner.invoke(args=["notify", "status-due"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert len(smtp.to(lawyer.email)) == 1
