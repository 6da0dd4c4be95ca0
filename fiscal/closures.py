"""Period closures (clôtures journalière, mensuelle, annuelle): signed records of the CLOSURE journal.

A closure freezes the totals of a period in a signed record chained like every other journal record
(rtype "DAY", "MONTH" or "YEAR"). Its body is canonical JSON (integer cents, no float):

    kind, period                "DAY" / "2026-11-25", "MONTH" / "2026-11", "YEAR" / "2026"
    from, to                    first and last local calendar day covered (YYYY-MM-DD)
    tickets, sales_count, returns_count
    sales, returns, net         sum of SALE tickets, of RETURN tickets (negative), and of both
    vat                         [{rate, ht, tva, ttc}] per VAT rate (basis points), sorted by rate
    tenders                     [{type, amount, count}] per tender type; cash is net of change given
    change                      change given back in cash over the period
    first_seq, last_seq         first and last ticket numbers covered (null when none)
    last_sig                    signature of the last ticket covered (null when none)
    gt                          grand totals {perpetual, absolute} as of the last ticket covered, or
                                carried from the previous closure when the period has no ticket
    period_totals               the period's own totals {perpetual: net, absolute: sum of |ticket|}
    parts                       MONTH and YEAR only: [{period, seq, sig}] of the DAY (or MONTH) closures
                                summed, so a month is exactly the sum of its days and a year of its months
    first_month                 YEAR only: first calendar month of the fiscal year

A DAY closure sums the TICKET records whose `day` column (local calendar day) is the closed day. The
record's own `day` column is the day the closure was *made* (usually the next morning); the closed
period is in the body. The record's `total` column is the period's net total.

Rules:
- a period is closed once; a day is closed only once it is over (before today), unless the manager
  closes today explicitly (`force_today=True`, « fermer la journée »); a future day never;
- days with tickets close in chronological order (an earlier day with unclosed tickets must be closed
  first: `close_pending` does that, as the first act of a new day);
- a month closes once it is over and every day of it that has tickets is closed; a fiscal year once
  it is over and every month of it that has tickets is closed;
- fiscal years: `first_month` (1 to 12) sets where the fiscal year starts; a fiscal year is named after
  the calendar year it *starts* in, so the fiscal year "2026" with first_month=7 runs from 2026-07 to
  2027-06 (its body says so: from "2026-07-01", to "2027-06-30", first_month 7).

`check_closures` recomputes every closure from the tickets (DAY) or from its parts (MONTH, YEAR), so a
verifier can tell a closure that does not add up, or tickets recorded in a day after it was closed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from .journal import CLOSURE, COLUMNS, TICKET, FiscalError, FiscalLedger, Record, transaction
from .periods import (
    DAY,
    KINDS,
    MONTH,
    MONTH_NAMES,
    YEAR,
    fiscal_year_bounds,
    fiscal_year_of,
    fr_date,
    month_bounds,
    period_label,
)

_PARTS_OF = {MONTH: DAY, YEAR: MONTH}
_RANK = {DAY: 0, MONTH: 1, YEAR: 2}

_T = TypeVar("_T")
_TOTAL_KEYS = ("tickets", "sales_count", "returns_count", "sales", "returns", "net", "change")


# -- reading the journals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Closure:
    """A CLOSURE record with its decoded body."""

    record: Record
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.record.rtype

    @property
    def period(self) -> str:
        return str(self.body.get("period", ""))

    @property
    def start(self) -> str:
        return str(self.body.get("from", ""))

    @property
    def end(self) -> str:
        return str(self.body.get("to", ""))


def closures(conn: sqlite3.Connection, till: str, kind: str | None = None) -> list[Closure]:
    """The till's closures in journal order, optionally of one kind."""
    sql = f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ?"
    params: list[Any] = [till, CLOSURE]
    if kind is not None:
        sql += " AND rtype = ?"
        params.append(kind)
    found = []
    for row in conn.execute(sql + " ORDER BY seq", params):
        record = Record.from_row(row)
        try:
            body = record.data()
        except ValueError:
            body = {}
        found.append(Closure(record, body))
    return found


