"""Refunds, cancellations and exchanges: a NEW negative ticket (kind RETURN) naming the ticket it takes
back (number, sequence, signature), never an edit of it.

What is left to refund is tracked per original line (`returned_line`, written with the RETURN ticket):
a line is never refunded beyond what was paid for it. The refund goes back in cash, on the card
(terminal `cancel` the same day, before the day's settlement; `refund` afterwards, up to what the card
paid) or as a credit note (« avoir ») printed with its barcode. An exchange is a RETURN settled by a
credit note that the next sale spends at once: the fiscal record is RETURN + SALE, linked by that
credit note's number. Every refund is allowed by a member with the "refund" permission (PIN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from fiscal.journal import COLUMNS, Record
from fiscal.tickets import record_ticket
from kiosk.common.money import format_eur, format_qty, round_half_up, vat_breakdown
from kiosk.sale.checkout import CheckoutService, CompletedSale
from kiosk.sale.credit_notes import credit_note_number
from kiosk.sale.tenders import CARD, CASH, VOUCHER
from kiosk.staff.permissions import require
from kiosk.staff.service import StaffMember
from kiosk.store.models import ReturnedLine

REFUND_TENDERS = (CASH, CARD, VOUCHER)
_NUMBER_RE = re.compile(r"^(?P<till>[A-Za-z0-9_-]+?)-(?P<training>F?)(?P<seq>\d{1,9})$")


class RefundError(ValueError):
    """A refund refused; the message is for the cashier (French), nothing was changed."""


@dataclass(frozen=True)
class RefundableLine:
    index: int
    label: str
    vat_bp: int
    unit: int
    qty: Decimal  # sold
    amount: int  # paid for the line, after discounts
    returned_qty: Decimal
    returned_amount: int
    weight: bool

    @property
    def left_qty(self) -> Decimal:
        return self.qty - self.returned_qty

    @property
    def left_amount(self) -> int:
        return self.amount - self.returned_amount


@dataclass(frozen=True)
class RefundPlan:
    sale: CompletedSale
    lines: list[tuple[RefundableLine, Decimal, int]]  # (line, qty taken back, amount refunded)
    tender: str

    @property
    def total(self) -> int:
        return sum(amount for _, _, amount in self.lines)


class RefundService:
    def __init__(self, checkout: CheckoutService):
        self.checkout = checkout

    @property
    def _journal(self) -> str:
        return "TRAINING" if self.checkout.training else "TICKET"

    # -- finding the ticket ----------------------------------------------------------------------
    def find(self, number: str) -> CompletedSale:
        """The sale numbered `number` (typed, or read from the receipt's barcode)."""
        text = number.strip().upper()
        match = _NUMBER_RE.match(text)
        till = self.checkout.ledger.till
        if match is None or match["till"] != till.upper():
            raise RefundError(
                f"Numéro de ticket « {number.strip()} » illisible : il ressemble à {till}-000042."
            )
        if bool(match["training"]) != self.checkout.training:
            raise RefundError(
                "Ce ticket est un ticket de formation (ou l'inverse) : changez de mode pour le reprendre."
            )
        sale = self._by_seq(int(match["seq"]))
        if sale is None:
            raise RefundError(f"Ticket {text} introuvable sur cette caisse : vérifiez le numéro.")
        if sale.is_return:
            raise RefundError(f"Le ticket {text} est déjà un remboursement : choisissez le ticket de vente.")
        return sale

    def _by_seq(self, seq: int) -> CompletedSale | None:
        row = (
            self.checkout.db.connection()
            .execute(
                f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND seq = ?",
                (self.checkout.ledger.till, self._journal, seq),
            )
            .fetchone()
        )
        return CompletedSale.from_record(Record.from_row(row)) if row else None

    def search(self, day: date, amount: int) -> list[CompletedSale]:
        """Sales of `day` (local date) whose total is `amount` cents."""
        rows = (
            self.checkout.db.connection()
            .execute(
                f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND day = ? "
                "AND total = ? AND rtype = 'SALE' ORDER BY seq",
                (self.checkout.ledger.till, self._journal, day.isoformat(), amount),
            )
            .fetchall()
        )
        return [CompletedSale.from_record(Record.from_row(row)) for row in rows]

    # -- what is left ----------------------------------------------------------------------------
    def refundable(self, sale: CompletedSale) -> list[RefundableLine]:
        returned: dict[int, tuple[Decimal, int]] = {}
        for row in ReturnedLine.select().where(ReturnedLine.original == sale.number):
            qty, amount = returned.get(row.line, (Decimal(0), 0))
            returned[row.line] = (qty + Decimal(row.qty), amount + row.amount)
        lines = []
        for index, line in enumerate(sale.body["lines"]):
            qty, amount = returned.get(index, (Decimal(0), 0))
            lines.append(
                RefundableLine(
                    index=index,
                    label=line["label"],
                    vat_bp=line["vat"],
                    unit=line["unit"],
                    qty=Decimal(line["qty"]),
                    amount=line["amount"],
                    returned_qty=qty,
                    returned_amount=amount,
                    weight=bool(line.get("weight")),
                )
            )
        return lines

    def card_refundable(self, sale: CompletedSale) -> int:
        """What may still go back on the card: the card's part of the sale, less card refunds made."""
        paid = sum(t["amount"] for t in sale.body["tenders"] if t["type"] == CARD)
        numbers = {
            row.return_ticket
            for row in ReturnedLine.select(ReturnedLine.return_ticket).where(
                ReturnedLine.original == sale.number
            )
        }
        refunded = 0
        for number in numbers:
            earlier = self._by_seq(int(number.rsplit("-", 1)[1].lstrip("F")))
            if earlier is not None:
                refunded -= sum(t["amount"] for t in earlier.body["tenders"] if t["type"] == CARD)
        return paid - refunded

    def card_mode(self, sale: CompletedSale) -> str:
        """« cancel » the same day (before the terminal's settlement), « refund » afterwards."""
        return "cancel" if sale.when.date() == self.checkout.clock().date() else "refund"

    def plan(self, sale: CompletedSale, selection: dict[int, Decimal], tender: str) -> RefundPlan:
        """Check a refund without writing anything; RefundError (French) when it cannot be done."""
        if tender not in REFUND_TENDERS:
            raise RefundError("Remboursement possible en espèces, sur la carte ou en avoir.")
        lines = {line.index: line for line in self.refundable(sale)}
        chosen = []
        for index, qty in sorted(selection.items()):
            if qty == 0:
                continue
            line = lines.get(index)
            if line is None:
                raise RefundError("Ligne inconnue sur ce ticket : choisissez une ligne de la liste.")
            if qty < 0 or (not line.weight and qty != qty.to_integral_value()):
                raise RefundError(
                    f"{line.label} : quantité à rembourser invalide, saisissez un nombre de 0 à "
                    f"{format_qty(line.left_qty)}."
                )
            if qty > line.left_qty or line.left_amount <= 0:
                raise RefundError(
                    f"{line.label} : {format_qty(qty)} demandé(s), il reste {format_qty(line.left_qty)} "
                    f"à rembourser ({format_eur(max(0, line.left_amount))}). Rien n'est remboursé."
                )
            if qty == line.left_qty:
                amount = line.left_amount
            else:
                amount = min(line.left_amount, round_half_up(Decimal(line.amount) * qty / line.qty))
            chosen.append((line, qty, amount))
        if not chosen:
            raise RefundError("Choisissez au moins un article à rembourser et sa quantité.")
        plan = RefundPlan(sale, chosen, tender)
        if plan.total <= 0:
            raise RefundError("Rien à rembourser sur ces lignes.")
        if tender == CARD and plan.total > self.card_refundable(sale):
            raise RefundError(
                f"La carte n'a payé que {format_eur(self.card_refundable(sale))} sur ce ticket (remboursements "
                "déduits) : remboursez le reste en espèces ou en avoir."
            )
        return plan

    # -- the RETURN ticket ---------------------------------------------------------------------
    def refund(
        self,
        sale: CompletedSale,
        selection: dict[int, Decimal],
        tender: str,
        cashier: StaffMember,
        authoriser: StaffMember | None,
        *,
        exchange: bool = False,
    ) -> CompletedSale:
        """Record the refund as a signed RETURN ticket (and its credit note); the card was already
        credited by the terminal when `tender` is card."""
        if authoriser is None:
            raise RefundError("Un remboursement demande le code d'un responsable.")
        require(authoriser, "refund")
        if exchange and tender != VOUCHER:
            raise RefundError("Un échange se règle par un avoir dépensé aussitôt.")
        checkout = self.checkout
        when = checkout.clock()
        checkout.close_previous_days(when.date())
        conn = checkout.db.connection()
        with checkout.db.atomic():
            plan = self.plan(sale, selection, tender)  # again inside the transaction: nothing refunded twice
            number = checkout.next_number(conn)
            body = self._body(plan, cashier, authoriser, exchange)
            tender_entry: dict[str, Any] = {"type": tender, "amount": -plan.total}
            if tender == CARD:
                tender_entry["mode"] = self.card_mode(sale)
            if tender == VOUCHER:
                issued = checkout.credit_notes.issue(credit_note_number(number), plan.total, number, when)
                tender_entry |= {
                    "issued": issued.number,
                    "issued_amount": plan.total,
                    "expires": f"{issued.expires:%d/%m/%Y}",
                }
            body["tenders"] = [tender_entry]
            record = record_ticket(checkout.ledger, conn, body, training=checkout.training, when=when)
            done = CompletedSale(record=record, body=record.data(), when=when)
            if done.number != number:
                raise RefundError("Numérotation des tickets incohérente : rien n'est enregistré, réessayez.")
            for line, qty, amount in plan.lines:
                ReturnedLine.create(
                    original=sale.number, line=line.index, qty=str(qty), amount=amount, return_ticket=number
                )
            for listener in checkout.listeners:
                listener(conn, done)
        checkout.ledger.anchor_heads(conn)
        return done

    def _body(
        self, plan: RefundPlan, cashier: StaffMember, authoriser: StaffMember, exchange: bool
    ) -> dict[str, Any]:
        original = plan.sale
        lines = []
        by_rate: dict[int, int] = {}
        for line, qty, amount in plan.lines:
            source = original.body["lines"][line.index]
            lines.append(
                {
                    "ref": source["ref"],
                    "label": source["label"],
                    "qty": str(-qty),
                    "unit": source["unit"],
                    "vat": source["vat"],
                    "amount": -amount,
                    "weight": bool(source.get("weight")),
                    "orig_line": line.index,
                }
            )
            by_rate[line.vat_bp] = by_rate.get(line.vat_bp, 0) - amount
        return {
            "kind": "RETURN",
            "cashier": {"id": cashier.id, "name": cashier.name},
            "authorised_by": {"id": authoriser.id, "name": authoriser.name},
            "original": {
                "number": original.number,
                "seq": original.record.seq,
                "sig": original.record.sig,
                "date": f"{original.when:%d/%m/%Y}",
            },
            "exchange": exchange,
            "lines": lines,
            "vat": [
                {"rate": v.rate_bp, "ht": v.ht, "tva": v.tva, "ttc": v.ttc} for v in vat_breakdown(by_rate)
            ],
            "total": -plan.total,
            "tenders": [],
            "change": 0,
        }
