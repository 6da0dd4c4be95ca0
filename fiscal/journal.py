"""Signed, chained, gap-free journals (tickets, duplicates, closures, JET, archives, training).

Each record is signed with the till key over `canonical.signed_message(...)`, which includes the previous
record's signature in the same journal: editing, deleting, inserting or reordering a record breaks the
chain, and without the private key nobody can re-sign it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import canonical
from .anchor import Anchor
from .keys import SigningKey
from .schema import ensure_schema
from .timeutil import stamp

TICKET = "TICKET"
DUPLICATE = "DUPLICATE"
CLOSURE = "CLOSURE"
JET = "JET"
ARCHIVE = "ARCHIVE"
TRAINING = "TRAINING"
JOURNALS = (TICKET, DUPLICATE, CLOSURE, JET, ARCHIVE, TRAINING)
KEY_ROTATION = "KEY_ROTATION"  # JET: a new till key, announced under the previous one
CLOCK_BACK = "CLOCK_BACK"  # JET: a manager confirmed a clock earlier than the journals

JOURNAL_LABELS = {
    TICKET: "ticket",
    DUPLICATE: "duplicata",
    CLOSURE: "clôture",
    JET: "événement JET",
    ARCHIVE: "archive",
    TRAINING: "ticket de formation",
}

COLUMNS = "till, journal, seq, rtype, ts_utc, tz_offset, day, total, body, prev_sig, key_id, sig"


class FiscalError(Exception):
    """A fiscal rule refused an operation; the message says why (French, for the cashier)."""


class ClockWentBack(FiscalError):
    """The clock is earlier than the journal's last record: a manager must confirm before signing."""


