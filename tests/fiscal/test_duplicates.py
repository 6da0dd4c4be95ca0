"""Reprints are journaled duplicates: numbered per ticket, signed in their own chain, never in the GT."""

from __future__ import annotations

import sqlite3

import pytest

from fiscal.duplicates import record_duplicate
from fiscal.journal import FiscalError
from fiscal.verify import verify_database
from kiosk.demo.simulation import simulate_sales
from kiosk.receipts.render import sale_receipt
from kiosk.sale.checkout import CompletedSale
from kiosk.till import Till


def test_reprint_is_a_numbered_signed_duplicate(till: Till) -> None:
    simulate_sales(till, 4, seed=1)
    conn = till.db.connection()
    head_before = till.ledger.head(conn, "TICKET")
    _, first, k1 = record_duplicate(till.ledger, conn, 2, "Marc")
    ticket, second, k2 = record_duplicate(till.ledger, conn, 2, "Marc")
    _, other, k3 = record_duplicate(till.ledger, conn, 3, "Marc")
    assert (k1, k2, k3) == (1, 2, 1)
    assert (first.seq, second.seq, other.seq) == (1, 2, 3)
    assert second.prev_sig == first.sig and second.data()["ticket_sig"] == ticket.sig
    assert till.ledger.head(conn, "TICKET") == head_before  # grand totals untouched
    text = till.render(sale_receipt(till.config, CompletedSale.from_record(ticket), duplicate=k2)).text
    assert "DUPLICATA n°2" in text and "T01-000002" in text
    report = verify_database(sqlite3.connect(till.data_dir / "kiosk.sqlite"))
    assert report.ok and report.journals["DUPLICATE"] == 3


def test_reprint_of_an_unknown_ticket_is_refused(till: Till) -> None:
    with pytest.raises(FiscalError, match="introuvable"):
        record_duplicate(till.ledger, till.db.connection(), 77, "Marc")
