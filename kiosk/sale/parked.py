"""Parked sales (« mise en attente »): a basket put aside, with an optional name, resumed later.

A parked basket is working data, not a fiscal ticket: it becomes one only when paid. Parking and resuming
are journaled in the JET (who, which name, how much) so an abandoned sale leaves a trace. Lines are stored
generically (every BasketLine field) and, on resume, checked again against the catalogue: an article
deleted or archived since is dropped with a message, a new price or VAT rate is applied and said.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from peewee import SqliteDatabase

from fiscal.journal import FiscalLedger
from fiscal.timeutil import parse_utc, stamp
from kiosk.catalogue.articles import Catalogue
from kiosk.common.money import format_eur, format_rate
from kiosk.sale.basket import Basket, BasketLine
from kiosk.staff.permissions import require
from kiosk.staff.service import StaffMember


class ParkError(ValueError):
    """Parking or resuming refused; the message is for the cashier (French)."""


@dataclass(frozen=True)
class ParkedTicket:
    id: int
    name: str
    created: datetime  # local time
    cashier: str
    total: int
    line_count: int

    @property
    def title(self) -> str:
        return self.name or f"Vente de {self.created:%H:%M}"


# -- generic (de)serialisation of basket lines: whatever fields BasketLine gains ----------------------
def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(hint: Any, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$decimal"}:
        return Decimal(value["$decimal"])
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return value if value is None or len(options) != 1 else _decode(options[0], value)
    if origin in (list, tuple) and isinstance(value, list):
        args = typing.get_args(hint)
        items = [_decode(args[0] if args else Any, v) for v in value]
        return items if origin is list else tuple(items)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _build(hint, value)
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _decode(hints.get(f.name, Any), data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def dump_lines(lines: list[BasketLine]) -> str:
    return json.dumps([_encode(line) for line in lines], ensure_ascii=False)


def dump_basket_fields(basket: Basket) -> str:
    """The basket's own fields besides its lines (a ticket discount, a customer...), whatever they are."""
    return json.dumps(
        {f.name: _encode(getattr(basket, f.name)) for f in dataclasses.fields(basket) if f.name != "lines"},
        ensure_ascii=False,
    )


def load_line(data: dict[str, Any]) -> BasketLine:
    """A stored line back as a BasketLine; TypeError when a field it now requires is missing."""
    line: BasketLine = _build(BasketLine, data)
    return line