@dataclass(frozen=True)
class Record:
    till: str
    journal: str
    seq: int
    rtype: str
    ts_utc: str
    tz_offset: int
    day: str
    total: int | None
    body: str
    prev_sig: str
    key_id: str
    sig: str

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Record:
        return cls(*row)

    def message(self) -> bytes:
        return canonical.signed_message(
            till=self.till,
            journal=self.journal,
            seq=self.seq,
            rtype=self.rtype,
            ts_utc=self.ts_utc,
            tz_offset=self.tz_offset,
            day=self.day,
            total=self.total,
            body=self.body,
            prev_sig=self.prev_sig,
            key_id=self.key_id,
        )

    def data(self) -> dict[str, Any]:
        import json

        return dict(json.loads(self.body))

    @property
    def label(self) -> str:
        return f"{JOURNAL_LABELS.get(self.journal, self.journal)} n°{self.seq}"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Join the caller's transaction, or run one of our own (BEGIN IMMEDIATE: numbering is serialised)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class FiscalLedger:
    """Appends signed records for one till; the caller owns the transaction (or lets us open one)."""

    def __init__(
        self,
        till: str,
        key: SigningKey,
        clock: Callable[[], datetime],
        anchor: Anchor | None = None,
    ):
        self.till = till
        self.key = key
        self.clock = clock
        self.anchor = anchor
        # Called inside the record's transaction after it is written (e.g. the uplink's outbox).
        self.observers: list[Callable[[sqlite3.Connection, Record], None]] = []

    def setup(self, conn: sqlite3.Connection) -> bool:
        """Create the schema and register the key; True when the key is new to this database."""
        ensure_schema(conn)
        ts_utc, _, _ = stamp(self.clock())
        with transaction(conn):
            cur = conn.execute(
                "INSERT OR IGNORE INTO fiscal_key (key_id, till, public_pem, created_utc) VALUES (?, ?, ?, ?)",
                (self.key.key_id, self.till, self.key.public_pem, ts_utc),
            )
        return cur.rowcount == 1

    def head(self, conn: sqlite3.Connection, journal: str) -> Record | None:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? ORDER BY seq DESC LIMIT 1",
            (self.till, journal),
        ).fetchone()
        return Record.from_row(row) if row else None

    def append(
        self,
        conn: sqlite3.Connection,
        journal: str,
        rtype: str,
        body: dict[str, Any],
        *,
        total: int | None = None,
        when: datetime | None = None,
        allow_clock_back: bool = False,
        head: Record | None = None,
    ) -> Record:
        """Sign and insert the next record of `journal` inside the current transaction.

        `head` lets a caller that already read the journal's head (to chain grand totals) pass it in.
        """
        if journal not in JOURNALS:
            raise ValueError(f"unknown journal {journal!r}")
        if not conn.in_transaction:
            raise FiscalError("un enregistrement fiscal s'écrit dans une transaction")
        when = when or self.clock()
        ts_utc, tz_offset, day = stamp(when)
        previous = head if head is not None else self.head(conn, journal)
        if previous is not None and ts_utc < previous.ts_utc and not allow_clock_back:
            if not covered_by_clock_back(clock_backs(conn, self.till), previous.ts_utc, ts_utc):
                raise ClockWentBack(
                    "L'horloge de la caisse est antérieure au dernier enregistrement "
                    f"({previous.label}). Un responsable doit confirmer la date et l'heure."
                )
        body_text = canonical.dumps(body)
        fields = dict(
            till=self.till,
            journal=journal,
            seq=previous.seq + 1 if previous else 1,
            rtype=rtype,
            ts_utc=ts_utc,
            tz_offset=tz_offset,
            day=day,
            total=total,
            body=body_text,
            prev_sig=previous.sig if previous else "",
            key_id=self.key.key_id,
        )
        sig = self.key.sign(canonical.signed_message(**fields))  # type: ignore[arg-type]
        record = Record(sig=sig, **fields)  # type: ignore[arg-type]
        conn.execute(
            f"INSERT INTO fiscal_record ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.till,
                record.journal,
                record.seq,
                record.rtype,
                record.ts_utc,
                record.tz_offset,
                record.day,
                record.total,
                record.body,
                record.prev_sig,
                record.key_id,
                record.sig,
            ),
        )
        for observer in self.observers:
            observer(conn, record)
        return record

    def record_event(
        self, conn: sqlite3.Connection, code: str, details: dict[str, Any] | None = None, **kwargs: Any
    ) -> Record:
        """Journal a technical event (JET) in its own transaction unless one is open."""
        with transaction(conn):
            return self.append(conn, JET, code, {"event": code, "details": details or {}}, **kwargs)

    def rotate_key(self, conn: sqlite3.Connection, new_key: SigningKey, by: str) -> Record:
        """Introduce `new_key`: registered and announced in the JET by a record signed with the current
        key (so the chain of trust runs from the first key), then used for every record after it."""
        old_id = self.key.key_id
        ts_utc, _, _ = stamp(self.clock())
        with transaction(conn):
            conn.execute(
                "INSERT INTO fiscal_key (key_id, till, public_pem, created_utc) VALUES (?, ?, ?, ?)",
                (new_key.key_id, self.till, new_key.public_pem, ts_utc),
            )
            details = {"old": old_id, "new": new_key.key_id, "new_pem": new_key.public_pem, "by": by}
            record = self.append(conn, JET, KEY_ROTATION, {"event": KEY_ROTATION, "details": details})
        self.key = new_key
        self.anchor_heads(conn)
        return record

    def clock_behind(self, conn: sqlite3.Connection) -> str | None:
        """The newest record's UTC time when the clock reads earlier and no confirmation covers it."""
        now, _, _ = stamp(self.clock())
        last = max((head["ts_utc"] for head in heads(conn, self.till).values()), default=None)
        if last is None or now >= last or covered_by_clock_back(clock_backs(conn, self.till), last, now):
            return None
        return last

    def confirm_clock_back(self, conn: sqlite3.Connection, by: str) -> Record:
        """A manager confirmed that the clock is right although earlier than the journals: journaled
        (JET CLOCK_BACK, signed at the new time), after which records may follow at the new time."""
        last = max((head["ts_utc"] for head in heads(conn, self.till).values()), default="")
        with transaction(conn):
            record = self.append(
                conn,
                JET,
                CLOCK_BACK,
                {"event": CLOCK_BACK, "details": {"last_ts": last, "by": by}},
                allow_clock_back=True,
            )
        self.anchor_heads(conn)
        return record

    def anchor_heads(self, conn: sqlite3.Connection) -> None:
        """After a commit: copy the journal heads outside the database (tail anchoring)."""
        if self.anchor is not None:
            self.anchor.write(heads(conn, self.till), self.key.key_id)


def clock_backs(conn: sqlite3.Connection, till: str) -> list[tuple[str, str]]:
    """Every confirmed clock jump backwards, as (newest time before the jump, time of the jump)."""
    import json

    rows = conn.execute(
        "SELECT ts_utc, body FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ?",
        (till, JET, CLOCK_BACK),
    )
    found = []
    for ts_utc, body in rows:
        try:
            found.append((str(json.loads(body)["details"]["last_ts"]), ts_utc))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def covered_by_clock_back(jumps: list[tuple[str, str]], before: str, after: str) -> bool:
    """True when a record at `after` may follow one at `before` < ... : a confirmed jump from at least
    `before` back to at most `after`."""
    return any(last >= before and jumped <= after for last, jumped in jumps)


def heads(conn: sqlite3.Connection, till: str) -> dict[str, dict[str, Any]]:
    """The last record of each journal: one index probe per journal, whatever the journal's size."""
    result = {}
    for journal in JOURNALS:
        row = conn.execute(
            "SELECT seq, sig, ts_utc FROM fiscal_record WHERE till = ? AND journal = ? ORDER BY seq DESC LIMIT 1",
            (till, journal),
        ).fetchone()
        if row:
            result[journal] = {"seq": row[0], "sig": row[1], "ts_utc": row[2]}
    return result
