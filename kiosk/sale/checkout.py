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
from kiosk.common.money import format_eur
from kiosk.sale.basket import Basket
from kiosk.sale.credit_notes import CreditNoteError, CreditNoteService, credit_note_number
from kiosk.sale.discounts import check_basket
from kiosk.sale.tenders import (
    TENDER_LABELS,
    VOUCHER,
    PaymentError,
    Tender,
    check_tenders,
    meal_eligible,
    meal_voucher_categories,
)
from kiosk.staff.service import StaffMember

__all__ = ["TENDER_LABELS", "CheckoutService", "CompletedSale", "PaymentError", "Tender", "cash_payment"]


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
        return ticket_number(self.record.till, self.record.seq, self.record.journal == "TRAINING")

    @property
    def change(self) -> int:
        return int(self.body.get("change", 0))

    @property
    def total(self) -> int:
        return int(self.body["total"])

    @property
    def paid_cash(self) -> bool:
        return any(t["type"] == "cash" for t in self.body["tenders"])

    @property
    def opens_drawer(self) -> bool:
        """Paper goes in the drawer: cash, cheques, paper meal and holiday vouchers."""
        paper = {"cash", "cheque", "meal_voucher", "holiday_voucher"}
        return any(t["type"] in paper for t in self.body["tenders"])

    @property
    def is_return(self) -> bool:
        return self.body.get("kind") == "RETURN"

    def issued_credit_notes(self) -> list[tuple[str, int, str]]:
        """(number, amount, expiry dd/mm/yyyy) of the credit notes this ticket issued."""
        return [
            (t["issued"], int(t["issued_amount"]), t["expires"])
            for t in self.body["tenders"]
            if t.get("issued")
        ]


def cash_payment(total: int, given: int) -> tuple[list[Tender], int]:
    """Cash tendered for `total`: (tenders, change); refuses less than the total."""
    if total <= 0:
        raise PaymentError("Le panier est vide : ajoutez un article avant d'encaisser.")
    if given < total:
        raise PaymentError(
            f"Montant insuffisant : il manque {format_eur(total - given)}. Saisissez le montant remis."
        )
    return [Tender("cash", given)], given - total


def _line_entries(basket: Basket) -> list[dict[str, Any]]:
    entries = []
    for line, share, amount in zip(
        basket.lines, basket.discount_shares(), basket.final_amounts(), strict=True
    ):
        entry: dict[str, Any] = {
            "ref": line.reference,
            "label": line.label,
            "qty": str(line.qty),
            "unit": line.unit_cents,
            "vat": line.vat_bp,
            "amount": amount,
            "weight": line.sold_by_weight,
        }
        if line.discount is not None or share or line.original_unit_cents is not None:
            entry["before"] = line.gross  # quantity × unit price; amount = before - discount - share
        if line.discount is not None:
            entry["discount"] = line.discount_cents
            entry["discount_label"] = line.discount.describe()
            entry["discount_reason"] = line.discount.reason
            if line.discount.authorised_by is not None:
                entry["discount_by"] = line.discount.authorised_by.name
        if share:
            entry["ticket_discount"] = share
        if line.original_unit_cents is not None:
            entry["catalogue_unit"] = line.original_unit_cents
            entry["override_by"] = line.override_by.name if line.override_by else ""
        entries.append(entry)
    return entries


def ticket_body(basket: Basket, tenders: list[Tender], change: int, cashier: StaffMember) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "SALE",
        "cashier": {"id": cashier.id, "name": cashier.name},
        "lines": _line_entries(basket),
        "vat": [{"rate": v.rate_bp, "ht": v.ht, "tva": v.tva, "ttc": v.ttc} for v in basket.vat_lines()],
        "total": basket.total,
        "tenders": [{"type": t.kind, "amount": t.amount} for t in tenders],
        "change": change,
    }
    if basket.discount is not None:
        body["discount"] = {
            "amount": basket.discount_cents,
            "label": basket.discount.describe(),
            "reason": basket.discount.reason,
        }
        if basket.discount.authorised_by is not None:
            body["discount"]["by"] = basket.discount.authorised_by.name
    return body


