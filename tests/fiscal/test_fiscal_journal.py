"""Tamper scenarios on a real till database, by raw sqlite3 edits, as an attacker would do them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fiscal.anchor import Anchor
from fiscal.journal import ClockWentBack, FiscalError, FiscalLedger, transaction
from fiscal.keys import load_or_create_key
from fiscal.verify import verify_database
from kiosk.demo.simulation import simulate_sales
from kiosk.till import ANCHOR_FILE, Till


def _raw(till: Till) -> sqlite3.Connection:
    till.db.close()
    conn = sqlite3.connect(till.data_dir / "kiosk.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER fiscal_record_no_update")
    conn.execute("DROP TRIGGER fiscal_record_no_delete")
    return conn


def _verify(till: Till) -> list[str]:
    conn = sqlite3.connect(till.data_dir / "kiosk.sqlite")
    report = verify_database(conn, anchor=Anchor(till.data_dir / ANCHOR_FILE).read())
    return [p.line() for p in report.problems]


@pytest.fixture
def sold(till: Till) -> Till:
    simulate_sales(till, 12, seed=3)
    return till


def test_untouched_journal_verifies(sold: Till) -> None:
    assert _verify(sold) == []


def test_software_cannot_update_or_delete_fiscal_records(sold: Till) -> None:
    conn = sold.db.connection()
    with pytest.raises(Exception, match="append-only"):
        conn.execute("UPDATE fiscal_record SET total = 0 WHERE seq = 1")
    with pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM fiscal_record WHERE seq = 1")


def test_edited_amount_is_named(sold: Till) -> None:
    conn = _raw(sold)
    conn.execute("UPDATE fiscal_record SET total = total + 100 WHERE journal = 'TICKET' AND seq = 5")
    problems = _verify(sold)
    assert any(p.startswith("ticket n°5 : signature invalide") for p in problems)
    assert all("n°5" in p for p in problems)


def test_rehash_without_the_key_is_detected(sold: Till, tmp_path: Path) -> None:
    """An attacker re-signs an edited ticket with a key of their own: the till's key does not verify it."""
    forged_key, _ = load_or_create_key(tmp_path / "attacker.pem")
    conn = _raw(sold)
    ledger = FiscalLedger(sold.ledger.till, forged_key, sold.clock)
    row = conn.execute("SELECT ts_utc FROM fiscal_record WHERE journal='TICKET' AND seq=12").fetchone()
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq = 12")
    with transaction(conn):
        body = {"kind": "SALE", "lines": [], "total": 0}
        ledger.append(conn, "JET", "FORGED", body)
    assert row is not None
    problems = _verify(sold)
    assert any("clé inconnue" in p for p in problems)
    assert any("queue tronquée" in p for p in problems)


def test_deleted_middle_ticket_is_a_gap(sold: Till) -> None:
    conn = _raw(sold)
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq = 6")
    assert "ticket n°7 : enregistrement(s) supprimé(s) avant celui-ci (n°6)" in _verify(sold)


