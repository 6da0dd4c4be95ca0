"""Key rotation: the new key is announced in the JET under the old one; the verifier trusts a key only
through that chain from the first (published) key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fiscal.journal import FiscalLedger, transaction
from fiscal.keys import create_key, load_public_pem
from fiscal.verify import verify_database
from kiosk.demo.simulation import simulate_sales
from kiosk.till import KEY_FILE, Till


def _problems(till: Till, pinned: str | None = None) -> list[str]:
    conn = sqlite3.connect(till.data_dir / "kiosk.sqlite")
    key = load_public_pem(pinned) if pinned else None
    return [p.line() for p in verify_database(conn, pinned_key=key).problems]


def test_rotation_is_journaled_and_verifies_from_the_first_key(till: Till) -> None:
    first_pem = till.ledger.key.public_pem
    simulate_sales(till, 3, seed=1)
    old_id = till.ledger.key.key_id
    new_id = till.rotate_key("Alice")
    simulate_sales(till, 3, seed=2)
    assert (till.data_dir / KEY_FILE.parent / "retired" / f"{old_id}.pem").exists()
    rows = till.db.execute_sql(
        "SELECT key_id FROM fiscal_record WHERE journal='TICKET' ORDER BY seq"
    ).fetchall()
    assert [r[0] for r in rows] == [old_id] * 3 + [new_id] * 3
    assert _problems(till) == []
    assert _problems(till, pinned=first_pem) == []

    reopened = Till.open(till.data_dir)  # the new key is the one in service after a restart
    assert reopened.ledger.key.key_id == new_id
    reopened.db.close()


def test_a_key_slipped_into_the_table_is_not_trusted(till: Till, tmp_path: Path) -> None:
    """An attacker adds their own key to fiscal_key and signs records with it: no rotation record signed
    by a trusted key introduces it, so its records are reported."""
    first_pem = till.ledger.key.public_pem
    simulate_sales(till, 2, seed=1)
    forged = create_key(tmp_path / "forged.pem")
    conn = till.db.connection()
    with transaction(conn):
        conn.execute(
            "INSERT INTO fiscal_key (key_id, till, public_pem, created_utc) VALUES (?, ?, ?, ?)",
            (forged.key_id, "T01", forged.public_pem, "2099-01-01T00:00:00.000000Z"),
        )
        FiscalLedger("T01", forged, till.clock).append(conn, "JET", "FORGED", {"event": "FORGED"})
    problems = _problems(till, pinned=first_pem)
    assert any(forged.key_id in p and "rotation" in p for p in problems)


def test_a_stop_in_the_middle_of_a_rotation_is_finished_at_start(till: Till) -> None:
    path = till.data_dir / KEY_FILE
    pending = path.with_name(path.name + ".new")
    new_key = create_key(pending)
    till.ledger.rotate_key(till.db.connection(), new_key, "Alice")  # journaled, files not swapped yet
    till.db.close()
    reopened = Till.open(till.data_dir)
    assert reopened.ledger.key.key_id == new_key.key_id and not pending.exists()
    reopened.db.close()


def _retired(till: Till, key_id: str) -> FiscalLedger:
    """What a thief of the retired key file could sign with."""
    from fiscal.keys import load_or_create_key

    key, _ = load_or_create_key(
        till.data_dir / KEY_FILE.parent / "retired" / f"{key_id}.pem", may_create=False
    )
    return FiscalLedger(till.ledger.till, key, till.clock)


def test_a_retired_key_signing_after_its_rotation_is_reported(till: Till) -> None:
    first_pem = till.ledger.key.public_pem
    simulate_sales(till, 2, seed=1)
    old_id = till.ledger.key.key_id
    till.rotate_key("Alice")
    simulate_sales(till, 2, seed=2)
    conn = till.db.connection()
    with transaction(conn):  # correctly chained and signed: only the key's period gives it away
        forged = _retired(till, old_id).append(conn, "JET", "FORGED", {"event": "FORGED"})
    (rotation,) = till.db.execute_sql("SELECT seq FROM fiscal_record WHERE rtype = 'KEY_ROTATION'").fetchone()
    assert _problems(till, pinned=first_pem) == [
        f"événement JET n°{forged.seq} : signé par la clé {old_id} hors de sa période (en service du premier "
        f"enregistrement jusqu'à la rotation (événement JET n°{rotation}))"
    ]


def test_a_new_key_signing_before_the_rotation_that_introduces_it_is_reported(till: Till) -> None:
    simulate_sales(till, 3, seed=1)
    new_id = till.rotate_key("Alice")
    simulate_sales(till, 1, seed=2)
    till.db.close()
    conn = sqlite3.connect(till.data_dir / "kiosk.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER fiscal_record_no_update")
    # Whoever holds the new key re-signs ticket 3, from before the rotation, in place.
    from fiscal.journal import COLUMNS, Record

    (row,) = conn.execute(f"SELECT {COLUMNS} FROM fiscal_record WHERE journal = 'TICKET' AND seq = 3")
    old = Record.from_row(row)
    new_key = till.ledger.key
    fields = {**old.__dict__, "key_id": new_id, "sig": ""}
    resigned = Record(**fields)
    conn.execute(
        "UPDATE fiscal_record SET key_id = ?, sig = ? WHERE journal = 'TICKET' AND seq = 3",
        (new_id, new_key.sign(resigned.message())),
    )
    conn.close()
    problems = _problems(till)
    assert any(
        p.startswith(
            f"ticket n°3 : signé par la clé {new_id} hors de sa période (en service depuis la rotation"
        )
        for p in problems
    )
    assert not any(p.startswith("ticket n°3 : signature invalide") for p in problems)  # well signed


def test_two_rotations_each_key_in_its_own_period(till: Till) -> None:
    first_pem = till.ledger.key.public_pem
    simulate_sales(till, 1, seed=1)
    keys = [till.ledger.key.key_id, till.rotate_key("Alice")]
    simulate_sales(till, 1, seed=2)
    keys.append(till.rotate_key("Marc"))
    simulate_sales(till, 1, seed=3)
    rows = till.db.execute_sql(
        "SELECT key_id FROM fiscal_record WHERE journal='TICKET' ORDER BY seq"
    ).fetchall()
    assert [r[0] for r in rows] == keys
    assert _problems(till, pinned=first_pem) == []
    conn = till.db.connection()
    with transaction(conn):  # the middle key, retired by the second rotation, signs again
        forged = _retired(till, keys[1]).append(conn, "JET", "FORGED", {"event": "FORGED"})
    (problem,) = _problems(till, pinned=first_pem)
    assert problem.startswith(f"événement JET n°{forged.seq} : signé par la clé {keys[1]} hors de sa période")
    assert "en service depuis la rotation" in problem
