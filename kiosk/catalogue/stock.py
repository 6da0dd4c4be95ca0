"""Stock as a ledger of movements, never an overwritten number.

Every change is a `stock_movement` row (uuid id, so movements from other tills or the portal merge without
conflicts, and merging twice changes nothing); the balance per article is derived from them and cached in
`stock_balance`, updated in the same transaction and rebuildable. Quantities are thousandths of a unit
(grams for articles sold by weight). Sales decrement and refunds increment through a checkout listener,
inside the ticket's transaction.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from peewee import SqliteDatabase

from kiosk.common.money import round_half_up
from kiosk.staff.permissions import HasRole, require

if TYPE_CHECKING:
    from kiosk.sale.checkout import CompletedSale

KINDS = {
    "sale": "Vente",
    "refund": "Remboursement",
    "reception": "Réception",
    "adjustment": "Ajustement",
    "loss": "Perte / casse",
    "inventory": "Inventaire",
    "transfer": "Transfert",
}
MANUAL_KINDS = ("reception", "adjustment", "loss", "transfer")
MILLI = 1000
MAX_MILLI = 1_000_000 * MILLI


class StockError(ValueError):
    """A stock operation refused; the message says what to do (French)."""


def to_milli(qty: Decimal) -> int:
    milli = qty * MILLI
    if milli != milli.to_integral_value():
        raise StockError("Trois décimales au plus pour une quantité de stock.")
    return int(milli)


def parse_stock_qty(text: str, *, signed: bool = True) -> Decimal:
    """A quantity typed by the manager ("12", "-3", "1,250") → Decimal; French errors."""
    cleaned = text.strip().replace(",", ".").replace(" ", "")
    try:
        qty = Decimal(cleaned)
    except InvalidOperation:
        raise StockError(
            f"Quantité invalide « {text.strip()} » : saisissez un nombre comme 12 ou -3."
        ) from None
    if not qty.is_finite() or abs(qty) * MILLI > MAX_MILLI:
        raise StockError(f"Quantité invalide « {text.strip()} » : vérifiez la saisie.")
    if not signed and qty < 0:
        raise StockError("Quantité négative : saisissez 0 ou plus.")
    to_milli(qty)
    return qty


def format_stock(milli: int) -> str:
    """1500 → "1,5"; 12000 → "12"."""
    text = f"{Decimal(milli) / MILLI:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


@dataclass(frozen=True)
class Movement:
    id: str
    article_id: int
    qty_milli: int
    kind: str
    reason: str
    user: str
    ticket: str | None
    till: str
    created_utc: str

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class StockLine:
    article_id: int
    reference: str
    name: str
    category: str
    balance_milli: int
    threshold_milli: int | None
    price_cents: int
    cost_cents: int | None

    @property
    def alert(self) -> bool:
        return self.threshold_milli is not None and self.balance_milli <= self.threshold_milli


@dataclass(frozen=True)
class Valuation:
    sale_cents: int
    cost_cents: int
    articles: int
    without_cost: int


_MOVEMENT_COLUMNS = "id, article_id, qty_milli, kind, reason, user, ticket, till, created_utc"


class StockService:
    def __init__(self, db: SqliteDatabase, clock: Callable[[], datetime], till_id: str):
        self.db = db
        self.clock = clock
        self.till_id = till_id
        # Called with (conn, movement) for each new local movement, inside its transaction (the uplink's
        # outbox, so that the shop's other tills merge it).
        self.on_movement: list[Callable[[sqlite3.Connection, dict[str, Any]], None]] = []

    # -- writing ---------------------------------------------------------------------------------
    def _now_utc(self) -> str:
        return self.clock().astimezone(UTC).isoformat(timespec="seconds")

    def record(
        self,
        conn: sqlite3.Connection,
        article_id: int,
        qty_milli: int,
        kind: str,
        reason: str = "",
        user: str = "",
        ticket: str | None = None,
        created_utc: str | None = None,
    ) -> str:
        """Append one movement and update the cached balance; the caller holds the transaction."""
        movement_id = str(uuid.uuid4())
        created_utc = created_utc or self._now_utc()
        conn.execute(
            f"INSERT INTO stock_movement ({_MOVEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                movement_id,
                article_id,
                qty_milli,
                kind,
                reason,
                user,
                ticket,
                self.till_id,
                created_utc,
            ),
        )
        _add_to_balance(conn, article_id, qty_milli)
        self._announce(
            conn,
            [(movement_id, article_id, qty_milli, kind, reason, user, ticket, self.till_id, created_utc)],
        )
        return movement_id

    def _announce(
        self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]], refs: dict[int, str] | None = None
    ) -> None:
        """Tell the listeners (the uplink's outbox) about new local movements, in their transaction, as
        `merge()` takes them on another till: with the article's reference (`refs`: id -> reference, when
        the caller already has them)."""
        if not self.on_movement or not rows:
            return
        if refs is None:
            ids = sorted({int(r[1]) for r in rows})
            refs = dict(
                conn.execute(
                    f"SELECT id, reference FROM article WHERE id IN ({','.join('?' * len(ids))})", ids
                ).fetchall()
            )
        keys = _MOVEMENT_COLUMNS.split(", ")
        for row in rows:
            movement = dict(zip(keys, row, strict=True)) | {"reference": refs.get(int(row[1]), "")}
            for listener in self.on_movement:
                listener(conn, movement)

    def move(self, member: HasRole, article_id: int, qty: Decimal, kind: str, reason: str) -> Movement:
        """A manual movement (« Mouvement »): received goods, breakage, a correction... with its reason."""
        require(member, "catalogue")
        if kind not in MANUAL_KINDS:
            raise StockError("Type de mouvement inconnu : réception, ajustement, perte ou transfert.")
        qty_milli = to_milli(qty)
        if qty_milli == 0:
            raise StockError("Quantité nulle : saisissez le nombre d'articles ajoutés ou retirés.")
        if kind in ("reception",) and qty_milli < 0:
            raise StockError("Une réception ajoute du stock : saisissez une quantité positive.")
        if kind == "loss" and qty_milli > 0:
            qty_milli = -qty_milli  # a loss always takes away
        reason = " ".join(reason.split())
        if not reason and kind in ("adjustment", "transfer"):
            raise StockError("Indiquez la raison du mouvement (par exemple « erreur de comptage »).")
        self._article(article_id)
        conn = self.db.connection()
        with self.db.atomic():
            movement_id = self.record(conn, article_id, qty_milli, kind, reason[:120], member.name)
        return self.movement(movement_id)

    def merge(self, movements: Iterable[dict[str, Any]]) -> int:
        """Movements from another till or the portal; those already here (same id) are skipped, so merging
        twice changes nothing. The article is found by its reference (ids differ between tills); a
        movement of an article unknown here is skipped. Returns how many were new; the balances follow
        in the same transaction."""
        with self.db.atomic():
            return self.merge_rows(self.db.connection(), movements)

    def merge_rows(self, conn: sqlite3.Connection, movements: Iterable[dict[str, Any]]) -> int:
        """`merge()` inside the caller's transaction (the uplink's inbound events)."""
        added = 0
        movements = list(movements)
        refs = sorted({str(m["reference"]) for m in movements if "reference" in m})
        ids = dict(
            conn.execute(
                f"SELECT reference, id FROM article WHERE reference IN ({','.join('?' * len(refs))})", refs
            ).fetchall()
        )
        for m in movements:
            article_id = ids.get(m["reference"]) if "reference" in m else m.get("article_id")
            if article_id is None:
                continue
            values = {**m, "article_id": article_id}
            cursor = conn.execute(
                f"INSERT OR IGNORE INTO stock_movement ({_MOVEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(values[k] for k in _MOVEMENT_COLUMNS.split(", ")),
            )
            if cursor.rowcount:
                _add_to_balance(conn, int(article_id), int(m["qty_milli"]))
                added += 1
        return added

    def movements_after(self, rowid: int = 0, limit: int = 1000) -> list[tuple[int, dict[str, Any]]]:
        """Movements after `rowid`, oldest first, as `merge()` takes them on another till or the portal
        (with the article's reference): (rowid to resume from, movement)."""
        columns = ", ".join(f"m.{c}" for c in _MOVEMENT_COLUMNS.split(", "))
        rows = self.db.execute_sql(
            f"SELECT m.rowid, {columns}, a.reference FROM stock_movement m JOIN article a ON a.id = m.article_id "
            "WHERE m.rowid > ? ORDER BY m.rowid LIMIT ?",
            (rowid, limit),
        ).fetchall()
        keys = [*_MOVEMENT_COLUMNS.split(", "), "reference"]
        return [(r[0], dict(zip(keys, r[1:], strict=True))) for r in rows]

    def rebuild_balances(self) -> None:
        """Recompute the cached balances from the movements (after a restore, or to check them)."""
        with self.db.atomic():
            self.db.execute_sql("DELETE FROM stock_balance")
            self.db.execute_sql(
                "INSERT INTO stock_balance (article_id, qty_milli) "
                "SELECT article_id, SUM(qty_milli) FROM stock_movement GROUP BY article_id"
            )

    def set_threshold(self, member: HasRole, article_id: int, threshold: Decimal | None) -> None:
        require(member, "catalogue")
        self._article(article_id)
        with self.db.atomic():
            self.db.execute_sql("DELETE FROM stock_alert WHERE article_id = ?", (article_id,))
            if threshold is not None:
                if threshold < 0:
                    raise StockError("Seuil d'alerte négatif : saisissez 0 ou plus.")
                self.db.execute_sql(
                    "INSERT INTO stock_alert (article_id, threshold_milli) VALUES (?, ?)",
                    (article_id, to_milli(threshold)),
                )

    # -- sales -----------------------------------------------------------------------------------
    def on_checkout(self, conn: sqlite3.Connection, sale: CompletedSale) -> None:
        """Checkout listener: a sale takes its lines out of the stock, a refund (RETURN) puts them back.
        Training tickets are fictitious and never touch the stock."""
        if sale.record.journal == "TRAINING":
            return
        refund = sale.body.get("kind") == "RETURN"
        created = sale.when.astimezone(UTC).isoformat(timespec="seconds")
        user = str((sale.body.get("cashier") or {}).get("name", ""))
        lines = [line for line in sale.body.get("lines", []) if line.get("ref")]
        if not lines:
            return
        refs = list({str(line["ref"]) for line in lines})
        ids = dict(
            conn.execute(
                f"SELECT reference, id FROM article WHERE reference IN ({','.join('?' * len(refs))})", refs
            ).fetchall()
        )
        movements = []
        for line in lines:
            article_id = ids.get(line["ref"])
            if article_id is None:  # a free amount, or an article unknown here
                continue
            try:
                qty = to_milli(Decimal(str(line.get("qty", "1"))))
            except (InvalidOperation, StockError):
                continue
            delta = abs(qty) if refund else -qty
            kind = "refund" if refund or qty < 0 else "sale"
            movements.append(
                (str(uuid.uuid4()), article_id, delta, kind, "", user, sale.number, self.till_id, created)
            )
        conn.executemany(
            f"INSERT INTO stock_movement ({_MOVEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", movements
        )
        conn.executemany(
            "INSERT INTO stock_balance (article_id, qty_milli) VALUES (?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET qty_milli = qty_milli + excluded.qty_milli",
            [(m[1], m[2]) for m in movements],
        )
        self._announce(conn, movements, {article_id: ref for ref, article_id in ids.items()})

    # -- reading ---------------------------------------------------------------------------------
    def _article(self, article_id: int) -> None:
        if not self.db.execute_sql("SELECT 1 FROM article WHERE id = ?", (article_id,)).fetchone():
            raise StockError("Article introuvable : choisissez-le de nouveau.")

    def balance(self, article_id: int) -> int:
        """The cached balance in thousandths (0 when nothing moved)."""
        row = self.db.execute_sql(
            "SELECT qty_milli FROM stock_balance WHERE article_id = ?", (article_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def movement(self, movement_id: str) -> Movement:
        row = self.db.execute_sql(
            f"SELECT {_MOVEMENT_COLUMNS} FROM stock_movement WHERE id = ?", (movement_id,)
        ).fetchone()
        return Movement(*row)

    def history(self, article_id: int, limit: int = 50) -> list[Movement]:
        rows = self.db.execute_sql(
            f"SELECT {_MOVEMENT_COLUMNS} FROM stock_movement WHERE article_id = ? "
            "ORDER BY created_utc DESC, rowid DESC LIMIT ?",
            (article_id, limit),
        ).fetchall()
        return [Movement(*r) for r in rows]

    def lines(
        self,
        *,
        only_tracked: bool = False,
        category: str | None = None,
        only_alerts: bool = False,
        limit: int = -1,
    ) -> list[StockLine]:
        """Stock of the active articles (tracked: with movements or a threshold), in category order."""
        where = ["a.archived = 0"]
        params: list[Any] = []
        if only_alerts:
            where.append("s.threshold_milli IS NOT NULL AND COALESCE(b.qty_milli, 0) <= s.threshold_milli")
        if only_tracked:
            where.append("(b.article_id IS NOT NULL OR s.article_id IS NOT NULL)")
        if category:
            where.append("c.key = ?")
            params.append(category)
        rows = self.db.execute_sql(
            "SELECT a.id, a.reference, a.name, c.name, COALESCE(b.qty_milli, 0), s.threshold_milli, "
            "a.price_cents, a.cost_cents FROM article a JOIN category c ON c.id = a.category_id "
            "LEFT JOIN stock_balance b ON b.article_id = a.id LEFT JOIN stock_alert s ON s.article_id = a.id "
            f"WHERE {' AND '.join(where)} ORDER BY c.position, a.name LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [StockLine(*r) for r in rows]

    def line(self, article_id: int) -> StockLine | None:
        rows = self.db.execute_sql(
            "SELECT a.id, a.reference, a.name, c.name, COALESCE(b.qty_milli, 0), s.threshold_milli, "
            "a.price_cents, a.cost_cents FROM article a JOIN category c ON c.id = a.category_id "
            "LEFT JOIN stock_balance b ON b.article_id = a.id LEFT JOIN stock_alert s ON s.article_id = a.id "
            "WHERE a.id = ?",
            (article_id,),
        ).fetchall()
        return StockLine(*rows[0]) if rows else None

    def alerts(self) -> list[StockLine]:
        """Active articles whose stock reached their alert threshold (at or below it)."""
        rows = self.db.execute_sql(
            "SELECT a.id, a.reference, a.name, c.name, COALESCE(b.qty_milli, 0), s.threshold_milli, "
            "a.price_cents, a.cost_cents FROM stock_alert s JOIN article a ON a.id = s.article_id "
            "JOIN category c ON c.id = a.category_id LEFT JOIN stock_balance b ON b.article_id = a.id "
            "WHERE a.archived = 0 AND COALESCE(b.qty_milli, 0) <= s.threshold_milli "
            "ORDER BY c.position, a.name"
        ).fetchall()
        return [StockLine(*r) for r in rows]

    def alert_count(self) -> int:
        return int(
            self.db.execute_sql(
                "SELECT COUNT(*) FROM stock_alert s JOIN article a ON a.id = s.article_id "
                "LEFT JOIN stock_balance b ON b.article_id = a.id "
                "WHERE a.archived = 0 AND COALESCE(b.qty_milli, 0) <= s.threshold_milli"
            ).fetchone()[0]
        )

    def valuation(self) -> Valuation:
        """Stock in hand valued at today's sale price TTC, and at cost where the cost is known."""
        sale = cost = articles = without = 0
        for qty, price, unit_cost in self.db.execute_sql(
            "SELECT b.qty_milli, a.price_cents, a.cost_cents FROM stock_balance b "
            "JOIN article a ON a.id = b.article_id WHERE a.archived = 0 AND b.qty_milli > 0"
        ):
            articles += 1
            sale += qty * price
            if unit_cost is None:
                without += 1
            else:
                cost += qty * unit_cost
        return Valuation(
            round_half_up(Decimal(sale) / MILLI), round_half_up(Decimal(cost) / MILLI), articles, without
        )


def _add_to_balance(conn: sqlite3.Connection, article_id: int, qty_milli: int) -> None:
    conn.execute(
        "INSERT INTO stock_balance (article_id, qty_milli) VALUES (?, ?) "
        "ON CONFLICT (article_id) DO UPDATE SET qty_milli = qty_milli + excluded.qty_milli",
        (article_id, qty_milli),
    )


# -- inventory count ----------------------------------------------------------------------------
@dataclass
class CountLine:
    article_id: int
    reference: str
    name: str
    expected_milli: int
    counted_milli: int = 0

    @property
    def difference_milli(self) -> int:
        return self.counted_milli - self.expected_milli


@dataclass
class InventoryCount:
    """Articles scanned or typed one by one (each scan counts one more), reviewed, then posted: only the
    differences become `inventory` movements. Articles not counted are left as they are."""

    stock: StockService
    lines: dict[int, CountLine] = field(default_factory=dict)

    def add(self, article_id: int, reference: str, name: str, qty: Decimal = Decimal(1)) -> CountLine:
        line = self.lines.get(article_id)
        if line is None:
            line = CountLine(article_id, reference, name, self.stock.balance(article_id))
            self.lines[article_id] = line
        line.counted_milli += to_milli(qty)
        if line.counted_milli < 0:
            line.counted_milli = 0
        return line

    def set(self, article_id: int, qty: Decimal) -> None:
        if qty < 0:
            raise StockError("Quantité comptée négative : saisissez 0 ou plus.")
        self.lines[article_id].counted_milli = to_milli(qty)

    def differences(self) -> list[CountLine]:
        return [line for line in self.lines.values() if line.difference_milli]

    def post(self, member: HasRole, label: str = "") -> int:
        """Write the differences as movements, in one transaction; returns how many were written.
        The expected quantities are read again at posting: sales made meanwhile are not counted twice."""
        require(member, "catalogue")
        conn = self.stock.db.connection()
        written = 0
        reason = label or f"Inventaire du {self.stock.clock().strftime('%d/%m/%Y')}"
        with self.stock.db.atomic():
            for line in self.lines.values():
                delta = line.counted_milli - self.stock.balance(line.article_id)
                if delta:
                    self.stock.record(conn, line.article_id, delta, "inventory", reason, member.name)
                    written += 1
        self.lines.clear()
        return written