class ParkedTickets:
    def __init__(
        self, db: SqliteDatabase, ledger: FiscalLedger, clock: Callable[[], datetime], catalogue: Catalogue
    ):
        self.db = db
        self.ledger = ledger
        self.clock = clock
        self.catalogue = catalogue

    def park(
        self, member: StaffMember, basket: Basket, name: str = "", into: int | None = None
    ) -> ParkedTicket:
        """Put `basket` aside (as a new parked sale, or added to the parked sale `into`)."""
        require(member, "park")
        if basket.is_empty:
            raise ParkError("Le panier est vide : rien à mettre en attente.")
        name = " ".join(name.split())[:40]
        ts_utc, _, _ = stamp(self.clock())
        with self.db.atomic():
            if into is not None:
                row = self.db.execute_sql(
                    "SELECT name, lines, total, basket FROM parked_ticket WHERE id = ?", (into,)
                ).fetchone()
                if row is None:
                    raise ParkError("Cette vente en attente a déjà été reprise : choisissez-en une autre.")
                own_fields = any(json.loads(row[3] or "{}").values())  # a discount, a credit note...
                if basket.discount is not None or basket.credit_note or own_fields:
                    raise ParkError(
                        "Une remise sur le ticket ou un avoir d'échange empêche de regrouper ces ventes : "
                        "mettez celle-ci en attente à part."
                    )
                name = name or row[0]
                lines = json.loads(row[1]) + json.loads(dump_lines(basket.lines))
                total = int(row[2]) + basket.total
                self.db.execute_sql(
                    "UPDATE parked_ticket SET name = ?, lines = ?, total = ? WHERE id = ?",
                    (name, json.dumps(lines, ensure_ascii=False), total, into),
                )
                parked_id = into
            else:
                cursor = self.db.execute_sql(
                    "INSERT INTO parked_ticket (created_utc, name, user_id, user_name, total, lines, basket) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        ts_utc,
                        name,
                        member.id,
                        member.name,
                        basket.total,
                        dump_lines(basket.lines),
                        dump_basket_fields(basket),
                    ),
                )
                parked_id = int(cursor.lastrowid)
            self.ledger.record_event(
                self.db.connection(),
                "TICKET_PARKED",
                {
                    "parked": parked_id,
                    "name": name,
                    "user": member.name,
                    "lines": len(basket.lines),
                    "total": basket.total,
                },
            )
        found = self.get(parked_id)
        assert found is not None
        return found

    def all(self) -> list[ParkedTicket]:
        rows = self.db.execute_sql(
            "SELECT id, name, created_utc, user_name, total, lines FROM parked_ticket ORDER BY id"
        ).fetchall()
        return [self._ticket(row) for row in rows]

    def get(self, parked_id: int) -> ParkedTicket | None:
        row = self.db.execute_sql(
            "SELECT id, name, created_utc, user_name, total, lines FROM parked_ticket WHERE id = ?",
            (parked_id,),
        ).fetchone()
        return self._ticket(row) if row else None

    def _ticket(self, row: tuple[Any, ...]) -> ParkedTicket:
        parked_id, name, created_utc, user, total, lines = row
        tz = self.clock().tzinfo
        created = parse_utc(created_utc).astimezone(tz)
        return ParkedTicket(parked_id, name, created, user, int(total), len(json.loads(lines)))

    def resume(self, member: StaffMember, parked_id: int) -> tuple[Basket, list[str]]:
        """The parked basket, checked against today's catalogue, and what changed (French, one per
        line); the parked sale is removed. Nothing is dropped without its message."""
        require(member, "sell")
        with self.db.atomic():
            row = self.db.execute_sql(
                "SELECT name, lines, total, user_name, basket FROM parked_ticket WHERE id = ?", (parked_id,)
            ).fetchone()
            if row is None:
                raise ParkError("Cette vente en attente a déjà été reprise : choisissez-en une autre.")
            name, lines_text, total, parked_by, basket_text = row
            basket, notes = self._restore(json.loads(lines_text), json.loads(basket_text))
            self.db.execute_sql("DELETE FROM parked_ticket WHERE id = ?", (parked_id,))
            self.ledger.record_event(
                self.db.connection(),
                "TICKET_RESUMED",
                {
                    "parked": parked_id,
                    "name": name,
                    "user": member.name,
                    "parked_by": parked_by,
                    "total_parked": int(total),
                    "total": basket.total,
                    "changes": notes,
                },
            )
        return basket, notes

    def abandon(self, member: StaffMember, parked_id: int) -> None:
        """The customer will not come back: the parked sale is removed (journaled, never a ticket)."""
        require(member, "park")
        with self.db.atomic():
            row = self.db.execute_sql(
                "SELECT name, total, user_name FROM parked_ticket WHERE id = ?", (parked_id,)
            ).fetchone()
            if row is None:
                raise ParkError("Cette vente en attente a déjà été reprise : choisissez-en une autre.")
            self.db.execute_sql("DELETE FROM parked_ticket WHERE id = ?", (parked_id,))
            self.ledger.record_event(
                self.db.connection(),
                "TICKET_ABANDONED",
                {
                    "parked": parked_id,
                    "name": row[0],
                    "total": int(row[1]),
                    "parked_by": row[2],
                    "user": member.name,
                },
            )

    def _restore(self, stored: list[dict[str, Any]], extra: dict[str, Any]) -> tuple[Basket, list[str]]:
        notes = []
        try:
            basket: Basket = _build(Basket, extra)
        except (TypeError, ValueError, ArithmeticError):
            basket = Basket()
            notes.append("Remise ou client du ticket illisible (version du logiciel) : ressaisissez-les.")
        basket.lines = []
        for data in stored:
            label = str(data.get("label", "?"))
            try:
                line = load_line(data)
            except (TypeError, ValueError, ArithmeticError):
                notes.append(f"« {label} » illisible (version du logiciel) : ligne retirée, ressaisissez-la.")
                continue
            if line.article_id is None:  # a free-amount line: nothing to check against
                basket.lines.append(line)
                continue
            article = self.catalogue.get(line.article_id)
            if article is None:
                amount = format_eur(line.amount)
                notes.append(f"« {label} » n'est plus au catalogue : ligne retirée ({amount}).")
                continue
            priced_label = article.sold_by_weight and not line.sold_by_weight  # a scale label's own price
            if line.original_unit_cents is not None:  # a manager changed the price: it stays
                if article.price_cents != line.original_unit_cents:
                    notes.append(
                        f"« {article.name} » : prix modifié par {getattr(line.override_by, 'name', '?')} "
                        f"conservé ({format_eur(line.unit_cents)}), le catalogue est passé à "
                        f"{format_eur(article.price_cents)}."
                    )
            elif not priced_label and article.price_cents != line.unit_cents:
                old = line.unit_cents
                line.unit_cents = article.price_cents
                notes.append(
                    f"« {article.name} » : nouveau prix {format_eur(article.price_cents)} "
                    f"(au lieu de {format_eur(old)})."
                )
            if article.vat_bp != line.vat_bp:
                notes.append(f"« {article.name} » : TVA passée à {format_rate(article.vat_bp)}.")
                line.vat_bp = article.vat_bp
            line.label = article.name
            line.reference = article.reference
            basket.lines.append(line)
        return basket, notes
