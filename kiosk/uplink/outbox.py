"""The outbox: events written in the same SQLite transaction as the business act they describe.

Every event has a stable id (uuid4), the till's gap-free sequence number, a type, a schema version, a JSON
payload and its creation time. The publisher sends them in sequence order; an event leaves the outbox only
when the portal acknowledges it (`acknowledge`), so a sale made offline is never lost.

Other features call `emit(conn, type, payload)` inside their own transaction (refunds, stock movements,
loyalty lines...); what they emit commits with their act or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fiscal.journal import ARCHIVE, CLOSURE, JET, TRAINING, Record, transaction
from fiscal.record_check import signed_fields

if TYPE_CHECKING:
    from kiosk.sale.checkout import CompletedSale

SCHEMA_VERSION = 1

CREATE_SQL = (
    "CREATE TABLE outbox ("
    " seq INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " schema INTEGER NOT NULL,"
    " payload TEXT NOT NULL,"
    " created_at TEXT NOT NULL)",
    "CREATE TABLE outbox_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " last_seq INTEGER NOT NULL,"
    " acked_seq INTEGER NOT NULL)",
    "INSERT INTO outbox_state (id, last_seq, acked_seq) VALUES (1, 0, 0)",
    # fleet commands already seen (replay protection), kept until they expire
    "CREATE TABLE fleet_nonce (nonce TEXT PRIMARY KEY, expires TEXT NOT NULL)",
    # inbound events (other tills' stock and loyalty) already applied: idempotent by event id
    "CREATE TABLE inbound_applied (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, applied_at TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Event:
    seq: int
    event_id: str
    type: str
    schema: int
    payload: str  # JSON text, as stored
    created_at: str

    def wire(self, shop: str, till: str, base: int = 0) -> bytes:
        """The message published on the events topic (the payload's JSON is embedded as stored).

        `base` is the till's last acknowledged sequence: every event up to it was stored by a portal, so
        a portal that never saw them (a new or restored portal database) starts after it, not at 1."""
        head = json.dumps(
            {
                "id": self.event_id,
                "shop": shop,
                "till": till,
                "seq": self.seq,
                "type": self.type,
                "v": self.schema,
                "at": self.created_at,
                "base": base,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return f'{head[:-1]},"payload":{self.payload}}}'.encode()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def emit(
    conn: sqlite3.Connection, type: str, payload: dict[str, Any], *, schema: int = SCHEMA_VERSION
) -> Event:
    """Append an event to the outbox inside the caller's transaction (or one of its own).

    The sequence comes from a counter in the same transaction: gap-free, and rolled back with the act."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
    with transaction(conn):
        conn.execute("UPDATE outbox_state SET last_seq = last_seq + 1 WHERE id = 1")
        seq = int(conn.execute("SELECT last_seq FROM outbox_state WHERE id = 1").fetchone()[0])
        event = Event(seq, str(uuid.uuid4()), type, schema, text, utc_now())
        conn.execute(
            "INSERT INTO outbox (seq, event_id, type, schema, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event.seq, event.event_id, event.type, event.schema, event.payload, event.created_at),
        )
    return event


def pending(conn: sqlite3.Connection, after: int = 0, limit: int = 500) -> list[Event]:
    """Events not yet acknowledged, in sequence order, after sequence `after`."""
    rows = conn.execute(
        "SELECT seq, event_id, type, schema, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return [Event(*row) for row in rows]


def acknowledge(conn: sqlite3.Connection, upto: int) -> int:
    """The portal stored every event up to `upto`: they leave the outbox. Returns how many left."""
    with transaction(conn):
        cur = conn.execute("DELETE FROM outbox WHERE seq <= ?", (upto,))
        conn.execute("UPDATE outbox_state SET acked_seq = MAX(acked_seq, ?) WHERE id = 1", (upto,))
    return cur.rowcount


def acked_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT acked_seq FROM outbox_state WHERE id = 1").fetchone()[0])


@dataclass(frozen=True)
class Backlog:
    events: int
    size: int  # bytes of payload waiting
    oldest: str | None

    def warning(self, budget_bytes: int) -> str | None:
        """The French warning shown when the backlog outgrows its disk budget."""
        if self.size <= budget_bytes:
            return None
        return (
            f"Envoi vers le portail en retard : {self.events} événements en attente "
            f"({self.size / 1_000_000:.1f} Mo, budget {budget_bytes / 1_000_000:.0f} Mo"
            f"{', depuis le ' + _day(self.oldest) if self.oldest else ''}). Les ventes restent enregistrées ; "
            "vérifiez la connexion réseau de la caisse ou prévenez votre responsable."
        ).replace(".0 Mo", " Mo")


def _day(stamp: str | None) -> str:
    return f"{stamp[8:10]}/{stamp[5:7]}/{stamp[0:4]}" if stamp else ""


def waiting_count(conn: sqlite3.Connection) -> int:
    """Events not yet acknowledged by the portal, from the sequence counters (one row, whatever the
    backlog): what the title bar polls while offline."""
    last, acked = conn.execute("SELECT last_seq, acked_seq FROM outbox_state WHERE id = 1").fetchone()
    return int(last) - int(acked)


def backlog(conn: sqlite3.Connection) -> Backlog:
    count, size, oldest = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), MIN(created_at) FROM outbox"
    ).fetchone()
    return Backlog(int(count), int(size), oldest)


# -- what the till emits ---------------------------------------------------------------------------
def sale_event(conn: sqlite3.Connection, sale: CompletedSale) -> None:
    """Checkout listener: the ticket (sale or return) leaves as signed, every field the signature covers
    with it (`fiscal.record_check.SIGNED_FIELDS`), so the portal verifies it alone. Training tickets stay."""
    record = sale.record
    if record.journal == TRAINING:
        return
    kind = str(sale.body.get("kind", "SALE")).lower()
    emit(conn, "sale" if kind == "sale" else kind, {"number": sale.number, **signed_fields(record)})


RECORD_TYPES = {CLOSURE: "closure", JET: "jet", ARCHIVE: "archive"}


def record_event(conn: sqlite3.Connection, record: Record) -> None:
    """Ledger observer: closures, archives and JET events (highlights) are sent as signed, whole."""
    type = RECORD_TYPES.get(record.journal)
    if type is None:
        return
    emit(conn, type, signed_fields(record))
