"""The till's retained status: online/offline with a birth/death sequence (as in Sparkplug B), version,
uptime, outbox depth, last ticket, fiscal chain head of every journal, device states and free disk.

The chain head (per journal: last sequence number, its signature and time, and the key in service) lets
the portal anchor the till's journals remotely: a later head that does not extend it reveals a restore or
a deletion on the till (NF525).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from fiscal.journal import COLUMNS, JET, KEY_ROTATION, TICKET, Record, heads
from fiscal.record_check import introduced_key, signed_fields
from kiosk.uplink.catalogue_sync import applied_version
from kiosk.uplink.outbox import acked_seq, backlog, utc_now


def next_bdseq(data_dir: Path) -> int:
    """The birth/death sequence of this connection (0-255, one more than the last, kept on disk)."""
    path = data_dir / "uplink-bdseq"
    try:
        previous = int(path.read_text("ascii").strip())
    except (OSError, ValueError):
        previous = -1
    value = (previous + 1) % 256
    path.write_text(str(value), "ascii")
    return value


def chain_head(conn: sqlite3.Connection, till: str, key_id: str) -> dict[str, Any]:
    return {"key_id": key_id, "journals": heads(conn, till)}


def public_key(conn: sqlite3.Connection, key_id: str) -> str | None:
    """The PEM of the key in service, so that anyone can check the signatures the till publishes."""
    row = conn.execute("SELECT public_pem FROM fiscal_key WHERE key_id = ?", (key_id,)).fetchone()
    return str(row[0]) if row else None


def fiscal_keys(conn: sqlite3.Connection, till: str) -> list[dict[str, Any]]:
    """Every key the till registered, oldest first, with its period: registered at `from_utc`, retired
    at `until_utc` (the rotation that replaced it, or null while in service). A key after the first
    comes with the signed JET KEY_ROTATION record that introduced it (`introduced_by`), so a portal
    that trusts the first key can check each later one."""
    rotations: dict[str, Record] = {}
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? ORDER BY seq",
        (till, JET, KEY_ROTATION),
    )
    for row in rows:
        record = Record.from_row(row)
        introduced = introduced_key(record)
        if introduced is not None:
            rotations.setdefault(introduced[0], record)
    retired = {json.loads(r.body)["details"]["old"]: r.ts_utc for r in rotations.values()}
    keys = []
    for key_id, pem, created in conn.execute(
        "SELECT key_id, public_pem, created_utc FROM fiscal_key WHERE till = ? ORDER BY created_utc, key_id",
        (till,),
    ):
        rotation = rotations.get(key_id)
        keys.append(
            {
                "key_id": key_id,
                "public_pem": pem,
                "from_utc": rotation.ts_utc if rotation else created,
                "until_utc": retired.get(key_id),
                "introduced_by": signed_fields(rotation) if rotation else None,
            }
        )
    return keys


def build_status(
    conn: sqlite3.Connection,
    *,
    shop: str,
    till: str,
    key_id: str,
    version: str,
    bdseq: int,
    started: float,
    now: float,
    data_dir: Path,
    budget_bytes: int,
    devices: dict[str, str],
    online: bool = True,
    keys: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    head = chain_head(conn, till, key_id)
    ticket = head["journals"].get(TICKET)
    waiting = backlog(conn)
    last_seq = conn.execute("SELECT last_seq FROM outbox_state WHERE id = 1").fetchone()[0]
    return {
        "online": online,
        "bdseq": bdseq,
        "shop": shop,
        "till": till,
        "version": version,
        "at": utc_now(),
        "uptime_s": int(now - started),
        "outbox": {
            "depth": waiting.events,
            "bytes": waiting.size,
            "oldest": waiting.oldest,
            "last_seq": last_seq,
            "acked_seq": acked_seq(conn),
            "warning": waiting.warning(budget_bytes),
        },
        "last_ticket": (
            {"number": f"{till}-{ticket['seq']:06d}", "seq": ticket["seq"], "ts_utc": ticket["ts_utc"]}
            if ticket
            else None
        ),
        "chain_head": head,
        "public_key": public_key(conn, key_id),
        "fiscal_keys": keys if keys is not None else fiscal_keys(conn, till),
        "catalogue_version": applied_version(conn),
        "devices": devices,
        "disk_free": shutil.disk_usage(data_dir).free,
    }


def death(shop: str, till: str, bdseq: int) -> bytes:
    """The last will: what the broker publishes (retained) when the till vanishes."""
    return json.dumps(
        {"online": False, "bdseq": bdseq, "shop": shop, "till": till, "reason": "lost"}
    ).encode()
