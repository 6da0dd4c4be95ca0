"""X and Z reports: the totals of a day (or any period), as data, as French text and as JSON.

- X report (« lecture ») : computed live from the TICKET journal for a day or a range of days, at any
  time; it reads only and resets nothing (no record, no closure, no write of any kind).
- Z report : the content of a signed closure record (DAY, and also MONTH or YEAR), as it was signed.

Both carry the same totals (see fiscal.closures for their fields): per VAT rate HT / TVA / TTC, per
tender (cash net of change), ticket counts, first and last ticket numbers, sales / returns / net, the
period's own totals and the grand totals. Amounts are integer cents; the text formats them « 12,50 € »
with a local formatter (fiscal/ imports nothing from kiosk/).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from . import canonical
from .closures import find_closure, period_summary
from .journal import CLOSURE, FiscalError, FiscalLedger, Record
from .periods import DAY, MONTH, YEAR, fr_date, month_bounds, period_label
from .timeutil import parse_utc, stamp

WIDTH = 42
TENDER_LABELS = {
    "cash": "Espèces",
    "card": "Carte bancaire",
    "cheque": "Chèque",
    "voucher": "Avoir / bon d'achat",
    "meal_voucher": "Ticket restaurant",
    "meal_voucher_card": "Ticket restaurant (carte)",
    "holiday_voucher": "Chèques vacances",
    "loyalty": "Cagnotte fidélité",
    "transfer": "Virement",
    "other": "Autre",
}
CLOSURE_LABELS = {DAY: "clôture journalière", MONTH: "clôture mensuelle", YEAR: "clôture annuelle"}


def format_eur(cents: int, *, symbol: bool = True) -> str:
    """12,50 € / -3,00 € / 1 234,56 € (plain spaces, printable on any code page)."""
    sign = "-" if cents < 0 else ""
    units, dec = divmod(abs(int(cents)), 100)
    grouped = f"{units:,}".replace(",", " ")
    text = f"{sign}{grouped},{dec:02d}"
    return f"{text} €" if symbol else text


def format_rate(rate_bp: int) -> str:
    """VAT rate in basis points → « 5,5 % », « 20 % », « 2,1 % »."""
    units, dec = divmod(int(rate_bp), 100)
    return f"{units} %" if dec == 0 else f"{units},{str(dec).rjust(2, '0').rstrip('0')} %"


def ticket_number(till: str, seq: int) -> str:
    """The number printed on the receipt: T01-000042."""
    return f"{till}-{seq:06d}"


def _row(left: str, right: str, width: int = WIDTH) -> str:
    gap = max(1, width - len(left) - len(right))
    return f"{left}{' ' * gap}{right}"


@dataclass(frozen=True)
class PeriodReport:
    """An X or Z report; `totals` has the shape of a closure body (fiscal.closures)."""

    report: str  # "X" or "Z"
    till: str
    kind: str  # DAY, MONTH, YEAR, or PERIOD (an X report over any range of days)
    period: str  # "2026-11-25", "2026-11", "2026", or "2026-11-01/2026-11-15"
    start: str  # first local day covered, YYYY-MM-DD
    end: str  # last local day covered
    issued_utc: str  # when the report was computed (X) or the closure signed (Z)
    issued_offset: int  # minutes east of UTC at that moment
    totals: dict[str, Any] = field(default_factory=dict)
    closure_seq: int | None = None
    closure_sig: str | None = None

    # -- convenient views ----------------------------------------------------------------------------
    @property
    def net(self) -> int:
        return int(self.totals["net"])

    @property
    def vat(self) -> list[dict[str, int]]:
        return list(self.totals.get("vat", []))

    @property
    def tenders(self) -> dict[str, int]:
        return {str(t["type"]): int(t["amount"]) for t in self.totals.get("tenders", [])}

    @property
    def issued_local(self) -> datetime:
        """Local wall-clock time of issue (naive)."""
        return parse_utc(self.issued_utc).replace(tzinfo=None) + timedelta(minutes=self.issued_offset)

    # -- output --------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "till": self.till,
            "kind": self.kind,
            "period": self.period,
            "from": self.start,
            "to": self.end,
            "issued_utc": self.issued_utc,
            "issued_offset": self.issued_offset,
            "closure": (
                {"seq": self.closure_seq, "sig": self.closure_sig} if self.closure_seq is not None else None
            ),
            "totals": self.totals,
        }

    def as_json(self, indent: int | None = None) -> str:
        """Canonical JSON (sorted keys, integer cents); `indent` for a human-readable copy."""
        if indent is None:
            return canonical.dumps(self.as_dict())
        canonical.dumps(self.as_dict())  # refuses floats the same way
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, indent=indent)

    def title(self) -> str:
        if self.report == "Z":
            label = CLOSURE_LABELS.get(self.kind, "clôture")
            number = f" n°{self.closure_seq}" if self.closure_seq is not None else ""
            return f"RAPPORT Z - {label}{number}"
        return "RAPPORT X - lecture sans remise à zéro"

    def period_text(self) -> str:
        if self.kind == DAY:
            return f"Journée du {fr_date(self.start)}"
        span = f"du {fr_date(self.start)} au {fr_date(self.end)}"
        if self.kind in (MONTH, YEAR):
            label = period_label(self.kind, self.period)
            return f"{label[0].upper()}{label[1:]} ({span})"
        return span[0].upper() + span[1:]

    def as_text(self, width: int = WIDTH) -> str:
        t = self.totals
        rule = "-" * width
        issued = self.issued_local
        lines = [
            self.title(),
            f"Caisse {self.till}",
            self.period_text(),
            f"Édité le {issued:%d/%m/%Y} à {issued:%H:%M}",
            rule,
            _row("Tickets", str(t["tickets"]), width),
            _row("  dont ventes", str(t["sales_count"]), width),
            _row("  dont retours", str(t["returns_count"]), width),
        ]
        if t.get("first_seq") is not None:
            first, last = ticket_number(self.till, t["first_seq"]), ticket_number(self.till, t["last_seq"])
            lines.append(f"Du ticket {first} au {last}")
        else:
            lines.append("Aucun ticket sur la période")
        lines += [
            rule,
            _row("Ventes", format_eur(t["sales"]), width),
            _row("Retours", format_eur(t["returns"]), width),
            _row("TOTAL NET TTC", format_eur(t["net"]), width),
            rule,
            f"{'TVA':<9}{'HT':>11}{'TVA':>11}{'TTC':>11}",
        ]
        for row in t.get("vat", []):
            lines.append(
                f"{format_rate(row['rate']):<9}{format_eur(row['ht'], symbol=False):>11}"
                f"{format_eur(row['tva'], symbol=False):>11}{format_eur(row['ttc'], symbol=False):>11}"
            )
        sums = {key: sum(int(row[key]) for row in t.get("vat", [])) for key in ("ht", "tva", "ttc")}
        lines.append(
            f"{'Total':<9}{format_eur(sums['ht'], symbol=False):>11}"
            f"{format_eur(sums['tva'], symbol=False):>11}{format_eur(sums['ttc'], symbol=False):>11}"
        )
        lines += [rule, "Règlements"]
        for row in t.get("tenders", []):
            label = f"{TENDER_LABELS.get(row['type'], row['type'])} ({row.get('count', 0)})"
            lines.append(_row(f"  {label}", format_eur(row["amount"]), width))
        if not t.get("tenders"):
            lines.append("  aucun")
        lines.append(_row("  Rendu monnaie", format_eur(t.get("change", 0)), width))
        own = t.get("period_totals") or {}
        gt = t.get("gt") or {}
        lines += [
            rule,
            _row("Cumul période perpétuel", format_eur(int(own.get("perpetual", 0))), width),
            _row("Cumul période absolu", format_eur(int(own.get("absolute", 0))), width),
            _row("Grand total perpétuel", format_eur(int(gt.get("perpetual", 0))), width),
            _row("Grand total absolu", format_eur(int(gt.get("absolute", 0))), width),
        ]
        if self.report == "Z":
            if self.kind in (MONTH, YEAR):
                lines.append(f"Cumul de {len(t.get('parts', []))} clôture(s)")
            lines += [rule, f"Signature {(self.closure_sig or '')[:24]}…"]
        else:
            lines += [rule, "Document de contrôle : ne vaut pas clôture."]
        return "\n".join(lines) + "\n"


def _kind_of(start: date, end: date) -> tuple[str, str]:
    if start == end:
        return DAY, start.isoformat()
    if (start, end) == month_bounds(start.year, start.month):
        return MONTH, f"{start.year:04d}-{start.month:02d}"
    return "PERIOD", f"{start.isoformat()}/{end.isoformat()}"


def x_report(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    start: date,
    end: date | None = None,
    *,
    when: datetime | None = None,
) -> PeriodReport:
    """Live totals of the tickets of `start` (to `end` inclusive); reads only, writes nothing."""
    end = end or start
    if end < start:
        raise ValueError("end before start")
    issued_utc, issued_offset, _ = stamp(when or ledger.clock())
    kind, period = _kind_of(start, end)
    totals = period_summary(conn, ledger.till, start, end)
    return PeriodReport(
        report="X",
        till=ledger.till,
        kind=kind,
        period=period,
        start=start.isoformat(),
        end=end.isoformat(),
        issued_utc=issued_utc,
        issued_offset=issued_offset,
        totals=totals,
    )


def z_report_from_record(record: Record) -> PeriodReport:
    """The Z report of a closure record, exactly as signed."""
    if record.journal != CLOSURE:
        raise ValueError(f"not a closure record: {record.label}")
    body = record.data()
    totals = {k: v for k, v in body.items() if k not in ("kind", "period")}
    return PeriodReport(
        report="Z",
        till=record.till,
        kind=record.rtype,
        period=str(body["period"]),
        start=str(body["from"]),
        end=str(body["to"]),
        issued_utc=record.ts_utc,
        issued_offset=record.tz_offset,
        totals=totals,
        closure_seq=record.seq,
        closure_sig=record.sig,
    )


def z_report(
    ledger: FiscalLedger, conn: sqlite3.Connection, period: date | str, kind: str = DAY
) -> PeriodReport:
    """The Z report of the closure of `period` (a day; or "2026-11" with kind MONTH, "2026" with YEAR)."""
    key = period.isoformat() if isinstance(period, date) else period
    record = find_closure(ledger, conn, kind, key)
    if record is None:
        raise FiscalError(
            f"Aucune clôture pour {period_label(kind, key)} : le rapport Z n'existe pas encore."
        )
    return z_report_from_record(record)