def ticket_number(till: str, seq: int, training: bool) -> str:
    """T01-000042; a training ticket T01-F000042, never mistaken for a real one."""
    return f"{till}-{'F' if training else ''}{seq:06d}"


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
        # Tender kinds settled by another service inside the ticket's transaction (raising cancels the
        # sale): (tender, ticket number, time, basket).
        self.tender_handlers: dict[str, Callable[[Tender, str, datetime, Basket], None]] = {}
        self.credit_notes = CreditNoteService(db, clock)
        self.max_discount_percent = 10  # discounts above this % need a manager's PIN
        self.meal_voucher_max = 2500  # cents of meal vouchers accepted per ticket

    def set_training(self, on: bool, user: str, authorised_by: str) -> None:
        """Training mode: fictitious tickets in their own journal, never in the grand totals (NF525);
        each switch is journaled (JET TRAINING_ON / TRAINING_OFF)."""
        self.training = on
        self.ledger.record_event(
            self.db.connection(),
            "TRAINING_ON" if on else "TRAINING_OFF",
            {"user": user, "authorised_by": authorised_by},
        )

    def configure(self, config: Any) -> None:
        """The checkout's settings from the till's configuration (kiosk.config.Config)."""
        self.max_discount_percent = config.discounts.max_percent_without_manager
        self.meal_voucher_max = config.tenders.meal_voucher_max
        self.credit_notes.validity_days = config.credit_notes.validity_days

    def meal_eligible(self, basket: Basket) -> int:
        return meal_eligible(basket, meal_voucher_categories())

    def next_number(self, conn: sqlite3.Connection) -> str:
        """The number the next ticket will get (exact inside the ticket's transaction)."""
        head = self.ledger.head(conn, "TRAINING" if self.training else "TICKET")
        return ticket_number(self.ledger.till, (head.seq if head else 0) + 1, self.training)

    def _voucher_entries(
        self, conn: sqlite3.Connection, tenders: list[Tender], number: str, when: datetime, basket: Basket
    ) -> list[dict[str, Any]]:
        """The tenders' body entries; credit notes spent (the rest of a partly used one becomes a new
        credit note, named after this ticket). Inside the ticket's transaction."""
        entries: list[dict[str, Any]] = []
        for tender in tenders:
            entry: dict[str, Any] = {"type": tender.kind, "amount": tender.amount}
            handler = self.tender_handlers.get(tender.kind)
            if handler is not None:  # e.g. the loyalty reward, spent from the customer's ledger
                if self.training:
                    raise PaymentError(
                        f"{TENDER_LABELS[tender.kind]} indisponible en mode formation : choisissez un autre règlement."
                    )
                handler(tender, number, when, basket)
            if tender.kind == VOUCHER:
                try:
                    note = self.credit_notes.usable(tender.ref, when.date(), training=self.training)
                except CreditNoteError as exc:
                    raise PaymentError(str(exc)) from None
                if tender.amount > note.balance:
                    raise PaymentError(
                        f"L'avoir {note.number} ne vaut que {format_eur(note.balance)} : "
                        "complétez avec un autre moyen de paiement."
                    )
                entry["credit_note"] = note.number
                self.credit_notes.spend(note.number, tender.amount, number, when)
                rest = note.balance - tender.amount
                if rest and any("issued" in e for e in entries):
                    raise PaymentError(
                        "Un seul avoir peut être entamé par ticket : utilisez les autres en entier."
                    )
                if rest:
                    issued = self.credit_notes.issue(credit_note_number(number), rest, number, when)
                    self.credit_notes.spend(note.number, rest, number, when, kind="transfer")
                    entry |= {
                        "issued": issued.number,
                        "issued_amount": rest,
                        "expires": f"{issued.expires:%d/%m/%Y}",
                    }
            entries.append(entry)
        return entries

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
        check_tenders(
            basket.total,
            tenders,
            change,
            meal_eligible=self.meal_eligible(basket),
            meal_max=self.meal_voucher_max,
        )
        check_basket(basket, self.max_discount_percent)
        body = ticket_body(basket, tenders, change, cashier)
        when = self.clock()
        self.close_previous_days(when.date())
        conn = self.db.connection()
        with self.db.atomic():
            number = self.next_number(conn)
            body["tenders"] = self._voucher_entries(conn, tenders, number, when, basket)
            record = record_ticket(self.ledger, conn, body, training=self.training, when=when)
            sale = CompletedSale(record=record, body=record.data(), when=when)
            if sale.number != number:  # the credit notes were named after another ticket
                raise PaymentError("Numérotation des tickets incohérente : rien n'est enregistré, réessayez.")
            for listener in self.listeners:
                listener(conn, sale)
        self.ledger.anchor_heads(conn)
        return sale
