"""Checkout: turns a paid basket into a signed fiscal ticket, in one SQLite transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from peewee import SqliteDatabase

from fiscal.closures import close_pending
from fiscal.journal import FiscalLedger, Record
from fiscal.tickets import record_ticket
from fiscal.timeutil import parse_utc

from ..money import format_eur
from ..staff import StaffMember
from .basket import Basket

TENDER_LABELS = {"cash": "Espèces", "card": "Carte bancaire"}


class PaymentError(ValueError):
    """A payment refused; the message is for the cashier (French)."""


@dataclass(frozen=True)
class Tender:
    kind: str
    amount: int


@dataclass(frozen=True)
class CompletedSale:
    record: Record
    body: dict[str, Any]
    when: datetime

    @classmethod
    def from_record(cls, record: Record) -> CompletedSale:
        """A ticket read back from the journal, with its local date and time as signed."""
        local = parse_utc(record.ts_utc).astimezone(timezone(timedelta(minutes=record.tz_offset)))
        return cls(record=record, body=record.data(), when=local)

    @property
    def number(self) -> str:
        training = "F" if self.record.journal == "TRAINING" else ""  # never mistaken for a real ticket
        return f"{self.record.till}-{training}{self.record.seq:06d}"

    @property
    def change(self) -> int:
        return int(self.body.get("change", 0))

    @property
    def total(self) -> int:
        return int(self.body["total"])

    @property
    def paid_cash(self) -> bool:
        return any(t["type"] == "cash" for t in self.body["tenders"])


def cash_payment(total: int, given: int) -> tuple[list[Tender], int]:
    """Cash tendered for `total`: (tenders, change); refuses less than the total."""
    if total <= 0:
        raise PaymentError("Le panier est vide : ajoutez un article avant d'encaisser.")
    if given < total:
        raise PaymentError(
            f"Montant insuffisant : il manque {format_eur(total - given)}. Saisissez le montant remis."
        )
    return [Tender("cash", given)], given - total


def ticket_body(basket: Basket, tenders: list[Tender], change: int, cashier: StaffMember) -> dict[str, Any]:
    return {
        "kind": "SALE",
        "cashier": {"id": cashier.id, "name": cashier.name},
        "lines": [
            {
                "ref": line.reference,
                "label": line.label,
                "qty": str(line.qty),
                "unit": line.unit_cents,
                "vat": line.vat_bp,
                "amount": line.amount,
                "weight": line.sold_by_weight,
            }
            for line in basket.lines
        ],
        "vat": [{"rate": v.rate_bp, "ht": v.ht, "tva": v.tva, "ttc": v.ttc} for v in basket.vat_lines()],
        "total": basket.total,
        "tenders": [{"type": t.kind, "amount": t.amount} for t in tenders],
        "change": change,
    }


class CheckoutService:
    def __init__(
        self,
        db: SqliteDatabase,
        ledger: FiscalLedger,
        clock: Callable[[], datetime],
        training: bool,
        first_month: int = 1,
    ):
        self.db = db
        self.ledger = ledger
        self.clock = clock
        self.training = training
        self.first_month = first_month
        self._closed_up_to: date | None = None
        self.auto_close = True  # tests of closures by hand turn the automatic closing off
        # Called inside the ticket's transaction (stock movements, outbox events, loyalty lines): what they
        # write commits with the ticket or not at all. A listener that raises cancels the sale.
        self.listeners: list[Callable[[sqlite3.Connection, CompletedSale], None]] = []

    def close_previous_days(self, today: date) -> list[Record]:
        """The first act of a new day closes the days (months, years) left open before it."""
        if self._closed_up_to == today or not self.auto_close:
            return []
        records = close_pending(self.ledger, self.db.connection(), today, first_month=self.first_month)
        if records:
            self.ledger.anchor_heads(self.db.connection())
        self._closed_up_to = today
        return records

    def complete(
        self, basket: Basket, tenders: list[Tender], change: int, cashier: StaffMember
    ) -> CompletedSale:
        """Write the ticket, lines, tenders and VAT totals, signed and chained, in one transaction."""
        if basket.is_empty:
            raise PaymentError("Le panier est vide : ajoutez un article avant d'encaisser.")
        paid = sum(t.amount for t in tenders)
        if paid - change != basket.total or change < 0:
            raise PaymentError("Règlement incomplet : le total réglé ne correspond pas au montant dû.")
        if change and not any(t.kind == "cash" for t in tenders):
            raise PaymentError("Rendu monnaie possible seulement avec un règlement en espèces.")
        body = ticket_body(basket, tenders, change, cashier)
        when = self.clock()
        self.close_previous_days(when.date())
        conn = self.db.connection()
        with self.db.atomic():
            record = record_ticket(self.ledger, conn, body, training=self.training, when=when)
            sale = CompletedSale(record=record, body=record.data(), when=when)
            for listener in self.listeners:
                listener(conn, sale)
        self.ledger.anchor_heads(conn)
        return sale