def find_closure(ledger: FiscalLedger, conn: sqlite3.Connection, kind: str, period: str) -> Record | None:
    """The closure of `kind` for `period` ("2026-11-25", "2026-11", "2026"), or None."""
    try:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? "
            "AND json_extract(body, '$.period') = ? ORDER BY seq LIMIT 1",
            (ledger.till, CLOSURE, kind, period),
        ).fetchone()
    except sqlite3.OperationalError:  # SQLite without JSON functions, or an unreadable body
        return next((c.record for c in closures(conn, ledger.till, kind) if c.period == period), None)
    return Record.from_row(row) if row else None


def last_closed_day(ledger: FiscalLedger, conn: sqlite3.Connection) -> str | None:
    """The period of the newest DAY closure (days close in date order): a walk back from the journal's
    head through the few MONTH/YEAR records, not a scan of every closure — it runs at every sale."""
    rows = conn.execute(
        "SELECT body FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? ORDER BY seq DESC LIMIT 1",
        (ledger.till, CLOSURE, DAY),
    ).fetchone()
    if rows is None:
        return None
    try:
        return str(json.loads(rows[0])["period"])
    except (ValueError, KeyError):
        return None


def is_day_closed(ledger: FiscalLedger, conn: sqlite3.Connection, day: date) -> bool:
    """True when `day` is closed, or earlier than a closed day (days close in order): the checkout then
    refuses tickets dated that day."""
    last = last_closed_day(ledger, conn)
    return last is not None and day.isoformat() <= last


def tickets_between(
    conn: sqlite3.Connection, till: str, start: date | str, end: date | str, max_seq: int | None = None
) -> list[Record]:
    """TICKET records whose local `day` is within [start, end], in seq order."""
    sql = f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND day BETWEEN ? AND ?"
    params: list[Any] = [till, TICKET, str(start), str(end)]
    if max_seq is not None:
        sql += " AND +seq <= ?"  # unary +: keep the day index (the seq index read every earlier ticket)
        params.append(max_seq)
    return [Record.from_row(row) for row in conn.execute(sql + " ORDER BY seq", params)]


def _ticket_days(conn: sqlite3.Connection, till: str, before: date | None = None) -> list[str]:
    sql = "SELECT DISTINCT day FROM fiscal_record WHERE till = ? AND journal = ?"
    params: list[Any] = [till, TICKET]
    if before is not None:
        sql += " AND day < ?"
        params.append(before.isoformat())
    return sorted(row[0] for row in conn.execute(sql, params))


# -- aggregation ----------------------------------------------------------------------------------------


def _zero_gt() -> dict[str, int]:
    return {"perpetual": 0, "absolute": 0}


def _gt_of(record: Record) -> dict[str, int]:
    gt = record.data().get("gt") or {}
    return {"perpetual": int(gt.get("perpetual", 0)), "absolute": int(gt.get("absolute", 0))}


def summarize_tickets(tickets: Iterable[Record]) -> dict[str, Any]:
    """Totals of tickets (per VAT rate, per tender net of change, counts, sums); no period fields."""
    summary: dict[str, Any] = {key: 0 for key in _TOTAL_KEYS}
    absolute = 0
    vat: dict[int, dict[str, int]] = {}
    tenders: dict[str, dict[str, int]] = {}
    first: Record | None = None
    last: Record | None = None
    for record in tickets:
        body = record.data()
        total = int(body["total"])
        summary["tickets"] += 1
        if body.get("kind") == "RETURN":
            summary["returns_count"] += 1
            summary["returns"] += total
        else:
            summary["sales_count"] += 1
            summary["sales"] += total
        summary["net"] += total
        absolute += abs(total)
        for row in body.get("vat", []):
            acc = vat.setdefault(int(row["rate"]), {"ht": 0, "tva": 0, "ttc": 0})
            for key in ("ht", "tva", "ttc"):
                acc[key] += int(row[key])
        change = int(body.get("change", 0))
        summary["change"] += change
        paid: dict[str, int] = {}
        for tender in body.get("tenders", []):
            paid[str(tender["type"])] = paid.get(str(tender["type"]), 0) + int(tender["amount"])
        if change:
            paid["cash"] = paid.get("cash", 0) - change
        for kind, amount in paid.items():
            acc = tenders.setdefault(kind, {"amount": 0, "count": 0})
            acc["amount"] += amount
            acc["count"] += 1
        if first is None or record.seq < first.seq:
            first = record
        if last is None or record.seq > last.seq:
            last = record
    summary["vat"] = [{"rate": rate} | vat[rate] for rate in sorted(vat)]
    summary["tenders"] = [{"type": kind} | tenders[kind] for kind in sorted(tenders)]
    summary["first_seq"] = first.seq if first else None
    summary["last_seq"] = last.seq if last else None
    summary["last_sig"] = last.sig if last else None
    summary["gt"] = _gt_of(last) if last else None
    summary["period_totals"] = {"perpetual": summary["net"], "absolute": absolute}
    return summary


