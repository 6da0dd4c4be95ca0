"""Cross-record checks of the verifier: which keys are trusted, restores the till detected, duplicates.

Keys: the first key (or the one the auditor pins with --pubkey) is the root; any other key is trusted
only when a JET KEY_ROTATION record signed by an already trusted key announces it. A key slipped into
the key table by whoever holds the database is therefore never trusted, whatever it signed.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .journal import COLUMNS, DUPLICATE, JET, KEY_ROTATION, TICKET, Record
from .keys import verify_signature
from .tail import detections


def _jet(conn: sqlite3.Connection, till: str, rtype: str) -> list[Record]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? ORDER BY seq",
        (till, JET, rtype),
    )
    return [Record.from_row(row) for row in rows]


def _details(record: Record) -> dict[str, Any]:
    try:
        details = record.data().get("details", {})
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def trusted_keys(
    conn: sqlite3.Connection, keys: dict[str, Ed25519PublicKey], root: str | None
) -> tuple[dict[str, Ed25519PublicKey], list[tuple[str, str]]]:
    """(trusted keys, [(key id, French problem)] for registered keys no trusted rotation introduces)."""
    if not keys:
        return {}, []
    ordered = [row[0] for row in conn.execute("SELECT key_id FROM fiscal_key ORDER BY created_utc, key_id")]
    root = root or next((k for k in ordered if k in keys), None)
    trusted = {root: keys[root]} if root in keys else {}
    tills = [row[0] for row in conn.execute("SELECT DISTINCT till FROM fiscal_record")]
    for till in tills:
        for record in _jet(conn, till, KEY_ROTATION):
            signer = trusted.get(record.key_id)
            new = _details(record).get("new")
            if (
                signer is None
                or new not in keys
                or not verify_signature(signer, record.sig, record.message())
            ):
                continue
            trusted[new] = keys[new]
    problems = [
        (key_id, f"clé {key_id} non introduite par une rotation signée par une clé de confiance")
        for key_id in ordered
        if key_id in keys and key_id not in trusted
    ]
    return trusted, problems


def key_periods(
    conn: sqlite3.Connection, trusted: dict[str, Ed25519PublicKey], root: str | None
) -> dict[str, tuple[int, int | None, str]]:
    """Each trusted key's registration period, in storage order (fiscal_record.id): key id → (after id,
    until id or None, French description). The root key serves from the first record; a key introduced
    by a trusted KEY_ROTATION serves from the record after it; a key serves up to (and with) the first
    rotation it signs, which hands over to the next key."""
    ordered = [row[0] for row in conn.execute("SELECT key_id FROM fiscal_key ORDER BY created_utc, key_id")]
    root = root if root in trusted else next((k for k in ordered if k in trusted), None)
    if root is None:
        return {}
    starts: dict[str, tuple[int, str]] = {root: (0, "du premier enregistrement")}
    ends: dict[str, tuple[int, str]] = {}
    rotations = conn.execute(
        f"SELECT id, {COLUMNS} FROM fiscal_record WHERE journal = ? AND rtype = ? ORDER BY id",
        (JET, KEY_ROTATION),
    )
    for row_id, *columns in rotations:
        record = Record.from_row(tuple(columns))
        signer = trusted.get(record.key_id)
        new = _details(record).get("new")
        if signer is None or new not in trusted or not verify_signature(signer, record.sig, record.message()):
            continue
        where = f"la rotation (événement JET n°{record.seq})"
        ends.setdefault(record.key_id, (row_id, where))
        starts.setdefault(new, (row_id, where))
    periods = {}
    for key_id, (after, since) in starts.items():
        until, to = ends.get(key_id, (None, "aujourd'hui"))
        text = f"en service depuis {since}" if since.startswith("la") else f"en service {since}"
        periods[key_id] = (after, until, f"{text} jusqu'à {to}")
    return periods


def key_period_problems(
    conn: sqlite3.Connection, trusted: dict[str, Ed25519PublicKey], root: str | None
) -> list[tuple[str, int, str]]:
    """Records signed by a trusted key outside its registration period (a retired key used again, a key
    used before the rotation that introduces it): [(journal, seq, French problem)], in storage order.
    One scan of the records, in SQLite."""
    periods = key_periods(conn, trusted, root)
    if not periods:
        return []
    inside = " OR ".join(
        "(key_id = ? AND id > ?" + (" AND id <= ?)" if until is not None else ")")
        for _, (_, until, _) in periods.items()
    )
    params: list[Any] = []
    for key_id, (after, until, _) in periods.items():
        params += [key_id, after] + ([until] if until is not None else [])
    marks = ", ".join("?" for _ in periods)
    rows = conn.execute(
        f"SELECT journal, seq, key_id FROM fiscal_record WHERE key_id IN ({marks}) AND NOT ({inside}) ORDER BY id",
        [*periods, *params],
    )
    return [
        (journal, seq, f"signé par la clé {key_id} hors de sa période ({periods[key_id][2]})")
        for journal, seq, key_id in rows
    ]


def restore_problems(conn: sqlite3.Connection, till: str) -> list[tuple[int, str]]:
    """Gaps the till detected when its journals were opened (RESTORE_DETECTED) that no manager has
    acknowledged yet: the records they lost, by number."""
    return [
        (
            d.record.seq,
            f"suppression ou restauration détectée : {d.text()} ; non reconnue par un responsable "
            "(kiosk fiscal acknowledge)",
        )
        for d in detections(conn, till)
        if d.acknowledged_by is None
    ]


def acknowledged_gaps(conn: sqlite3.Connection, till: str) -> list[str]:
    """Detected gaps a manager acknowledged (French lines): no longer problems, still reported."""
    lines = []
    for d in detections(conn, till):
        ack = d.acknowledged_by
        if ack is not None:
            lines.append(
                f"événement JET n°{d.record.seq} : écart reconnu : {d.text()} ; reconnu par {ack.get('by')} "
                f"le {str(ack.get('ts_utc', ''))[:10]} (JET n°{ack.get('seq')}) : « {ack.get('reason')} »"
            )
    return lines


def duplicate_problems(conn: sqlite3.Connection, till: str, purged_up_to: int = 0) -> list[tuple[int, str]]:
    """A duplicate must reproduce an existing ticket, bound to it by the ticket's signature (tickets up to
    `purged_up_to` were purged: their duplicates can no longer be compared)."""
    tickets = dict(
        conn.execute(
            "SELECT seq, sig FROM fiscal_record WHERE till = ? AND journal = ?", (till, TICKET)
        ).fetchall()
    )
    found = []
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ?", (till, DUPLICATE)
    )
    for row in rows:
        record = Record.from_row(row)
        try:
            body = json.loads(record.body)
        except ValueError:
            continue
        number = body.get("ticket")
        if isinstance(number, int) and number <= purged_up_to:
            continue
        if tickets.get(number) != body.get("ticket_sig"):
            found.append((record.seq, f"duplicata du ticket n°{body.get('ticket')} introuvable ou modifié"))
    return found
