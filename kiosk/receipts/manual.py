"""« Ticket manuel »: the slip for an international swipe card, copied by hand and signed by the holder.

Such cards leave no terminal ticket with the holder's signature; in a dispute the bank asks for the paper
ticket signed by the holder. The slip says what to copy and leaves room for the card details.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.printer import Columns, Document, Feed, Rule, Text
from kiosk.common.money import format_eur
from kiosk.receipts.digital import TicketNumberError, parse_ticket_number
from kiosk.receipts.render import shop_header
from kiosk.sale.checkout import CompletedSale

if TYPE_CHECKING:
    from kiosk.till import Till

CARD_TENDERS = ("card",)


class ManualSlipError(ValueError):
    """The sale has no card payment to write a slip for (French)."""


def card_amount(sale: CompletedSale) -> int:
    return sum(int(t["amount"]) for t in sale.body["tenders"] if t["type"] in CARD_TENDERS)


def manual_slip(till: Till, sale: CompletedSale) -> Document:
    """The slip of the card payment of `sale`; raises ManualSlipError if it was not paid by card."""
    amount = card_amount(sale)
    if amount <= 0:
        raise ManualSlipError(
            f"Le ticket n° {sale.number} n'a pas été payé par carte : pas de ticket manuel à établir."
        )
    config = till.config
    doc = shop_header(config)
    doc += [
        Rule(),
        Text("TICKET CARTE MANUEL", align="center", bold=True, double=True),
        Text("Carte internationale à piste", align="center"),
        Rule(),
        Text("Recopiez ces éléments sur papier et faites signer le titulaire de la carte :"),
        Columns("Commerçant", str(config.shop.name)),
        Columns("SIRET", str(config.shop.siret)),
        Columns("Caisse", config.till_id),
        Columns("Ticket de caisse n°", sale.number),
        Columns("Date", f"{sale.when:%d/%m/%Y}"),
        Columns("Heure", f"{sale.when:%H:%M}"),
        Columns("Opération", "DÉBIT"),
        Columns("MONTANT", format_eur(amount), bold=True),
        Rule(),
        Text("À remplir à la main :", bold=True),
        Text("Nom du titulaire : ______________________"),
        Text("Type de carte : _________________________"),
        Text("N° de carte : ____ ____ ____ ____"),
        Text("Date d'expiration : __/__"),
        Text("N° d'autorisation : _____________________"),
        Feed(1),
        Text("Signature du titulaire :", bold=True),
        Feed(3),
        Rule(),
        Text("Exemplaire signé à conserver et archiver : il sera demandé par la banque en cas de litige."),
    ]
    return doc


def manual_slip_for(till: Till, ticket_text: str) -> tuple[CompletedSale, Document]:
    """The slip of an earlier ticket, by its number; raises TicketNumberError or ManualSlipError (French)."""
    from fiscal.duplicates import find_ticket

    seq = parse_ticket_number(till, ticket_text)
    record = find_ticket(till.db.connection(), till.ledger.till, seq)
    if record is None:  # parse_ticket_number checked it; kept for the type checker
        raise TicketNumberError(f"Ticket n°{seq} introuvable.")
    sale = CompletedSale.from_record(record)
    return sale, manual_slip(till, sale)
