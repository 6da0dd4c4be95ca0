"""Purge of archived periods older than six years (NF525 conservation), without breaking the proof.

Only the bulky journals leave the database: tickets, duplicates and training tickets of the days before
the cut. The closures (Z of every day, month and year, with their grand totals), the JET and the archive
journal stay whole, so the keys' chain of trust, the clock confirmations and the period totals remain
checkable. Each journal keeps at least its last record (its numbering goes on from it).

The purge is itself a signed JET record, PURGE, written first, in the same transaction: for each purged
journal it names the last purged record (number, signature, time and, for tickets, the grand totals). The
verifier starts each chain from there: the first record left must follow it exactly, and the grand totals
go on from it. The delete trigger lets through only rows that a `fiscal_purge` row (append-only, written
in the same transaction) covers; whoever deletes rows by hand still leaves a gap the verifier reports,
because no signed PURGE record can be forged.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from .closures import last_closed_day
from .conservation import check_purge
from .journal import DUPLICATE, JET, TICKET, TRAINING, FiscalError, FiscalLedger, Record, transaction

PURGE = "PURGE"
PURGED_JOURNALS = (TICKET, DUPLICATE, TRAINING)


@dataclass(frozen=True)
class ChainStart:
    """Where a purged journal's chain now starts: its last purged record."""

    seq: int
    sig: str
    ts_utc: str
    gt: dict[str, Any] | None = None


@dataclass(frozen=True)
class PurgeResult:
    before: date
    deleted: dict[str, int]
    record: Record


def chain_starts(conn: sqlite3.Connection, till: str) -> tuple[dict[str, ChainStart], str | None]:
    """({journal: start}, first day kept) from the latest PURGE record of `till` ({}, None: never purged).

    The record's own signature is checked with the rest of the JET; a forged one breaks that chain."""
    row = conn.execute(
        "SELECT body FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? ORDER BY seq DESC LIMIT 1",
        (till, JET, PURGE),
    ).fetchone()
    if row is None:
        return {}, None
    try:
        details = json.loads(row[0])["details"]
        starts = {
            journal: ChainStart(int(cut["seq"]), str(cut["sig"]), str(cut["ts_utc"]), cut.get("gt"))
            for journal, cut in details["journals"].items()
        }
        return starts, str(details["before"])
    except (ValueError, KeyError, TypeError):
        return {}, None


def _cut(conn: sqlite3.Connection, till: str, journal: str, before: date) -> Record | None:
    """The last record of `journal` to purge: dated before `before`, never the journal's head."""
    row = conn.execute(
        "SELECT MIN(seq) FROM fiscal_record WHERE till = ? AND journal = ? AND day >= ?",
        (till, journal, before.isoformat()),
    ).fetchone()
    head = conn.execute(
        "SELECT MAX(seq) FROM fiscal_record WHERE till = ? AND journal = ?", (till, journal)
    ).fetchone()[0]
    if head is None:
        return None
    last = min(head - 1, (row[0] - 1) if row[0] is not None else head)
    if last < 1:
        return None
    found = conn.execute(
        "SELECT till, journal, seq, rtype, ts_utc, tz_offset, day, total, body, prev_sig, key_id, sig "
        "FROM fiscal_record WHERE till = ? AND journal = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
        (till, journal, last),
    ).fetchone()
    return Record.from_row(found) if found else None


def plan_purge(
    ledger: FiscalLedger, conn: sqlite3.Connection, before: date, today: date
) -> dict[str, Record]:
    """{journal: last record to purge}, once every check holds: `before` is the first day of a month,
    six years old, every month before it archived (`check_purge`) and every day before it closed.
    Raises FiscalError (French) otherwise; changes nothing."""
    if before.day != 1:
        raise FiscalError("La purge se fait par mois entiers : donnez le 1er d'un mois (AAAA-MM-01).")
    check_purge(conn, ledger.till, before, today)
    closed = last_closed_day(ledger, conn)
    last_sold = conn.execute(
        "SELECT MAX(day) FROM fiscal_record WHERE till = ? AND journal = ? AND day < ?",
        (ledger.till, TICKET, before.isoformat()),
    ).fetchone()[0]
    if last_sold is not None and (closed is None or closed < last_sold):
        raise FiscalError(
            f"La journée du {date.fromisoformat(last_sold):%d/%m/%Y} n'est pas clôturée : "
            "clôturez-la avant de purger. Rien n'est supprimé."
        )
    cuts = {j: cut for j in PURGED_JOURNALS if (cut := _cut(conn, ledger.till, j, before)) is not None}
    previous, _ = chain_starts(conn, ledger.till)
    cuts = {j: cut for j, cut in cuts.items() if j not in previous or cut.seq > previous[j].seq}
    if not cuts:
        raise FiscalError(f"Rien à purger avant le {before:%d/%m/%Y}.")
    return cuts


def purge(
    ledger: FiscalLedger, conn: sqlite3.Connection, before: date, today: date, *, by: str
) -> PurgeResult:
    """Delete the tickets, duplicates and training tickets dated before `before` (see `plan_purge`), after
    the signed PURGE record, in one transaction. Raises FiscalError (French) and changes nothing."""
    cuts = plan_purge(ledger, conn, before, today)
    previous, _ = chain_starts(conn, ledger.till)
    journals: dict[str, Any] = {
        j: {"seq": start.seq, "sig": start.sig, "ts_utc": start.ts_utc, "gt": start.gt}
        for j, start in previous.items()
    }
    for journal, cut in cuts.items():
        journals[journal] = {
            "seq": cut.seq,
            "sig": cut.sig,
            "ts_utc": cut.ts_utc,
            "gt": cut.data().get("gt") if journal == TICKET else None,
        }
    deleted: dict[str, int] = {}
    with transaction(conn):
        record = ledger.record_event(
            conn, PURGE, {"before": before.isoformat(), "journals": journals, "by": by}
        )
        for journal, cut in cuts.items():
            conn.execute(
                "INSERT INTO fiscal_purge (till, journal, up_to_seq, purge_seq) VALUES (?, ?, ?, ?)",
                (ledger.till, journal, cut.seq, record.seq),
            )
            deleted[journal] = conn.execute(
                "DELETE FROM fiscal_record WHERE till = ? AND journal = ? AND seq <= ?",
                (ledger.till, journal, cut.seq),
            ).rowcount
    ledger.anchor_heads(conn)
    return PurgeResult(before, deleted, record)