def test_deleted_tail_is_detected_by_the_anchor_and_at_start(sold: Till) -> None:
    conn = _raw(sold)
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq > 9")
    conn.close()
    assert any("ticket n°12 : queue tronquée" in p for p in _verify(sold))
    reopened = Till.open(sold.data_dir)
    warnings = reopened.start()
    assert warnings and "restauration" in warnings[0]
    events = [r[0] for r in reopened.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal='JET'")]
    assert "RESTORE_DETECTED" in events
    reopened.db.close()


def test_reordered_rows_are_detected(sold: Till) -> None:
    conn = _raw(sold)
    rows = conn.execute(
        "SELECT id, seq FROM fiscal_record WHERE journal='TICKET' AND seq IN (3, 4)"
    ).fetchall()
    (id3, _), (id4, _) = sorted(rows, key=lambda r: r[1])
    conn.execute("UPDATE fiscal_record SET id = -1 WHERE id = ?", (id3,))
    conn.execute("UPDATE fiscal_record SET id = ? WHERE id = ?", (id3, id4))
    conn.execute("UPDATE fiscal_record SET id = ? WHERE id = -1", (id4,))
    conn.execute("UPDATE fiscal_record SET seq = -seq WHERE journal='TICKET' AND seq IN (3, 4)")
    conn.execute("UPDATE fiscal_record SET seq = 7 + seq WHERE journal='TICKET' AND seq IN (-3, -4)")
    problems = _verify(sold)
    assert any(p.startswith("ticket n°3") for p in problems)
    assert any(p.startswith("ticket n°4") for p in problems)


def test_clock_set_back_is_refused(sold: Till) -> None:
    from datetime import timedelta

    conn = sold.db.connection()
    earlier = sold.clock() - timedelta(days=1)
    with pytest.raises(ClockWentBack, match="responsable"), sold.db.atomic():
        sold.ledger.append(conn, "JET", "TEST", {"event": "TEST"}, when=earlier)


def test_inconsistent_ticket_is_refused_before_signing(sold: Till) -> None:
    from fiscal.tickets import record_ticket

    body = {
        "kind": "SALE",
        "lines": [{"amount": 100, "vat": 550}],
        "vat": [{"rate": 550, "ht": 95, "tva": 5, "ttc": 100}],
        "total": 200,
        "tenders": [{"type": "cash", "amount": 200}],
        "change": 0,
    }
    with pytest.raises(FiscalError, match="somme des lignes"), sold.db.atomic():
        record_ticket(sold.ledger, sold.db.connection(), body)


def test_grand_totals_chain(sold: Till) -> None:
    from kiosk.sale.checkout import CompletedSale

    head = sold.ledger.head(sold.db.connection(), "TICKET")
    assert head is not None
    sale = CompletedSale.from_record(head)
    line = next(line for line in sold.refunds.refundable(sale) if line.left_amount > 0)
    staff = {m.name: m for m in sold.staff.members()}
    sold.refunds.refund(sale, {line.index: line.left_qty}, "cash", staff["Camille"], staff["Marc"])
    rows = sold.db.execute_sql("SELECT total, body FROM fiscal_record WHERE journal='TICKET' ORDER BY seq")
    import json

    running = absolute = 0
    returns = 0
    for total, body in rows:
        running += total
        absolute += abs(total)
        returns += total < 0
        assert json.loads(body)["gt"] == {"perpetual": running, "absolute": absolute}
    assert returns  # a refund: the two grand totals part


def test_restoring_yesterdays_copy_of_the_data_directory_is_detected(sold: Till, tmp_path: Path) -> None:
    """The whole data directory but the anchor is put back as it was: the start says so and journals it."""
    import shutil

    sold.db.close()
    backup = tmp_path / "yesterday"
    shutil.copytree(sold.data_dir, backup)
    later = Till.open(sold.data_dir)
    simulate_sales(later, 5, seed=9)
    later.db.close()
    for name in ("kiosk.sqlite", "kiosk.sqlite-wal", "kiosk.sqlite-shm"):
        (sold.data_dir / name).unlink(missing_ok=True)
        if (backup / name).exists():
            shutil.copy2(backup / name, sold.data_dir / name)
    restored = Till.open(sold.data_dir)
    warnings = restored.start()
    assert any("restauration" in w for w in warnings)
    events = [r[0] for r in restored.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal='JET'")]
    assert "RESTORE_DETECTED" in events
    assert any("restauration détectée" in p and "ticket n°13 à n°17 manquant" in p for p in _verify(restored))
    restored.db.close()


async def test_the_till_shows_a_detected_gap_in_its_title_bar(sold: Till) -> None:
    from kiosk.ui.app import KioskApp

    assert sold.ledger_alert is None
    conn = _raw(sold)
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq > 10")
    conn.close()
    reopened = Till.open(sold.data_dir, process="ui")
    assert reopened.ledger_alert is not None and "ticket n°11 à n°12 manquant(s)" in reopened.ledger_alert
    app = KioskApp(reopened)
    async with app.run_test(size=(100, 30)):
        assert app.title.startswith("⚠ ANOMALIE FISCALE")
        assert "ANOMALIE FISCALE : tickets manquants, prévenez un responsable" in app.sub_title
    reopened.acknowledge_gap("Marc", "copie de la veille remise en place")
    assert reopened.ledger_alert is None
    events = [r[0] for r in reopened.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal='JET'")]
    assert events.count("RESTORE_DETECTED") == 1 and events[-1] == "GAP_ACKNOWLEDGED"
    reopened.db.close()
