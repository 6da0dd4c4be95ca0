"""Loyalty at the till: the active programme, what a sale earns once attached to a customer, rewards
spent at checkout, reversals on refunds — every movement a line of the append-only ledger."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from peewee import SqliteDatabase, fn

from fiscal.journal import FiscalLedger
from fiscal.timeutil import stamp
from kiosk.common.money import format_eur
from kiosk.loyalty.directory import CustomerDirectory, CustomerError
from kiosk.loyalty.programmes import (
    KINDS,
    Line,
    ProgrammeError,
    RewardCap,
    Rules,
    check_params,
    earn,
    line_units,
    reward_cap,
)
from kiosk.sale.basket import Basket
from kiosk.sale.tenders import PaymentError, Tender
from kiosk.staff.permissions import HasRole, require
from kiosk.store import Category
from kiosk.store.loyalty_models import Customer, CustomerSale, LoyaltyEntry, Programme


class LoyaltyError(ValueError):
    """A loyalty operation refused; the message says what to do (French)."""


@dataclass(frozen=True)
class Balance:
    kitty_cents: int
    stamps: int


@dataclass(frozen=True)
class LoyaltySummary:
    """What the receipt and the cashier are told after a sale is attached."""

    customer: str
    programme: str
    earned_cents: int
    earned_stamps: int
    balance: Balance
    full: bool
    goal: int
    kind: str

    def receipt_lines(self) -> list[str]:
        lines = [f"Fidélité : {self.programme}"]
        if self.kind == "stamps":
            lines.append(f"Achats comptés : +{self.earned_stamps} ; carte {self.balance.stamps}/{self.goal}")
        else:
            lines.append(
                f"Gagné : {format_eur(self.earned_cents)} ; cagnotte {format_eur(self.balance.kitty_cents)}"
            )
        if self.full:
            lines.append(
                "Cagnotte pleine : récompense disponible !"
                if self.kind != "stamps"
                else "Article offert disponible !"
            )
        return lines


class LoyaltyService:
    def __init__(
        self,
        db: SqliteDatabase,
        ledger: FiscalLedger,
        clock: Callable[[], datetime],
        directory: CustomerDirectory,
        till: str,
        alcohol_earns: bool = False,
    ):
        self.db = db
        self.ledger = ledger
        self.clock = clock
        self.directory = directory
        self.till = till
        self.alcohol_earns = alcohol_earns
        # Called with (conn, line) for each new local ledger line, inside its transaction (the uplink's
        # outbox): the shop's other tills merge it with `merge_line`.
        self.on_line: list[Callable[[sqlite3.Connection, dict[str, Any]], None]] = []
        # Set by the uplink: the UTC time since which the portal has acknowledged nothing (None: in touch,
        # or no uplink). While cut off, the kitty may have been spent on another till: each customer may
        # then use at most `offline_allowance` here, and the merge afterwards settles the rest (a
        # negative kitty is paid back by the next purchases).
        self.offline_since: Callable[[], str | None] = lambda: None
        self.offline_allowance = 1000

    def _now(self) -> str:
        return stamp(self.clock())[0]

    # -- the programme (one at a time) ------------------------------------------------------------
    def programme(self) -> Programme | None:
        """The programme in force (active or suspended), None when none is set up."""
        return Programme.select().where(Programme.state != "deleted").order_by(Programme.id.desc()).first()

    def rules(self, programme: Programme | None = None) -> Rules | None:
        programme = programme or self.programme()
        if programme is None:
            return None
        base = Rules.from_row(
            programme.kind, programme.name, programme.params, programme.valid_from, programme.valid_to
        )
        return Rules(**{**base.__dict__, "alcohol_earns": self.alcohol_earns})

    def set_up(
        self,
        member: HasRole,
        kind: str,
        name: str,
        params: dict[str, Any],
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> Programme:
        """Create the programme (a manager's act); the previous one must have been deleted first."""
        require(member, "loyalty_settings")
        if self.programme() is not None:
            raise LoyaltyError("Un programme est déjà en place : supprimez-le avant d'en créer un autre.")
        if not name.strip():
            raise LoyaltyError("Donnez un nom au programme (il figure sur les tickets).")
        if valid_from and valid_to and valid_to < valid_from:
            raise LoyaltyError("La date de fin de validité précède la date de début.")
        try:
            cleaned = check_params(kind, params)
        except ProgrammeError as exc:
            raise LoyaltyError(str(exc)) from None
        with self.db.atomic():
            programme = Programme.create(
                kind=kind,
                name=name.strip()[:40],
                params=json.dumps(cleaned, sort_keys=True),
                valid_from=valid_from.isoformat() if valid_from else "",
                valid_to=valid_to.isoformat() if valid_to else "",
                created_utc=self._now(),
            )
            self._journal("LOYALTY_PROGRAMME_CREATED", member, programme, params=cleaned)
        return programme

    def set_state(self, member: HasRole, state: str) -> Programme:
        """Suspend, resume (active) or delete the programme in force; kitties and stamps are kept."""
        require(member, "loyalty_settings")
        programme = self.programme()
        if programme is None:
            raise LoyaltyError("Aucun programme de fidélité n'est en place.")
        if state not in ("active", "suspended", "deleted"):
            raise LoyaltyError(f"État inconnu {state!r}.")
        with self.db.atomic():
            Programme.update(state=state).where(Programme.id == programme.id).execute()
            self._journal(f"LOYALTY_PROGRAMME_{state.upper()}", member, programme)
        return Programme.get_by_id(programme.id)

    def _journal(self, code: str, member: HasRole, programme: Programme, **extra: Any) -> None:
        details = {
            "user": member.name,
            "programme": programme.id,
            "kind": programme.kind,
            "name": programme.name,
        }
        self.ledger.record_event(self.db.connection(), code, details | extra)

    # -- balances -----------------------------------------------------------------------------------
    def balance(self, customer_id: int) -> Balance:
        row = (
            LoyaltyEntry.select(
                fn.COALESCE(fn.SUM(LoyaltyEntry.kitty_cents), 0), fn.COALESCE(fn.SUM(LoyaltyEntry.stamps), 0)
            )
            .where(LoyaltyEntry.customer == customer_id)
            .tuples()
            .first()
        )
        return Balance(int(row[0]), int(row[1])) if row else Balance(0, 0)

    def _entry(
        self,
        customer_id: int,
        programme: Programme | None,
        kind: str,
        kitty: int,
        stamps: int,
        ticket: str,
        note: str = "",
        reward: int = 0,
    ) -> None:
        entry = LoyaltyEntry.create(
            reward_cents=reward,
            id=uuid.uuid4().hex,
            customer=customer_id,
            programme=programme.id if programme else None,
            kind=kind,
            kitty_cents=kitty,
            stamps=stamps,
            ticket=ticket,
            till=self.till,
            created_utc=self._now(),
            note=note,
        )
        if self.on_line:
            line = self._shared_line(entry)
            for listener in self.on_line:
                listener(self.db.connection(), line)

    def _shared_line(self, entry: LoyaltyEntry) -> dict[str, Any]:
        """A ledger line as the other tills need it: the customer travels with it (found there by phone),
        the programme by nothing (each till applies its own)."""
        customer = Customer.get_by_id(entry.customer.id)
        return {
            "id": entry.id,
            "kind": entry.kind,
            "kitty_cents": entry.kitty_cents,
            "stamps": entry.stamps,
            "reward_cents": entry.reward_cents,
            "ticket": entry.ticket,
            "till": entry.till,
            "created_utc": entry.created_utc,
            "note": entry.note,
            "customer": {
                "phone": customer.phone,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "consent_utc": customer.consent_utc,
                "consent_text": customer.consent_text,
                "created_utc": customer.created_utc,
            },
        }

    def merge_line(self, conn: sqlite3.Connection, line: dict[str, Any]) -> bool:
        """A ledger line from another till of the shop, inside the caller's transaction: its customer is
        found by phone (or enrolled as they were there), the line added once (by id). False when skipped
        (already here, or a customer erased since: no phone to find them by)."""
        person = line.get("customer") or {}
        phone = person.get("phone")
        if not phone:
            return False
        row = conn.execute("SELECT id, erased_utc FROM customer WHERE phone = ?", (phone,)).fetchone()
        if row is None:
            cursor = conn.execute(
                "INSERT INTO customer (phone, first_name, last_name, email, birth_date, address, consent_utc, "
                "consent_text, created_utc) VALUES (?, ?, ?, '', '', '', ?, ?, ?)",
                (
                    phone,
                    str(person.get("first_name", "")),
                    str(person.get("last_name", "")),
                    person.get("consent_utc"),
                    str(person.get("consent_text", "")),
                    str(person.get("created_utc", line.get("created_utc", ""))),
                ),
            )
            customer_id = cursor.lastrowid
        else:
            customer_id = row[0]
        inserted = conn.execute(
            "INSERT OR IGNORE INTO loyalty_entry (id, customer_id, programme, kind, kitty_cents, stamps, "
            "reward_cents, ticket, till, created_utc, note) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(line["id"]),
                customer_id,
                str(line["kind"]),
                int(line.get("kitty_cents", 0)),
                int(line.get("stamps", 0)),
                int(line.get("reward_cents", 0)),
                str(line.get("ticket", "")),
                str(line.get("till", "")),
                str(line.get("created_utc", "")),
                str(line.get("note", "")),
            ),
        ).rowcount
        return inserted == 1

    # -- attaching a sale ---------------------------------------------------------------------------
    def lines_of(self, body: dict[str, Any]) -> list[Line]:
        """A ticket body's lines with their category and its flags (looked up by article reference)."""
        refs = sorted({str(line.get("ref", "")) for line in body.get("lines", [])})
        flags: dict[str, tuple[str, frozenset[str]]] = {}
        if refs:
            marks = ",".join("?" * len(refs))
            rows = self.db.execute_sql(
                f"SELECT a.reference, c.key, c.flags FROM article a JOIN category c ON c.id = a.category_id "
                f"WHERE a.reference IN ({marks})",
                refs,
            )
            flags = {ref: (key, frozenset(f for f in (raw or "").split(",") if f)) for ref, key, raw in rows}
        lines = []
        for line in body.get("lines", []):
            ref = str(line.get("ref", ""))
            category, line_flags = flags.get(ref, ("", frozenset()))
            amount = int(line.get("amount", 0))
            units = line_units(str(line.get("qty", "1")), bool(line.get("weight")))
            if amount < 0 < units:
                units = -units
            lines.append(Line(ref, category, line_flags, amount, units))
        return lines

    def attach(
        self, customer_id: int, ticket: str, total: int, body: dict[str, Any], when: datetime
    ) -> LoyaltySummary | None:
        """Attach a paid ticket to a customer (« Souhaitez-vous ajouter la transaction à un des clients
        de l'annuaire ? »): the visit is counted and the programme in force credits what the sale earns.
        Returns what to tell the customer (None when no programme applies)."""
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None or customer.erased_utc is not None:
            raise LoyaltyError("Client introuvable dans l'annuaire.")
        if CustomerSale.get_or_none(CustomerSale.ticket == ticket) is not None:
            raise LoyaltyError(f"Le ticket {ticket} est déjà rattaché à un client.")
        programme = self.programme()
        rules = self.rules(programme)
        with self.db.atomic():
            CustomerSale.create(
                ticket=ticket, customer=customer_id, total_cents=total, created_utc=self._now()
            )
            Customer.update(last_visit_utc=self._now()).where(Customer.id == customer_id).execute()
            earning = None
            if (
                programme is not None
                and rules is not None
                and programme.state == "active"
                and rules.valid_on(when.date())
            ):
                earning = earn(rules, self.lines_of(body))
                if earning.kitty_cents or earning.stamps:
                    kind = "earn" if total >= 0 else "reverse"
                    self._entry(customer_id, programme, kind, earning.kitty_cents, earning.stamps, ticket)
        if programme is None or rules is None or earning is None:
            return None
        balance = self.balance(customer_id)
        return LoyaltySummary(
            customer=self.directory.get(customer_id).display_name,
            programme=programme.name,
            earned_cents=earning.kitty_cents,
            earned_stamps=earning.stamps,
            balance=balance,
            full=self.is_full(balance, rules),
            goal=rules.goal,
            kind=rules.kind,
        )

    def is_full(self, balance: Balance, rules: Rules) -> bool:
        """« Cagnotte pleine »: the stamp card complete, or the kitty at the programme's threshold."""
        if rules.kind == "stamps":
            return rules.goal > 0 and balance.stamps >= rules.goal
        return rules.goal > 0 and balance.kitty_cents >= rules.goal

    def customer_of(self, ticket: str) -> int | None:
        sale = CustomerSale.get_or_none(CustomerSale.ticket == ticket)
        return int(sale.customer.id) if sale is not None else None

    def on_ticket(self, conn: sqlite3.Connection, number: str, body: dict[str, Any], when: datetime) -> None:
        """Checkout listener (inside the ticket's transaction): a return of a ticket attached to a customer
        is attached to the same customer, so what the returned lines earned is taken back."""
        if body.get("kind") != "RETURN":
            return
        original = body.get("original")
        original_number = original.get("number") if isinstance(original, dict) else original
        customer_id = self.customer_of(str(original_number)) if original_number else None
        if customer_id is None:
            return
        try:
            self.attach(customer_id, number, int(body.get("total", 0)), body, when)
        except (LoyaltyError, CustomerError):
            return  # the refund must go through; the ledger can be adjusted by hand

    def basket_lines(self, basket: Basket) -> list[Line]:
        """The basket's lines as loyalty sees them (after discounts), for the reward's cap."""
        flags = {
            row.key: frozenset(f for f in row.flags.split(",") if f)
            for row in Category.select(Category.key, Category.flags)
        }
        lines = []
        for line, amount in zip(basket.lines, basket.final_amounts(), strict=True):
            category = line.category if line.article_id is not None else ""
            units = 1 if line.sold_by_weight else int(line.qty)
            lines.append(Line(line.reference, category, flags.get(category, frozenset()), amount, units))
        return lines

    def redeem_tender(self, tender: Tender, ticket: str, when: datetime, basket: Basket) -> None:
        """Checkout's handler of the « Cagnotte fidélité » tender, inside the ticket's transaction: the
        reward leaves the customer's ledger with the sale, or the sale does not happen."""
        try:
            self.redeem(int(tender.ref), tender.amount, ticket, self.basket_lines(basket))
        except LoyaltyError as exc:
            raise PaymentError(str(exc)) from None

    # -- rewards ---------------------------------------------------------------------------------------
    def reward_available(
        self, customer_id: int, basket_lines: list[Line]
    ) -> tuple[int, RewardCap | None, str]:
        """(cents the customer may use now, the basket's cap, a French note) for the kitty programmes;
        for stamps, the price of the cheapest eligible unit when the card is full."""
        programme = self.programme()
        rules = self.rules(programme)
        if programme is None or rules is None or programme.state != "active":
            return 0, None, "Aucun programme de fidélité actif."
        balance = self.balance(customer_id)
        cap = reward_cap(rules, basket_lines)
        if rules.kind == "stamps":
            if not self.is_full(balance, rules):
                return 0, cap, f"Carte {balance.stamps}/{rules.goal} : pas encore d'article offert."
            units = [
                line.amount // max(1, line.units)
                for line in basket_lines
                if rules.in_scope(line) and line.units > 0
            ]
            if not units:
                return 0, cap, "Aucun article du panier ne peut être offert."
            return min(min(units), cap.cents), cap, "Article offert : le moins cher des articles éligibles."
        usable = min(balance.kitty_cents, cap.cents)
        since = self.offline_since()
        if since is not None:
            spent = -int(
                self.db.execute_sql(
                    "SELECT COALESCE(SUM(kitty_cents), 0) FROM loyalty_entry "
                    "WHERE customer_id = ? AND kind = 'redeem' AND till = ? AND created_utc >= ?",
                    (customer_id, self.till, since),
                ).fetchone()[0]
            )
            room = max(0, self.offline_allowance - spent)
            if room < usable:
                note = (
                    f"Portail injoignable : au plus {format_eur(room)} de cagnotte hors ligne (elle a pu "
                    "être utilisée sur une autre caisse)."
                )
                return room, cap, note
        return max(0, usable), cap, cap.note

    def redeem(self, customer_id: int, cents: int, ticket: str, basket_lines: list[Line]) -> Balance:
        """Spend the reward (kitty amount, or one stamp card) on a sale, within the basket's cap; the
        customer's consent is the cashier's question. Raises LoyaltyError (French)."""
        available, cap, note = self.reward_available(customer_id, basket_lines)
        if cents <= 0:
            raise LoyaltyError("Le montant de la récompense doit être supérieur à 0,00 €.")
        if cents > available:
            reason = note or f"cagnotte de {format_eur(self.balance(customer_id).kitty_cents)}"
            raise LoyaltyError(
                f"Récompense de {format_eur(cents)} impossible : au plus {format_eur(available)} ({reason})."
            )
        programme = self.programme()
        rules = self.rules(programme)
        assert rules is not None
        with self.db.atomic():
            if rules.kind == "stamps":
                self._entry(customer_id, programme, "redeem", 0, -rules.goal, ticket, "article offert", cents)
            else:
                self._entry(customer_id, programme, "redeem", -cents, 0, ticket, "", cents)
        return self.balance(customer_id)

    def adjust(
        self, member: HasRole, customer_id: int, kitty_cents: int, stamps: int, reason: str
    ) -> Balance:
        """A manager's correction: a new ledger line with its reason, never an edit."""
        require(member, "loyalty_settings")
        if not reason.strip():
            raise LoyaltyError("Indiquez la raison de la correction.")
        with self.db.atomic():
            self._entry(customer_id, self.programme(), "adjust", kitty_cents, stamps, "", reason.strip()[:80])
        return self.balance(customer_id)


def programme_label(kind: str) -> str:
    return KINDS.get(kind, kind)
