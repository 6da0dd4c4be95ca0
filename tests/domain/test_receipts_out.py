"""Receipts by e-mail (through a real local SMTP server) and by SMS (queued for the portal), the
customer's address erased once used, and the handwritten card slip."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.printer import preview
from fiscal.verify import verify_database
from kiosk.common.contact import RecipientError, normalise_email, normalise_mobile
from kiosk.common.money import format_eur
from kiosk.config import ConfigError, load_config
from kiosk.receipts.digital import TicketNumberError, queue_receipt, resend_receipt
from kiosk.receipts.digital_outbox import ReceiptOutbox, SmsRequest
from kiosk.receipts.mailer import MailSettings, SmtpMailer
from kiosk.receipts.manual import ManualSlipError, manual_slip, manual_slip_for
from kiosk.till import Till
from tests.support.broker import free_port
from tests.support.mail import SmtpServer, open_till, rows, sell


@pytest.fixture
def mail_till(data_dir: Path, smtp: SmtpServer) -> Iterator[Till]:
    till = open_till(data_dir, smtp.port)
    yield till
    till.db.close()


def mail_till_error(till: Till) -> str:
    return str(till.db.execute_sql("SELECT last_error FROM receipt_request").fetchone()[0])


def test_addresses_and_numbers_are_checked_with_french_errors() -> None:
    assert normalise_email(" Jeanne.Martin@Exemple.FR ") == "Jeanne.Martin@exemple.fr"
    for wrong, hint in [
        ("jeanne.martin", "un seul @"),
        ("jeanne@exemple", "domaine"),
        ("jeanne martin@exemple.fr", "espace"),
        ("jeanne@@exemple.fr", "un seul @"),
        ("", "Saisissez"),
    ]:
        with pytest.raises(RecipientError, match=hint):
            normalise_email(wrong)
    assert normalise_mobile("06 12 34 56 78") == "+33612345678"
    assert normalise_mobile("07.81.22.33.44") == "+33781223344"
    assert normalise_mobile("+32 470 12 34 56") == "+32470123456"
    with pytest.raises(RecipientError, match="pas un portable"):
        normalise_mobile("04 75 26 00 00")
    with pytest.raises(RecipientError, match="nombre de chiffres"):
        normalise_mobile("06 12 34")
    with pytest.raises(RecipientError, match="portable"):
        normalise_mobile("bonjour")


def test_mail_settings_are_validated_in_french(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[mail]\nport = 0\nsecurity = "tls"\nsender = "caisse"\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    text = str(caught.value)
    assert "mail.port : attendu un port TCP" in text
    assert "mail.security : attendu starttls, ssl ou none" in text
    assert "mail.sender : attendu l'adresse d'expédition" in text
    settings = MailSettings.from_config(load_config())
    assert not settings.configured  # e-mail receipts are off until a server is set
    secret = tmp_path / "secret.toml"
    secret.write_text('[mail]\nhost = "smtp.example.fr"\npassword = "hunter2-secret"\n', "utf-8")
    assert "hunter2-secret" not in repr(MailSettings.from_config(load_config(secret)))


def test_email_receipt_reaches_the_smtp_server_and_the_address_is_erased(
    mail_till: Till, smtp: SmtpServer
) -> None:
    sale = sell(mail_till)
    queued = queue_receipt(mail_till, sale, "email", "Jeanne.Martin@Exemple.fr")
    assert rows(mail_till) == [("email", sale.number, "Jeanne.Martin@exemple.fr", "pending", 0)]
    report = ReceiptOutbox(mail_till.db).send_due_emails(
        SmtpMailer(MailSettings.from_config(mail_till.config))
    )
    assert report.sent == [sale.number] and report.deferred == [] and report.next_due is None
    assert queued.recipient_masked == "J…@exemple.fr"

    [message] = smtp.inbox.messages
    assert smtp.inbox.envelopes == [("caisse@epicerie.example", ["Jeanne.Martin@exemple.fr"])]
    assert message["Subject"] == f"Votre ticket n° {sale.number} - Épicerie-Boulangerie du Marché"
    assert message["To"] == "Jeanne.Martin@exemple.fr"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    total = format_eur(sale.total)
    assert f"ticket de caisse n° {sale.number}" in text and f"d'un montant de {total}" in text
    assert f"Ticket n° {sale.number}" in text and "TOTAL TTC" in text and "n'est pas conservée" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_filename() == f"ticket-{sale.number}.html"
    assert (
        "TOTAL TTC" in attachment.get_content()
        and total.replace("\u202f", " ")[:2] in attachment.get_content()
    )

    # the promise: once sent, the address is gone from the queue (and cannot be put back on a sent row)
    assert rows(mail_till) == [("email", sale.number, None, "sent", 1)]
    conn = mail_till.db.connection()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE receipt_request SET recipient = 'x@y.fr'")
    assert (
        ReceiptOutbox(mail_till.db)
        .send_due_emails(SmtpMailer(MailSettings.from_config(mail_till.config)))
        .sent
        == []
    )
    assert len(smtp.inbox.messages) == 1


def test_server_down_the_email_waits_then_goes_exactly_once(data_dir: Path) -> None:
    server = SmtpServer(free_port())  # nothing listens on this port yet
    till = open_till(data_dir, server.port)
    now = [datetime.now(UTC) + timedelta(seconds=1)]
    outbox = ReceiptOutbox(till.db, now=lambda: now[0])
    mailer = SmtpMailer(MailSettings.from_config(till.config))
    sale = sell(till)
    queue_receipt(till, sale, "email", "client@exemple.fr")

    report = outbox.send_due_emails(mailer)
    assert report.sent == [] and report.deferred[0][0] == sale.number
    assert report.deferred[0][1] == "le serveur de messagerie ne répond pas"
    error = mail_till_error(till)
    assert error.startswith("le serveur de messagerie ne répond pas (ConnectionRefusedError")
    assert report.next_due == now[0] + timedelta(seconds=30)
    assert rows(till) == [("email", sale.number, "client@exemple.fr", "pending", 1)]
    assert outbox.send_due_emails(mailer).deferred == []  # not before its time: no hammering

    now[0] += timedelta(seconds=31)
    second = outbox.send_due_emails(mailer)
    assert second.next_due == now[0] + timedelta(seconds=60)  # the wait grows

    server.start()
    try:
        now[0] += timedelta(seconds=61)
        assert outbox.send_due_emails(mailer).sent == [sale.number]
        now[0] += timedelta(hours=2)
        assert outbox.send_due_emails(mailer).sent == []
        assert len(server.inbox.messages) == 1
        assert rows(till) == [("email", sale.number, None, "sent", 3)]
    finally:
        server.stop()
        till.db.close()


def test_a_send_cut_by_a_stop_is_tried_again_after_restart(mail_till: Till, smtp: SmtpServer) -> None:
    sale = sell(mail_till)
    queue_receipt(mail_till, sale, "email", "client@exemple.fr")
    mail_till.db.execute_sql("UPDATE receipt_request SET state = 'sending'")  # the till stopped mid-send
    outbox = ReceiptOutbox(mail_till.db)
    assert outbox.recover() == 1
    assert outbox.send_due_emails(SmtpMailer(MailSettings.from_config(mail_till.config))).sent == [
        sale.number
    ]
    assert len(smtp.inbox.messages) == 1


def test_malformed_address_or_number_queues_nothing(mail_till: Till) -> None:
    sale = sell(mail_till)
    with pytest.raises(RecipientError, match="Adresse e-mail invalide"):
        queue_receipt(mail_till, sale, "email", "client.exemple.fr")
    with pytest.raises(RecipientError, match="Numéro invalide"):
        queue_receipt(mail_till, sale, "sms", "06 12")
    assert rows(mail_till) == []


def test_a_message_the_server_refuses_for_good_is_not_retried_for_ever(
    mail_till: Till, smtp: SmtpServer
) -> None:
    sale = sell(mail_till)
    queue_receipt(mail_till, sale, "email", "filtre@exemple.fr")
    report = ReceiptOutbox(mail_till.db).send_due_emails(
        SmtpMailer(MailSettings.from_config(mail_till.config))
    )
    assert report.sent == [] and report.deferred == []
    assert report.refused and "imprimez-le" in report.refused[0][1]
    assert rows(mail_till)[0][2:4] == (None, "failed")  # the address erased, never tried again
    assert smtp.inbox.messages == []


def test_email_refused_without_mail_server(till: Till) -> None:
    sale = sell(till)
    with pytest.raises(RecipientError, match="non configuré"):
        queue_receipt(till, sale, "email", "client@exemple.fr")
    assert rows(till) == []


def test_sms_is_queued_normalised_and_the_number_erased_once_handed_over(till: Till) -> None:
    sale = sell(till)
    queue_receipt(till, sale, "sms", "06 12 34 56 78")
    assert rows(till) == [("sms", sale.number, "+33612345678", "pending", 0)]
    outbox = ReceiptOutbox(till.db)

    def broken_uplink(request: SmsRequest) -> None:
        raise RuntimeError("outbox full")

    with pytest.raises(RuntimeError):
        outbox.hand_over_sms(broken_uplink)
    assert rows(till)[0][2:4] == ("+33612345678", "pending")  # nothing lost

    taken: list[SmsRequest] = []
    assert outbox.hand_over_sms(taken.append) == 1
    [request] = taken
    assert request.phone == "+33612345678" and request.ticket == sale.number
    assert f"ticket n° {sale.number}" in request.text and format_eur(sale.total) in request.text
    assert "TOTAL TTC" in request.receipt
    assert rows(till) == [("sms", sale.number, None, "handed", 0)]
    assert outbox.hand_over_sms(taken.append) == 0
    for path in till.data_dir.glob("kiosk.sqlite*"):
        assert b"+33612345678" not in path.read_bytes(), path.name


def test_resend_is_a_journaled_duplicate(mail_till: Till, smtp: SmtpServer) -> None:
    first = sell(mail_till)
    sell(mail_till)
    with pytest.raises(TicketNumberError, match="introuvable"):
        resend_receipt(mail_till, "77", "client@exemple.fr", "Camille")
    with pytest.raises(TicketNumberError, match="invalide"):
        resend_receipt(mail_till, "abc", "client@exemple.fr", "Camille")
    with pytest.raises(RecipientError):
        resend_receipt(mail_till, "1", "client@", "Camille")
    assert rows(mail_till) == []
    assert (
        mail_till.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal = 'DUPLICATE'").fetchone()[
            0
        ]
        == 0
    )

    queued = resend_receipt(mail_till, first.number, "client@exemple.fr", "Camille")
    assert queued.kind == "email" and queued.ticket == first.number
    by_sms = resend_receipt(mail_till, "1", "0612345678", "Camille")
    assert by_sms.kind == "sms"
    ReceiptOutbox(mail_till.db).send_due_emails(SmtpMailer(MailSettings.from_config(mail_till.config)))
    [message] = smtp.inbox.messages
    body = message.get_body(preferencelist=("plain",))
    assert (
        body is not None and "DUPLICATA n°1" in body.get_content() and "(duplicata n°1)" in body.get_content()
    )
    report = verify_database(sqlite3.connect(mail_till.data_dir / "kiosk.sqlite"))
    assert report.ok and report.journals["DUPLICATE"] == 2


def test_manual_card_slip(till: Till) -> None:
    sale = sell(till, card=True)
    text = preview(manual_slip(till, sale))
    assert "TICKET CARTE MANUEL" in text
    assert f"{sale.when:%d/%m/%Y}" in text and sale.number in text
    assert "MONTANT" in text and format_eur(sale.total).replace("\u202f", " ") in text.replace("\u202f", " ")
    assert "Signature du titulaire" in text and "N° de carte" in text and "SIRET" in text
    cash = sell(till)
    with pytest.raises(ManualSlipError, match="pas été payé par carte"):
        manual_slip(till, cash)
    again, _ = manual_slip_for(till, sale.number)
    assert again.number == sale.number


def test_cli_mail_test_status_and_send(data_dir: Path, smtp: SmtpServer) -> None:
    from tests.cli.test_cli import run

    till = open_till(data_dir, smtp.port)
    queue_receipt(till, sell(till), "sms", "0612345678")
    queue_receipt(till, sell(till), "email", "client@exemple.fr")
    till.db.close()

    status = run(data_dir, "mail", "status")
    assert status.returncode == 0 and status.stdout.strip() == (
        "E-mails en attente : 1 ; SMS en attente du portail : 1"
    )
    bad = run(data_dir, "mail", "test", "technicien@")
    assert bad.returncode == 2 and "Adresse e-mail invalide" in bad.stderr
    sent = run(data_dir, "mail", "test", "technicien@exemple.fr")
    assert sent.returncode == 0, sent.stderr
    assert "Message d'essai envoyé à technicien@exemple.fr" in sent.stdout
    assert smtp.inbox.messages[0]["Subject"] == "Essai d'envoi - caisse T01"
    drained = run(data_dir, "mail", "send")
    assert drained.returncode == 0 and drained.stdout.strip() == "Ticket T01-000002 envoyé par e-mail."
    assert [to for _, to in smtp.inbox.envelopes] == [["technicien@exemple.fr"], ["client@exemple.fr"]]
    assert run(data_dir, "mail", "status").stdout.strip().startswith("E-mails en attente : 0")


def test_cli_mail_test_says_when_the_server_is_down(data_dir: Path) -> None:
    from tests.cli.test_cli import run

    open_till(data_dir, free_port()).db.close()
    down = run(data_dir, "mail", "test", "technicien@exemple.fr")
    assert down.returncode == 1
    assert "Échec de l'envoi : le serveur de messagerie ne répond pas (ConnectionRefusedError" in down.stderr
