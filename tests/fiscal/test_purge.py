"""Purge of archived periods older than six years: the proof survives it, and nothing else can delete."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fiscal.journal import FiscalError
from fiscal.purge import plan_purge, purge
from fiscal.verify import verify_database, verify_path
from kiosk.cli.main import main
from kiosk.demo.shop import open_demo_till
from kiosk.demo.simulation import SimClock, simulate_sales
from kiosk.till import Till

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def old_till(tmp_path: Path) -> Till:
    """A demo till that sold in December 2018 and January 2019, archived both, and sells again in 2026."""
    clock = SimClock(datetime(2018, 12, 28, 9, 0, tzinfo=PARIS))
    till = open_demo_till(tmp_path, clock=clock)
    till.start()
    simulate_sales(till, 24, seed=3, step=timedelta(hours=7))  # a week across the new year
    till.checkout.close_previous_days(date(2019, 2, 1))
    archive_dir = tmp_path / "archives"
    for period in ("2018", "2019-01"):
        till.archive(period, archive_dir / f"{period}.zip")
    conn = till.db.connection()
    clock.now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    simulate_sales(till, 5, seed=4, step=timedelta(minutes=5))
    assert verify_database(conn).ok
    return till


def counts(till: Till) -> dict[str, int]:
    rows = till.db.execute_sql("SELECT journal, COUNT(*) FROM fiscal_record GROUP BY journal")
    return dict(rows.fetchall())


def test_purge_keeps_the_chain_and_grand_totals_verifiable(old_till: Till) -> None:
    conn = old_till.db.connection()
    before = counts(old_till)
    head = old_till.ledger.head(conn, "TICKET")
    assert head is not None
    result = purge(old_till.ledger, conn, date(2019, 1, 1), date(2026, 11, 25), by="test")
    after = counts(old_till)
    assert result.deleted["TICKET"] > 0
    assert after["TICKET"] == before["TICKET"] - result.deleted["TICKET"]
    assert after["CLOSURE"] == before["CLOSURE"] and after["JET"] == before["JET"] + 1
    report = verify_database(conn)
    assert report.ok, [p.line() for p in report.problems]
    # the grand totals go on from the purged tickets: the next sale chains as before
    simulate_sales(old_till, 1, seed=9)
    new_head = old_till.ledger.head(conn, "TICKET")
    assert new_head is not None and new_head.data()["gt"]["perpetual"] > head.data()["gt"]["perpetual"]
    assert verify_database(conn).ok


def test_parallel_verifier_agrees_after_a_purge(old_till: Till) -> None:
    conn = old_till.db.connection()
    purge(old_till.ledger, conn, date(2019, 1, 1), date(2026, 11, 25), by="test")
    path = old_till.data_dir / "kiosk.sqlite"
    report = verify_path(path, workers=2, parallel_min=1, chunk_records=5)
    assert report.ok, [p.line() for p in report.problems]


def test_deleting_more_than_the_purge_is_reported(old_till: Till) -> None:
    conn = old_till.db.connection()
    purge(old_till.ledger, conn, date(2019, 1, 1), date(2026, 11, 25), by="test")
    first = conn.execute("SELECT MIN(seq) FROM fiscal_record WHERE journal = 'TICKET'").fetchone()[0]
    raw = sqlite3.connect(old_till.data_dir / "kiosk.sqlite")
    raw.execute("DROP TRIGGER fiscal_record_no_delete")
    raw.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq = ?", (first,))
    raw.commit()
    problems = verify_database(conn).problems
    found = [(p.journal, p.seq, p.code) for p in problems]
    assert found[0] == ("TICKET", first + 1, "gap")
    assert {code for journal, _, code in found[1:]} == {"closure"}  # its day's Z no longer adds up


def test_rows_no_purge_covers_cannot_be_deleted(old_till: Till) -> None:
    conn = old_till.db.connection()
    purge(old_till.ledger, conn, date(2019, 1, 1), date(2026, 11, 25), by="test")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET'")


def test_refusals_say_why_and_change_nothing(old_till: Till) -> None:
    conn = old_till.db.connection()
    before = counts(old_till)
    today = date(2026, 11, 25)
    with pytest.raises(FiscalError, match="mois entiers"):
        plan_purge(old_till.ledger, conn, date(2019, 1, 15), today)
    with pytest.raises(FiscalError, match="se conservent 6 ans"):
        plan_purge(old_till.ledger, conn, date(2021, 1, 1), today)
    with pytest.raises(FiscalError, match="non archivée"):
        plan_purge(old_till.ledger, conn, date(2027, 1, 1), date(2039, 1, 1))  # 2026-11 not archived
    assert counts(old_till) == before


def test_cli_shows_then_purges(old_till: Till, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(old_till.data_dir)
    old_till.stop()
    assert main(["--data-dir", data, "fiscal", "purge", "--before", "2019-01-01"]) == 0
    shown = capsys.readouterr().out
    assert "Journal ticket : jusqu'au n°" in shown and "(31/12/2018)" in shown and "--yes" in shown
    assert main(["--data-dir", data, "fiscal", "purge", "--before", "2019-01-01", "--yes"]) == 0
    assert "journalisée" in capsys.readouterr().out
    assert main(["--data-dir", data, "fiscal", "verify"]) == 0
