"""Duplicates: every reprint of a ticket is itself a signed record, numbered per ticket and counted."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from .journal import COLUMNS, DUPLICATE, TICKET, FiscalError, FiscalLedger, Record, transaction


def find_ticket(conn: sqlite3.Connection, till: str, seq: int) -> Record | None:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND seq = ?", (till, TICKET, seq)
    ).fetchone()
    return Record.from_row(row) if row else None


def copies_of(conn: sqlite3.Connection, till: str, seq: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM fiscal_record WHERE till = ? AND journal = ? AND json_extract(body, '$.ticket') = ?",
        (till, DUPLICATE, seq),
    ).fetchone()
    return int(row[0])


def record_duplicate(
    ledger: FiscalLedger, conn: sqlite3.Connection, seq: int, user: str, when: datetime | None = None
) -> tuple[Record, Record, int]:
    """Journal a reprint of ticket `seq`: (the ticket, the duplicate record, its copy number k)."""
    with transaction(conn):
        ticket = find_ticket(conn, ledger.till, seq)
        if ticket is None:
            raise FiscalError(f"Ticket n°{seq} introuvable : vérifiez le numéro imprimé sur le ticket.")
        copy = copies_of(conn, ledger.till, seq) + 1
        body = {"ticket": seq, "ticket_sig": ticket.sig, "copy": copy, "user": user}
        record = ledger.append(conn, DUPLICATE, "REPRINT", body, total=ticket.total, when=when)
    ledger.anchor_heads(conn)
    return ticket, record, copy
