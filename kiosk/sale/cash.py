"""Cash control: the opening float, cash in and out with a reason, the end-of-day count by denomination.

Expected cash = float + cash taken on sales (net of change) − cash refunded + cash in − cash out; the
count's difference is recorded in its own append-only table (triggers refuse UPDATE and DELETE) and in the
JET, never changed afterwards: a second count is a new record, the latest of the day is the one reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from peewee import SqliteDatabase

from fiscal.journal import TICKET, FiscalLedger
from fiscal.timeutil import stamp
from kiosk.common.money import format_eur
from kiosk.staff.permissions import PermissionDenied, require
from kiosk.staff.service import StaffMember

# Euro notes then coins, in cents (500 € … 0,01 €)
NOTES = (50000, 20000, 10000, 5000, 2000, 1000, 500)
COINS = (200, 100, 50, 20, 10, 5, 2, 1)
DENOMINATIONS = NOTES + COINS
WIDTH = 42


class CashError(ValueError):
    """A cash operation refused; the message says what to do (French)."""


def denomination_label(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    text = f"{euros} €" if rest == 0 else f"{format_eur(cents)}"
    return f"{'Billet' if cents in NOTES else 'Pièce'} de {text}"


@dataclass(frozen=True)
class ExpectedCash:
    day: str
    float: int | None  # None: no float declared that day
    sales: int  # cash taken on sales, net of the change given
    refunds: int  # cash given back on returns (positive)
    cash_in: int
    cash_out: int

    @property
    def expected(self) -> int:
        return (self.float or 0) + self.sales - self.refunds + self.cash_in - self.cash_out


@dataclass(frozen=True)
class CashCount:
    id: int
    day: str
    expected: ExpectedCash
    counted: int
    difference: int  # counted - expected: negative when cash is missing
    denominations: dict[int, int]
    user: str


def _row(left: str, right: str, width: int = WIDTH) -> str:
    return f"{left}{' ' * max(1, width - len(left) - len(right))}{right}"


def cash_section(count: CashCount | None, expected: ExpectedCash | None = None, width: int = WIDTH) -> str:
    """« Contrôle des espèces » for the X and Z printouts: expected, counted, difference."""
    source = count.expected if count is not None else expected
    lines = ["-" * width, "Contrôle des espèces"]
    if source is not None:
        lines += [
            _row(
                "  Fond de caisse",
                format_eur(source.float) if source.float is not None else "non déclaré",
                width,
            ),
            _row("  Espèces des ventes", format_eur(source.sales), width),
            _row("  Remboursements espèces", format_eur(-source.refunds), width),
            _row("  Entrées de caisse", format_eur(source.cash_in), width),
            _row("  Sorties de caisse", format_eur(-source.cash_out), width),
            _row("  Espèces attendues", format_eur(source.expected), width),
        ]
    if count is None:
        lines.append("  Comptage : non effectué")
    else:
        lines += [
            _row("  Espèces comptées", format_eur(count.counted), width),
            _row("  Écart", format_eur(count.difference), width),
            f"  Compté par {count.user}",
        ]
    return "\n".join(lines) + "\n"


class CashService:
    def __init__(self, db: SqliteDatabase, ledger: FiscalLedger, clock: Callable[[], datetime]):
        self.db = db
        self.ledger = ledger
        self.clock = clock

    def drawer_without_sale(self, user: str, authorised_by: str) -> None:
        """Opening the drawer outside a sale is journaled (NF525 JET DRAWER_NO_SALE) before it opens."""
        self.ledger.record_event(
            self.db.connection(), "DRAWER_NO_SALE", {"user": user, "authorised_by": authorised_by}
        )

    def _require(self, member: StaffMember, permission: str, act: str) -> None:
        """require(), with the refusal journaled (JET PERMISSION_DENIED)."""
        try:
            require(member, permission)
        except PermissionDenied:
            self.ledger.record_event(
                self.db.connection(),
                "PERMISSION_DENIED",
                {"user": member.name, "permission": permission, "act": act},
            )
            raise

    def today(self) -> date:
        return self.clock().date()

    # -- movements ---------------------------------------------------------------------------------
    def float_of(self, day: date) -> int | None:
        row = self.db.execute_sql(
            "SELECT amount FROM cash_movement WHERE day = ? AND kind = 'FLOAT' ORDER BY id DESC LIMIT 1",
            (day.isoformat(),),
        ).fetchone()
        return int(row[0]) if row else None

    def last_float(self) -> int | None:
        """The most recent float declared, any day (offered again at the next opening)."""
        row = self.db.execute_sql(
            "SELECT amount FROM cash_movement WHERE kind = 'FLOAT' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else None

    def needs_float(self) -> bool:
        return self.float_of(self.today()) is None

    def declare_float(
        self, member: StaffMember, amount: int, authorised_by: StaffMember | None = None
    ) -> None:
        """The day's opening float; once declared, only a responsible may correct it (a new record)."""
        require(member, "cash_count")
        if amount < 0:
            raise CashError("Le fond de caisse ne peut pas être négatif.")
        current = self.float_of(self.today())
        if current is not None:
            if authorised_by is None:
                raise PermissionDenied(
                    f"Le fond de caisse du jour est déjà déclaré ({format_eur(current)}) : "
                    "seul un responsable peut le corriger."
                )
            self._require(authorised_by, "cash_control", "float_correction")
        reason = "Fond de caisse" if current is None else f"Correction du fond ({format_eur(current)})"
        self._move("FLOAT", member, amount, reason, authorised_by)

    def move(
        self, member: StaffMember, kind: str, amount: int, reason: str, authorised_by: StaffMember
    ) -> None:
        """Cash in (« IN ») or out (« OUT ») of the drawer, with its reason and a responsible's PIN."""
        self._require(authorised_by, "cash_control", f"cash_{kind.lower()}")
        if kind not in ("IN", "OUT"):
            raise ValueError(f"unknown movement {kind!r}")
        if amount <= 0:
            raise CashError("Saisissez un montant supérieur à 0,00 €.")
        reason = " ".join(reason.split())
        if not reason:
            raise CashError("Indiquez le motif (ex. : achat de timbres, apport de monnaie).")
        if kind == "OUT":
            in_drawer = self.expected(self.today()).expected  # every cash ticket of the day, read once
            if amount > in_drawer:
                raise CashError(
                    f"Sortie de {format_eur(amount)} impossible : la caisse ne devrait contenir que "
                    f"{format_eur(in_drawer)}."
                )
        self._move(kind, member, amount, reason[:80], authorised_by)

    def _move(
        self, kind: str, member: StaffMember, amount: int, reason: str, authorised_by: StaffMember | None
    ) -> None:
        when = self.clock()
        ts_utc, _, _ = stamp(when)
        code = {"FLOAT": "CASH_FLOAT", "IN": "CASH_IN", "OUT": "CASH_OUT"}[kind]
        with self.db.atomic():
            self.db.execute_sql(
                "INSERT INTO cash_movement (created_utc, day, kind, amount, reason, user_id, user_name, "
                "authorised_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts_utc,
                    when.date().isoformat(),
                    kind,
                    amount,
                    reason,
                    member.id,
                    member.name,
                    authorised_by.name if authorised_by else None,
                ),
            )
            self.ledger.record_event(
                self.db.connection(),
                code,
                {
                    "user": member.name,
                    "amount": amount,
                    "reason": reason,
                    "authorised_by": authorised_by.name if authorised_by else None,
                },
            )

    # -- expected and counted ----------------------------------------------------------------------
    def expected(self, day: date) -> ExpectedCash:
        key = day.isoformat()
        sums = dict(
            self.db.execute_sql(
                "SELECT kind, SUM(amount) FROM cash_movement WHERE day = ? AND kind != 'FLOAT' GROUP BY kind",
                (key,),
            ).fetchall()
        )
        sales = refunds = 0
        rows = self.db.execute_sql(
            "SELECT body FROM fiscal_record WHERE till = ? AND journal = ? AND day = ?",
            (self.ledger.till, TICKET, key),
        )
        for (body_text,) in rows:
            body = json.loads(body_text)
            cash = sum(int(t["amount"]) for t in body.get("tenders", []) if t.get("type") == "cash")
            cash -= int(body.get("change", 0))
            if body.get("kind") == "RETURN":
                refunds -= cash  # a return's tenders are negative: money handed back
            else:
                sales += cash
        return ExpectedCash(
            day=key,
            float=self.float_of(day),
            sales=sales,
            refunds=refunds,
            cash_in=int(sums.get("IN") or 0),
            cash_out=int(sums.get("OUT") or 0),
        )

    def record_count(self, member: StaffMember, counts: Mapping[int, int]) -> CashCount:
        """The drawer counted by denomination (quantities); the difference with the expected cash is
        recorded for good (append-only) and journaled."""
        require(member, "cash_count")
        clean: dict[int, int] = {}
        for cents, qty in counts.items():
            if cents not in DENOMINATIONS:
                raise CashError(f"Valeur inconnue : {format_eur(cents)}.")
            if qty < 0 or qty > 100_000:
                raise CashError(f"{denomination_label(cents)} : saisissez un nombre entre 0 et 100000.")
            if qty:
                clean[cents] = qty
        counted = sum(cents * qty for cents, qty in clean.items())
        when = self.clock()
        expected = self.expected(when.date())
        difference = counted - expected.expected
        ts_utc, _, _ = stamp(when)
        detail = json.dumps({str(k): v for k, v in sorted(clean.items(), reverse=True)})
        conn = self.db.connection()
        with self.db.atomic():
            cursor = self.db.execute_sql(
                "INSERT INTO cash_count (created_utc, day, float, sales, refunds, cash_in, cash_out, expected, "
                "counted, difference, denominations, user_id, user_name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts_utc,
                    expected.day,
                    expected.float if expected.float is not None else -1,
                    expected.sales,
                    expected.refunds,
                    expected.cash_in,
                    expected.cash_out,
                    expected.expected,
                    counted,
                    difference,
                    detail,
                    member.id,
                    member.name,
                ),
            )
            self.ledger.record_event(
                conn,
                "CASH_COUNT",
                {
                    "user": member.name,
                    "day": expected.day,
                    "expected": expected.expected,
                    "counted": counted,
                    "difference": difference,
                    "denominations": {str(k): v for k, v in clean.items()},
                },
            )
        return CashCount(
            int(cursor.lastrowid), expected.day, expected, counted, difference, clean, member.name
        )

    def last_count(self, day: date) -> CashCount | None:
        row = self.db.execute_sql(
            "SELECT id, day, float, sales, refunds, cash_in, cash_out, counted, difference, denominations, "
            "user_name FROM cash_count WHERE day = ? ORDER BY id DESC LIMIT 1",
            (day.isoformat(),),
        ).fetchone()
        if row is None:
            return None
        count_id, key, float_, sales, refunds, cash_in, cash_out, counted, difference, detail, user = row
        expected = ExpectedCash(key, None if float_ < 0 else float_, sales, refunds, cash_in, cash_out)
        denominations = {int(k): int(v) for k, v in json.loads(detail).items()}
        return CashCount(count_id, key, expected, counted, difference, denominations, user)

    def report_section(self, day: date, *, live: bool) -> str:
        """The printed section: the day's latest count; `live` (X report) also shows the expected cash
        without a count."""
        count = self.last_count(day)
        return cash_section(count, self.expected(day) if live or count is None else None)
