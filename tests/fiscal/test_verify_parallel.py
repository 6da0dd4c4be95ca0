"""Verification shared between worker processes reports exactly what the sequential one does."""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fiscal import verify
from fiscal.anchor import Anchor
from fiscal.chain_check import load_keys
from fiscal.closures import close_pending
from fiscal.journal import COLUMNS, FiscalLedger, transaction
from fiscal.keys import load_or_create_key
from fiscal.tickets import record_ticket
from fiscal.verify import Report, check_chain, verify_database, verify_path

TZ = ZoneInfo("Europe/Paris")
FIRST_DAY = date(2026, 3, 2)
DAYS = 6
PER_DAY = 500  # 3,000 tickets
SLICE = 250  # slices of the parallel check: tickets 1-250, 251-500, …


def _body(rng: random.Random) -> dict[str, Any]:
    lines = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        unit, qty, rate = rng.randint(50, 2500), rng.choice((1, 1, 2)), rng.choice((550, 1000, 2000))
        lines.append(
            {
                "ref": "A1",
                "label": "Article",
                "qty": str(qty),
                "unit": unit,
                "vat": rate,
                "amount": unit * qty,
            }
        )
    by_rate: dict[int, int] = {}
    for line in lines:
        by_rate[line["vat"]] = by_rate.get(line["vat"], 0) + line["amount"]
    vat = []
    for rate, ttc in sorted(by_rate.items()):
        ht = ttc * 10000 // (10000 + rate)
        vat.append({"rate": rate, "ht": ht, "tva": ttc - ht, "ttc": ttc})
    total = sum(by_rate.values())
    given = -(-total // 500) * 500
    return {
        "kind": "SALE",
        "cashier": {"id": 1, "name": "Alice"},
        "lines": lines,
        "vat": vat,
        "total": total,
        "tenders": [{"type": "cash", "amount": given}],
        "change": given - total,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 signed tickets over 6 days, each day closed the next morning, a JET event a day, anchored."""
    base = tmp_path_factory.mktemp("journal")
    key, _ = load_or_create_key(base / "till-key.pem")
    now = [datetime.combine(FIRST_DAY, time(7), TZ)]
    ledger = FiscalLedger("T01", key, lambda: now[0], Anchor(base / "anchor"))
    conn = sqlite3.connect(base / "till.sqlite", isolation_level=None)
    ledger.setup(conn)
    rng = random.Random(7)
    for index in range(DAYS + 1):
        day = FIRST_DAY + timedelta(days=index)
        now[0] = datetime.combine(day, time(7), TZ)
        close_pending(ledger, conn, day)
        if index == DAYS:
            break
        with transaction(conn):
            for n in range(PER_DAY):
                now[0] = datetime.combine(day, time(8), TZ) + timedelta(seconds=60 * n)
                record_ticket(ledger, conn, _body(rng))
        ledger.record_event(conn, "TEST", {"day": day.isoformat()})
    ledger.anchor_heads(conn)
    conn.close()
    return base


@pytest.fixture
def journal(built: Path, tmp_path: Path) -> Path:
    """A copy of the built journal, to tamper with."""
    for name in ("till.sqlite", "anchor"):
        shutil.copy(built / name, tmp_path / name)
    return tmp_path


def _tamper(journal: Path, *statements: str) -> None:
    conn = sqlite3.connect(journal / "till.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER fiscal_record_no_update")
    conn.execute("DROP TRIGGER fiscal_record_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.close()


def _ticket(seq: int) -> str:
    return f"journal = 'TICKET' AND seq = {seq}"


def _move_to_end(seq: int) -> list[str]:
    """Delete a ticket and insert it again: same content, later in storage order."""
    return [
        "CREATE TEMP TABLE moved AS SELECT * FROM fiscal_record WHERE " + _ticket(seq),
        "DELETE FROM fiscal_record WHERE " + _ticket(seq),
        f"INSERT INTO fiscal_record ({COLUMNS}) SELECT {COLUMNS} FROM moved",
    ]


TAMPERING: dict[str, list[str]] = {
    "untouched": [],
    # amounts edited at slice edges and inside a slice
    "edited": [
        f"UPDATE fiscal_record SET total = total + 1 WHERE {_ticket(seq)}"
        for seq in (1, 250, 251, 1234, 3000)
    ],
    # a grand total rewritten in the last ticket of a slice: the next slice must see it
    "grand_total": [
        f"UPDATE fiscal_record SET body = json_set(body, '$.gt.perpetual', 0) WHERE {_ticket(750)}",
        f"UPDATE fiscal_record SET body = json_set(body, '$.total', 1) WHERE {_ticket(1600)}",
    ],
    # tickets deleted at both edges of slices, a run of them, and the tail (the anchor knows it)
    "deleted": [
        "DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq IN (500, 1001, 1700, 1701, 1702, 3000)",
        "DELETE FROM fiscal_record WHERE journal = 'JET' AND seq = 6",
    ],
    # two tickets swapped across a slice edge, one moved to the end of the table, a clock set back
    "reordered": [
        "UPDATE fiscal_record SET seq = -1 WHERE " + _ticket(1250),
        "UPDATE fiscal_record SET seq = 1250 WHERE " + _ticket(1251),
        "UPDATE fiscal_record SET seq = 1251 WHERE " + _ticket(-1),
        *_move_to_end(2100),
        f"UPDATE fiscal_record SET ts_utc = '2026-03-01T00:00:00.000000Z' WHERE {_ticket(2400)}",
    ],
    # a forged ticket inserted, an unknown key, a closure and a JET record edited
    "forged": [
        f"INSERT INTO fiscal_record ({COLUMNS}) SELECT till, journal, 3001, rtype, ts_utc, tz_offset, day, "
        f"total, body, prev_sig, key_id, sig FROM fiscal_record WHERE {_ticket(2999)}",
        f"UPDATE fiscal_record SET key_id = 'inconnue' WHERE {_ticket(2001)}",
        "UPDATE fiscal_record SET total = 0 WHERE journal = 'CLOSURE' AND seq = 3",
        "UPDATE fiscal_record SET rtype = 'AUTRE' WHERE journal = 'JET' AND seq = 2",
    ],
}


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record what each parallel check returned (None: it fell back to the sequential one)."""
    calls: list[object] = []
    original = verify._check_in_workers

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(verify, "_check_in_workers", spy)
    return calls


def _both(journal: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Report, Report]:
    database = journal / "till.sqlite"
    anchor = Anchor(journal / "anchor").read()
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    calls = _spy(monkeypatch)
    sequential = verify_database(conn, anchor=anchor)
    assert calls == []
    parallel = verify_database(
        conn, anchor=anchor, path=database, workers=2, parallel_min=1, chunk_records=SLICE
    )
    conn.close()
    assert len(calls) == 1 and calls[0] is not None, "the parallel path ran, without falling back"
    return sequential, parallel


@pytest.mark.parametrize("name", list(TAMPERING))
def test_parallel_report_is_the_sequential_one(
    name: str, journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tamper(journal, *TAMPERING[name])
    sequential, parallel = _both(journal, monkeypatch)
    assert [p.line() for p in parallel.problems] == [p.line() for p in sequential.problems]
    assert parallel.problems == sequential.problems
    assert (parallel.records, parallel.journals, parallel.keys) == (
        sequential.records,
        sequential.journals,
        sequential.keys,
    )
    if name == "untouched":
        assert sequential.ok and sequential.journals["TICKET"] == DAYS * PER_DAY
    else:
        assert not sequential.ok


def test_tampering_is_reported_across_slice_edges(journal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The problems a slice can only see from the record before it are there (not just equal)."""
    _tamper(journal, *TAMPERING["deleted"], *TAMPERING["grand_total"])
    _, parallel = _both(journal, monkeypatch)
    lines = [p.line() for p in parallel.problems]
    assert "ticket n°501 : enregistrement(s) supprimé(s) avant celui-ci (n°500)" in lines
    assert "ticket n°1002 : enregistrement(s) supprimé(s) avant celui-ci (n°1001)" in lines
    assert any(line.startswith("ticket n°751 : grand total") for line in lines)
    assert any(line.startswith("ticket n°3000 : queue tronquée") for line in lines)
    assert any(line.startswith("clôture n°") for line in lines)


@pytest.mark.parametrize("cut", [1, 249, 250, 251, 1700, 2993])
def test_chain_slices_end_to_end_equal_the_whole(journal: Path, cut: int) -> None:
    """check_chain over two slices, the second from the record before it, is check_chain over all."""
    _tamper(journal, *TAMPERING["deleted"], *TAMPERING["reordered"], *TAMPERING["grand_total"])
    conn = sqlite3.connect(journal / "till.sqlite")
    rows = conn.execute(
        f"SELECT id, {COLUMNS} FROM fiscal_record WHERE journal = 'TICKET' ORDER BY seq, id"
    ).fetchall()
    conn.close()
    keys = {key_id: key for key_id, key in _keys(journal).items()}
    whole, first, second = Report(), Report(), Report()
    last = check_chain(rows, keys, whole)
    check_chain(rows[:cut], keys, first)
    second_last = check_chain(rows[cut:], keys, second, previous_row=rows[cut - 1])
    assert first.problems + second.problems == whole.problems
    assert first.records + second.records == whole.records
    assert second_last == last


def _keys(journal: Path) -> dict[str, Any]:
    conn = sqlite3.connect(journal / "till.sqlite")
    report = Report()
    keys = load_keys(conn, report)
    conn.close()
    return keys


def test_verify_path_matches_verify_database(journal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tamper(journal, *TAMPERING["edited"])
    conn = sqlite3.connect(journal / "till.sqlite")
    expected = verify_database(conn)
    conn.close()
    calls = _spy(monkeypatch)
    found = verify_path(journal / "till.sqlite", workers=2, parallel_min=1, chunk_records=SLICE)
    assert calls and calls[0] is not None
    assert found.problems == expected.problems and expected.problems


@pytest.mark.parametrize(
    "call",
    [
        lambda conn, path: verify_database(conn),  # no path: never in workers
        lambda conn, path: verify_database(conn, path=path),  # 3,000 records: below the threshold
        lambda conn, path: verify_database(conn, path=path, workers=1, parallel_min=1),  # one process asked
    ],
)
def test_small_or_pathless_verification_spawns_nothing(
    journal: Path, monkeypatch: pytest.MonkeyPatch, call: Callable[[sqlite3.Connection, Path], Report]
) -> None:
    calls = _spy(monkeypatch)
    conn = sqlite3.connect(journal / "till.sqlite")
    assert call(conn, journal / "till.sqlite").ok
    conn.close()
    assert calls == []
