"""`kiosk mail ...`: check the SMTP settings with a test message, send waiting receipts, count them."""

from __future__ import annotations

import argparse
import sys
from email.message import EmailMessage

from kiosk.common.contact import RecipientError, normalise_email
from kiosk.receipts.digital_outbox import EMAIL, SMS, ReceiptOutbox
from kiosk.receipts.mailer import MailError, MailSettings, SmtpMailer, build_email
from kiosk.till import Till

COMMANDS = ("mail",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    mail = sub.add_parser("mail", help="tickets par e-mail et SMS").add_subparsers(
        dest="action", required=True
    )
    test = mail.add_parser("test", help="envoie un message d'essai (vérifie la section [mail])")
    test.add_argument("address", help="adresse qui doit recevoir l'essai")
    mail.add_parser("send", help="envoie maintenant les tickets par e-mail en attente")
    mail.add_parser("status", help="nombre de tickets par e-mail et SMS en attente")


def _test_message(till: Till, settings: MailSettings, address: str) -> EmailMessage:
    shop = str(till.config.shop.name)
    text = (
        f"Bonjour,\n\nCe message d'essai confirme que la caisse {till.config.till_id} de {shop} "
        "peut envoyer les tickets par e-mail.\n"
    )
    payload = {
        "subject": f"Essai d'envoi - caisse {till.config.till_id}",
        "text": text,
        "html": f"<p>{text}</p>",
        "filename": "essai.html",
    }
    return build_email(settings, payload, address)


def run(till: Till, args: argparse.Namespace) -> int:
    settings = MailSettings.from_config(till.config)
    outbox = ReceiptOutbox(till.db)
    if args.action == "status":
        print(
            f"E-mails en attente : {outbox.pending(EMAIL)} ; SMS en attente du portail : {outbox.pending(SMS)}"
        )
        return 0
    if not settings.configured:
        print("Section [mail] incomplète : renseignez host et sender dans la configuration.", file=sys.stderr)
        return 1
    if args.action == "test":
        try:
            address = normalise_email(args.address)
            SmtpMailer(settings).send(_test_message(till, settings, address))
        except RecipientError as exc:
            print(exc, file=sys.stderr)
            return 2
        except MailError as exc:
            print(f"Échec de l'envoi : {exc.message} ({exc.detail}).", file=sys.stderr)
            return 1
        print(f"Message d'essai envoyé à {address} par {settings.host}:{settings.port}.")
        return 0
    outbox.recover()
    report = outbox.send_due_emails(SmtpMailer(settings))
    for ticket in report.sent:
        print(f"Ticket {ticket} envoyé par e-mail.")
    for ticket, reason in report.refused:
        print(f"Ticket {ticket} non envoyé : {reason}.", file=sys.stderr)
    for ticket, reason in report.deferred:
        print(f"Ticket {ticket} en attente : {reason}, nouvel essai automatique.", file=sys.stderr)
    return 1 if report.deferred or report.refused else 0
