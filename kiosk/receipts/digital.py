"""Sending a sale's receipt by e-mail or SMS: check the recipient, build the message, queue it.

Nothing is queued when the recipient is malformed: the French error says what to fix. A resend is a
journaled duplicate (« DUPLICATA n°k »), like a reprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fiscal.duplicates import find_ticket, record_duplicate
from kiosk.common.contact import RecipientError, mask, normalise_email, normalise_mobile
from kiosk.common.money import format_eur
from kiosk.receipts.digital_outbox import EMAIL, SMS, ReceiptOutbox
from kiosk.receipts.mailer import NOT_CONFIGURED, MailSettings, email_payload
from kiosk.receipts.render import sale_receipt
from kiosk.sale.checkout import CompletedSale

if TYPE_CHECKING:
    from kiosk.till import Till

KIND_LABELS = {EMAIL: "e-mail", SMS: "SMS"}


class TicketNumberError(ValueError):
    """A ticket number that is malformed or unknown (French)."""


@dataclass(frozen=True)
class Queued:
    request_id: int
    kind: str
    ticket: str
    recipient_masked: str


def guess_kind(recipient: str) -> str:
    """An address has an @; anything else is read as a phone number."""
    return EMAIL if "@" in recipient else SMS


def check_recipient(till: Till, kind: str, recipient: str) -> str:
    """The normalised recipient; raises RecipientError (French) when it cannot be used."""
    if kind == EMAIL:
        if not MailSettings.from_config(till.config).configured:
            raise RecipientError(NOT_CONFIGURED)
        return normalise_email(recipient)
    return normalise_mobile(recipient)


def _sms_text(shop: str, sale: CompletedSale) -> str:
    return (
        f"{shop} : ticket n° {sale.number} du {sale.when:%d/%m/%Y à %H:%M}, total {format_eur(sale.total)}. "
        "Merci de votre visite !"
    )


def queue_receipt(
    till: Till, sale: CompletedSale, kind: str, recipient: str, duplicate: int | None = None
) -> Queued:
    """Queue the receipt of `sale` for `recipient`; raises RecipientError and then queues nothing."""
    address = check_recipient(till, kind, recipient)
    receipt = till.render(sale_receipt(till.config, sale, duplicate=duplicate)).text
    shop = str(till.config.shop.name)
    if kind == EMAIL:
        payload = email_payload(
            shop, sale.number, f"{sale.when:%d/%m/%Y à %H:%M}", format_eur(sale.total), receipt, duplicate
        )
    else:
        payload = {"text": _sms_text(shop, sale), "receipt": receipt}
    request_id = ReceiptOutbox(till.db).request(kind, sale.number, address, payload)
    if kind != EMAIL:
        for hand_over in till.sms_handovers:
            hand_over()  # to the portal's SMS gateway, through the outbox; the number leaves the till
    return Queued(request_id, kind, sale.number, mask(address))


def parse_ticket_number(till: Till, text: str) -> int:
    """The ticket's sequence number from « 42 » or « T01-000042 »; raises TicketNumberError (French)."""
    digits = text.strip().rsplit("-", 1)[-1]
    if not digits.isdigit() or int(digits) == 0:
        raise TicketNumberError(
            f"Numéro de ticket invalide « {text.strip()} » : tapez par exemple 42 ou "
            f"{till.config.till_id}-000042 (imprimé sur le ticket)."
        )
    if find_ticket(till.db.connection(), till.ledger.till, int(digits)) is None:
        raise TicketNumberError(
            f"Ticket n°{int(digits)} introuvable : vérifiez le numéro imprimé sur le ticket."
        )
    return int(digits)


def resend_receipt(till: Till, ticket_text: str, recipient: str, user: str) -> Queued:
    """Send an earlier ticket again (journaled as a duplicate); the kind follows the recipient's form."""
    seq = parse_ticket_number(till, ticket_text)
    kind = guess_kind(recipient)
    check_recipient(till, kind, recipient)  # refuse before a duplicate is journaled
    ticket, _, copy = record_duplicate(till.ledger, till.db.connection(), seq, user)
    return queue_receipt(till, CompletedSale.from_record(ticket), kind, recipient, duplicate=copy)