def summarize_period(
    conn: sqlite3.Connection, till: str, start: date | str, end: date | str, max_seq: int | None = None
) -> dict[str, Any]:
    """`summarize_tickets(tickets_between(...))`, summed by SQLite over the stored JSON bodies instead of
    decoding every ticket in Python: five times faster, and the verifier recomputes every day this way.
    The same figures, key for key (tests/test_closures.py compares them)."""
    where = "r.till = ? AND r.journal = ? AND r.day BETWEEN ? AND ?"
    params: list[Any] = [till, TICKET, str(start), str(end)]
    if max_seq is not None:
        where += " AND +r.seq <= ?"
        params.append(max_seq)
    counts = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(kind IS 'RETURN'), 0), "
        "COALESCE(SUM(CASE WHEN kind IS 'RETURN' THEN total END), 0), "
        "COALESCE(SUM(CASE WHEN kind IS 'RETURN' THEN 0 ELSE total END), 0), "
        "COALESCE(SUM(total), 0), COALESCE(SUM(ABS(total)), 0), COALESCE(SUM(change), 0), "
        "MIN(seq), MAX(seq) FROM (SELECT r.seq, json_extract(r.body, '$.kind') AS kind, "
        "json_extract(r.body, '$.total') AS total, COALESCE(json_extract(r.body, '$.change'), 0) AS change "
        f"FROM fiscal_record r WHERE {where})",
        params,
    ).fetchone()
    tickets, returns_count, returns, sales, net, absolute, change, first_seq, last_seq = counts
    summary: dict[str, Any] = {
        "tickets": tickets,
        "sales_count": tickets - returns_count,
        "returns_count": returns_count,
        "sales": sales,
        "returns": returns,
        "net": net,
        "change": change,
    }
    summary["vat"] = [
        {"rate": rate, "ht": ht, "tva": tva, "ttc": ttc}
        for rate, ht, tva, ttc in conn.execute(
            "SELECT json_extract(v.value, '$.rate') AS rate, SUM(json_extract(v.value, '$.ht')), "
            "SUM(json_extract(v.value, '$.tva')), SUM(json_extract(v.value, '$.ttc')) "
            f"FROM fiscal_record r, json_each(r.body, '$.vat') v WHERE {where} GROUP BY rate ORDER BY rate",
            params,
        )
    ]
    # Per ticket and tender type, net of the change (taken from cash, even when no cash was tendered).
    tenders: dict[str, list[int]] = {}
    current: int | None = None
    paid: dict[str, int] = {}

    def flush() -> None:
        for kind, amount in paid.items():
            acc = tenders.setdefault(kind, [0, 0])
            acc[0] += amount
            acc[1] += 1

    rows = conn.execute(
        "SELECT r.id, json_extract(t.value, '$.type'), SUM(json_extract(t.value, '$.amount')), "
        "COALESCE(json_extract(r.body, '$.change'), 0) "
        f"FROM fiscal_record r LEFT JOIN json_each(r.body, '$.tenders') t WHERE {where} "
        "GROUP BY r.id, 2 ORDER BY r.id",
        params,
    )
    for ticket, kind, amount, given in rows:
        if ticket != current:
            flush()
            current, paid = ticket, ({"cash": -given} if given else {})
        if kind is not None:
            paid[str(kind)] = paid.get(str(kind), 0) + int(amount or 0)
    flush()
    summary["tenders"] = [
        {"type": kind, "amount": tenders[kind][0], "count": tenders[kind][1]} for kind in sorted(tenders)
    ]
    summary["first_seq"] = first_seq
    summary["last_seq"] = last_seq
    summary["last_sig"] = None
    summary["gt"] = None
    if last_seq is not None:
        sig, perpetual, absolute_gt = conn.execute(
            "SELECT sig, json_extract(body, '$.gt.perpetual'), json_extract(body, '$.gt.absolute') "
            "FROM fiscal_record WHERE till = ? AND journal = ? AND seq = ?",
            (till, TICKET, last_seq),
        ).fetchone()
        summary["last_sig"] = sig
        summary["gt"] = {"perpetual": int(perpetual or 0), "absolute": int(absolute_gt or 0)}
    summary["period_totals"] = {"perpetual": net, "absolute": absolute}
    return summary


def count_tickets(conn: sqlite3.Connection, till: str, start: date | str, end: date | str) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM fiscal_record WHERE till = ? AND journal = ? AND day BETWEEN ? AND ?",
            (till, TICKET, str(start), str(end)),
        ).fetchone()[0]
    )


def merge_summaries(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum closure bodies (or summaries); gt is the one of the last part (parts in period order)."""
    merged: dict[str, Any] = {key: 0 for key in _TOTAL_KEYS}
    vat: dict[int, dict[str, int]] = {}
    tenders: dict[str, dict[str, int]] = {}
    period_totals = _zero_gt()
    first_seq: int | None = None
    last_seq: int | None = None
    last_sig: str | None = None
    gt: dict[str, int] | None = None
    for part in parts:
        for key in _TOTAL_KEYS:
            merged[key] += int(part.get(key, 0))
        for row in part.get("vat", []):
            acc = vat.setdefault(int(row["rate"]), {"ht": 0, "tva": 0, "ttc": 0})
            for key in ("ht", "tva", "ttc"):
                acc[key] += int(row[key])
        for row in part.get("tenders", []):
            acc = tenders.setdefault(str(row["type"]), {"amount": 0, "count": 0})
            acc["amount"] += int(row["amount"])
            acc["count"] += int(row.get("count", 0))
        for key in ("perpetual", "absolute"):
            period_totals[key] += int((part.get("period_totals") or {}).get(key, 0))
        if part.get("first_seq") is not None and (first_seq is None or part["first_seq"] < first_seq):
            first_seq = int(part["first_seq"])
        if part.get("last_seq") is not None and (last_seq is None or part["last_seq"] > last_seq):
            last_seq, last_sig = int(part["last_seq"]), part.get("last_sig")
        if part.get("gt") is not None:
            gt = dict(part["gt"])
    merged["vat"] = [{"rate": rate} | vat[rate] for rate in sorted(vat)]
    merged["tenders"] = [{"type": kind} | tenders[kind] for kind in sorted(tenders)]
    merged["first_seq"] = first_seq
    merged["last_seq"] = last_seq
    merged["last_sig"] = last_sig
    merged["gt"] = gt
    merged["period_totals"] = period_totals
    return merged


def carried_gt(conn: sqlite3.Connection, till: str, prior: list[Closure], start: date) -> dict[str, int]:
    """Grand totals at the end of the day before `start`: from the latest earlier closure, else the
    last earlier ticket, else zero."""
    earlier = [c for c in prior if c.end and c.end < start.isoformat() and c.body.get("gt") is not None]
    if earlier:
        latest = max(earlier, key=lambda c: (c.end, c.record.seq))
        gt = latest.body["gt"]
        return {"perpetual": int(gt["perpetual"]), "absolute": int(gt["absolute"])}
    row = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND day < ? "
        "ORDER BY seq DESC LIMIT 1",
        (till, TICKET, start.isoformat()),
    ).fetchone()
    return _gt_of(Record.from_row(row)) if row else _zero_gt()


def period_summary(
    conn: sqlite3.Connection,
    till: str,
    start: date,
    end: date,
    prior: list[Closure] | None = None,
    max_seq: int | None = None,
) -> dict[str, Any]:
    """Live totals of the tickets of [start, end] (what an X report shows), gt carried when none."""
    summary = summarize_period(conn, till, start, end, max_seq)
    if summary["gt"] is None:
        summary["gt"] = carried_gt(conn, till, closures(conn, till) if prior is None else prior, start)
    summary["from"] = start.isoformat()
    summary["to"] = end.isoformat()
    return summary


def _parts_body(parts: list[Closure]) -> list[dict[str, Any]]:
    return [{"period": p.period, "seq": p.record.seq, "sig": p.record.sig} for p in parts]


def _merged_body(
    conn: sqlite3.Connection, till: str, kind: str, start: date, end: date, prior: list[Closure]
) -> tuple[dict[str, Any], list[Closure]]:
    child = _PARTS_OF[kind]
    parts = sorted(
        (c for c in prior if c.kind == child and start.isoformat() <= c.start and c.end <= end.isoformat()),
        key=lambda c: (c.start, c.record.seq),
    )
    body = merge_summaries(p.body for p in parts)
    if body["gt"] is None:
        body["gt"] = carried_gt(conn, till, prior, start)
    body["from"] = start.isoformat()
    body["to"] = end.isoformat()
    body["parts"] = _parts_body(parts)
    return body, parts


# -- closing --------------------------------------------------------------------------------------------


def _now(ledger: FiscalLedger, when: datetime | None) -> datetime:
    return when or ledger.clock()


def _already(closure: Closure) -> FiscalError:
    label = period_label(closure.kind, closure.period)
    return FiscalError(
        f"{label[0].upper()}{label[1:]} est déjà clôturé{'e' if closure.kind == DAY else ''} "
        f"(clôture n°{closure.record.seq}) : une période ne se clôture qu'une fois."
    )


def _existing(prior: list[Closure], kind: str, period: str) -> Closure | None:
    return next((c for c in prior if c.kind == kind and c.period == period), None)


def _period_over(end: date, today: date, prior: list[Closure]) -> bool:
    """A period is over after its last day, or on its last day once that day is closed."""
    return end < today or (end == today and _existing(prior, DAY, today.isoformat()) is not None)


def _append(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    kind: str,
    period: str,
    body: dict[str, Any],
    when: datetime,
) -> Closure:
    body = {"kind": kind, "period": period} | body
    record = ledger.append(conn, CLOSURE, kind, body, total=body["net"], when=when)
    return Closure(record, record.data())


def _close_day(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    day: date,
    today: date,
    when: datetime,
    force_today: bool,
    prior: list[Closure],
) -> Closure:
    period = day.isoformat()
    existing = _existing(prior, DAY, period)
    if existing is not None:
        raise _already(existing)
    if day > today:
        raise FiscalError(f"La journée du {fr_date(day)} n'a pas commencé : impossible de la clôturer.")
    if day == today and not force_today:
        raise FiscalError(
            f"La journée du {fr_date(day)} est en cours : seul un responsable peut la clôturer "
            "avant minuit (« fermer la journée »)."
        )
    closed = {c.period for c in prior if c.kind == DAY}
    earlier = [d for d in _ticket_days(conn, ledger.till, before=day) if d not in closed]
    if earlier:
        days = ", ".join(fr_date(d) for d in earlier[:5]) + (" …" if len(earlier) > 5 else "")
        raise FiscalError(
            f"Clôturez d'abord les journées précédentes qui ont des tickets ({days}) : "
            "les journées se clôturent dans l'ordre."
        )
    body = period_summary(conn, ledger.till, day, day, prior)
    return _append(ledger, conn, DAY, period, body, when)


@dataclass(frozen=True)
class _Span:
    """A month or a fiscal year to close: its bounds, its parts and how its messages name them."""

    kind: str
    period: str
    start: date
    end: date
    name: str  # « Le mois de novembre 2026 », « L'exercice 2026 »
    unfinished: str  # how the « not over » message names it
    missing: str  # « journée(s) avec tickets non clôturée(s) » / « mois avec … »
    part_of: Callable[[str], str]  # a ticket day → the part (day or month) it belongs to
    show: Callable[[str], str]  # a part, as the message lists it
    listed: int | None  # parts listed at most (None: all)


def _span(kind: str, year: int, month: int = 1, first_month: int = 1) -> _Span:
    if kind == MONTH:
        start, end = month_bounds(year, month)
        name = f"Le mois de {MONTH_NAMES[month - 1]} {year:04d}"
        return _Span(
            MONTH,
            f"{year:04d}-{month:02d}",
            start,
            end,
            name,
            name,
            "journée(s) avec tickets non clôturée(s)",
            lambda day: day,
            fr_date,
            5,
        )
    start, end = fiscal_year_bounds(year, first_month)
    name = f"L'exercice {year:04d}"
    return _Span(
        YEAR,
        f"{year:04d}",
        start,
        end,
        name,
        f"{name} (du {fr_date(start)} au {fr_date(end)})",
        "mois avec tickets non clôturé(s)",
        lambda day: day[:7],
        lambda m: f"{m[5:]}/{m[:4]}",
        None,
    )


def _close_span(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    span: _Span,
    today: date,
    when: datetime,
    prior: list[Closure],
    first_month: int,
) -> Closure:
    """Sign the MONTH or YEAR closure of `span`: the sum of its DAY (or MONTH) closures, once it is over
    and each of its parts with tickets is closed."""
    existing = _existing(prior, span.kind, span.period)
    if existing is not None:
        raise _already(existing)
    if not _period_over(span.end, today, prior):
        raise FiscalError(f"{span.unfinished} n'est pas terminé : il se clôture après sa dernière journée.")
    closed = {c.period for c in prior if c.kind == _PARTS_OF[span.kind]}
    within = (
        d for d in _ticket_days(conn, ledger.till) if span.start.isoformat() <= d <= span.end.isoformat()
    )
    missing = [part for part in sorted({span.part_of(d) for d in within}) if part not in closed]
    if missing:
        shown = missing if span.listed is None else missing[: span.listed]
        more = " …" if len(shown) < len(missing) else ""
        raise FiscalError(
            f"{span.name} ne peut pas être clôturé : {span.missing} ({', '.join(map(span.show, shown))}{more})."
        )
    body, _ = _merged_body(conn, ledger.till, span.kind, span.start, span.end, prior)
    if span.kind == YEAR:
        body["first_month"] = first_month
    return _append(ledger, conn, span.kind, span.period, body, when)


def _run(ledger: FiscalLedger, conn: sqlite3.Connection, action: Callable[[], _T]) -> _T:
    """Run `action()` in a transaction (ours, or the caller's); anchor the heads after our own commit."""
    own = not conn.in_transaction
    with transaction(conn):
        result = action()
    if own:
        ledger.anchor_heads(conn)
    return result


def close_day(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    day: date,
    when: datetime | None = None,
    *,
    force_today: bool = False,
) -> Record:
    """Sign the DAY closure of `day` (tickets whose local day is `day`). Refused when already closed,
    for a future day, for today unless `force_today`, or while an earlier day with tickets is unclosed."""
    now = _now(ledger, when)

    def action() -> Record:
        prior = closures(conn, ledger.till)
        return _close_day(ledger, conn, day, now.date(), now, force_today, prior).record

    return _run(ledger, conn, action)


def close_month(
    ledger: FiscalLedger, conn: sqlite3.Connection, year: int, month: int, when: datetime | None = None
) -> Record:
    """Sign the MONTH closure: the sum of the month's DAY closures. Refused until the month is over and
    every day of it with tickets is closed."""
    return _close(ledger, conn, _span(MONTH, year, month), 1, when)


def close_year(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    year: int,
    first_month: int = 1,
    when: datetime | None = None,
) -> Record:
    """Sign the YEAR closure of fiscal year `year` (starting in month `first_month` of `year`): the sum
    of its MONTH closures. Refused until it is over and every month of it with tickets is closed."""
    return _close(ledger, conn, _span(YEAR, year, first_month=first_month), first_month, when)


def _close(
    ledger: FiscalLedger, conn: sqlite3.Connection, span: _Span, first_month: int, when: datetime | None
) -> Record:
    now = _now(ledger, when)

    def action() -> Record:
        prior = closures(conn, ledger.till)
        return _close_span(ledger, conn, span, now.date(), now, prior, first_month).record

    return _run(ledger, conn, action)


def unclosed_days(ledger: FiscalLedger, conn: sqlite3.Connection, today: date) -> list[date]:
    """Days before `today` that have tickets and no DAY closure, oldest first."""
    closed = {c.period for c in closures(conn, ledger.till, DAY)}
    return [date.fromisoformat(d) for d in _ticket_days(conn, ledger.till, before=today) if d not in closed]


def close_pending(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    today: date,
    *,
    first_month: int = 1,
    when: datetime | None = None,
) -> list[Record]:
    """The first act of a new day: close every unclosed day before `today` that has tickets, then each
    month and fiscal year that is over and has activity, in chronological order (a day, then its month
    and year when it ends them), in one transaction. Returns the new records ([] when up to date).

    `today` is capped at the clock's date, so a day the clock has not finished is never closed."""
    now = _now(ledger, when)
    today = min(today, now.date())

    def action() -> list[Record]:
        prior = closures(conn, ledger.till)
        closed = {(c.kind, c.period) for c in prior}
        ticket_days = _ticket_days(conn, ledger.till)
        active_days = set(ticket_days) | {c.period for c in prior if c.kind == DAY}
        todo: list[tuple[str, int, str, Any]] = []  # (end day, rank, kind, key)
        for d in ticket_days:
            if d < today.isoformat() and (DAY, d) not in closed:
                todo.append((d, _RANK[DAY], DAY, date.fromisoformat(d)))
        spans = [_span(MONTH, int(m[:4]), int(m[5:])) for m in sorted({d[:7] for d in active_days})]
        years = sorted({fiscal_year_of(date.fromisoformat(d), first_month) for d in active_days})
        spans += [_span(YEAR, y, first_month=first_month) for y in years]
        for span in spans:
            if _period_over(span.end, today, prior) and (span.kind, span.period) not in closed:
                todo.append((span.end.isoformat(), _RANK[span.kind], span.kind, span))
        done: list[Record] = []
        for _, _, kind, key in sorted(todo, key=lambda t: (t[0], t[1])):
            if kind == DAY:
                closure = _close_day(ledger, conn, key, today, now, False, prior)
            else:
                closure = _close_span(ledger, conn, key, today, now, prior, first_month)
            prior.append(closure)
            done.append(closure.record)
        return done

    return _run(ledger, conn, action)


# -- verification ---------------------------------------------------------------------------------------

_CHECKED = (*_TOTAL_KEYS, "vat", "tenders", "first_seq", "last_seq", "last_sig", "period_totals", "gt")


def check_closures(
    conn: sqlite3.Connection, till: str, *, purged_before: str | None = None
) -> list[tuple[int, str]]:
    """Recompute every closure of `till`: [(closure seq, problem in French)], [] when all add up.

    DAY closures are recomputed from the tickets of their day (tickets of that day recorded after the
    closure are reported), MONTH and YEAR closures from the closures they sum. Signatures and chaining
    are the verifier's job; this checks that signed closures tell the truth about the journal. Days
    before `purged_before` (tickets purged, fiscal.purge) keep their signed closures, not recomputed."""
    problems: list[tuple[int, str]] = []
    prior: list[Closure] = []
    for closure in closures(conn, till):
        seq, body, kind = closure.record.seq, closure.body, closure.kind

        def say(text: str, seq: int = seq) -> None:
            problems.append((seq, text))

        if kind not in KINDS or body.get("kind") != kind:
            say(f"type de clôture incohérent ({kind!r} / {body.get('kind')!r})")
            prior.append(closure)
            continue
        if _existing(prior, kind, closure.period) is not None:
            say(f"période {closure.period} clôturée deux fois")
        try:
            start, end = date.fromisoformat(closure.start), date.fromisoformat(closure.end)
            if kind == DAY and purged_before is not None and closure.end < purged_before:
                prior.append(closure)
                continue
            if kind == DAY:
                expected = period_summary(conn, till, start, end, prior, body.get("last_seq") or 0)
                late = count_tickets(conn, till, start, end) - expected["tickets"]
                if late:
                    say(f"{late} ticket(s) du {fr_date(start)} enregistré(s) après la clôture de la journée")
            else:
                expected, _ = _merged_body(conn, till, kind, start, end, prior)
                if body.get("parts") != expected["parts"]:
                    say("les clôtures cumulées ne sont pas celles de la période")
        except (KeyError, TypeError, ValueError) as exc:
            say(f"contenu de clôture illisible ({exc})")
            prior.append(closure)
            continue
        for key in _CHECKED:
            if body.get(key) != expected.get(key):
                say(f"{key} : {body.get(key)!r} ≠ recalculé {expected.get(key)!r}")
        if closure.record.total != expected["net"]:
            say(f"colonne total {closure.record.total} ≠ total net {expected['net']}")
        prior.append(closure)
    return problems
