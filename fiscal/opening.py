"""Opening the journals for writing: every process (the till's UI, each `kiosk` command, the uplink, the
simulation, tests) goes through `open_for_write`, so the ledger checks itself before anything rewrites
its anchor:

    session = open_for_write(ledger, conn, process="cli:sim sales", version="1.4.0")
    session.alert        # French banner while a detected gap waits for a manager, else None
    ...                  # sales, closures, reprints: the act stays possible
    session.stop()       # JET STOP, anchor rewritten

At open: the tail is compared with the anchor (fiscal.tail); a mismatch becomes a JET RESTORE_DETECTED
record, then JET START (process, version) is journaled and the anchor rewritten. While the clock reads
earlier than the journals nothing can be signed: both wait for `begin()` (after a manager confirmed the
time). `acknowledge(by, reason)` answers the pending detections with a JET GAP_ACKNOWLEDGED record.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

from .journal import JET, JOURNAL_LABELS, FiscalError, FiscalLedger, Record, transaction
from .tail import (
    GAP,
    GAP_ACKNOWLEDGED,
    RESTORE_DETECTED,
    TRUNCATED,
    Detection,
    TailGap,
    alert_text,
    compare_tail,
    detections,
    reported_gaps,
)


class WriteSession:
    """One process's hold on the journals for writing."""

    def __init__(self, ledger: FiscalLedger, conn: sqlite3.Connection, *, process: str, version: str = ""):
        self.ledger = ledger
        self.conn = conn
        self.process = process
        self.version = version
        anchored = ledger.anchor.read() if ledger.anchor is not None else None
        already = reported_gaps(conn, ledger.till)
        # A numbering gap stays in the database: journaled once. The other mismatches are against the
        # anchor, rewritten once journaled: seen again, they are a new event.
        self.gaps: list[TailGap] = [
            g for g in compare_tail(conn, ledger.till, anchored) if g.kind != GAP or g not in already
        ]
        self.clock_behind = ledger.clock_behind(conn)
        self.started = False
        self.stopped = False
        self._pending: list[Detection] = []
        self._refresh()

    # -- life cycle ----------------------------------------------------------------------------------
    def begin(self) -> None:
        """Journal what the opening found (RESTORE_DETECTED) and START, then anchor the heads."""
        if self.started:
            return
        details = {"process": self.process, "version": self.version}
        with transaction(self.conn):
            if self.gaps:
                self.ledger.append(
                    self.conn,
                    JET,
                    RESTORE_DETECTED,
                    {
                        "event": RESTORE_DETECTED,
                        "details": {
                            "process": self.process,
                            "anchored": [
                                f"{JOURNAL_LABELS.get(g.journal, g.journal)} n°{g.anchored_seq}"
                                for g in self.gaps
                                if g.kind == TRUNCATED
                            ],
                            "gaps": [g.as_dict() for g in self.gaps],
                        },
                    },
                )
            self.ledger.append(self.conn, JET, "START", {"event": "START", "details": details})
        self.ledger.anchor_heads(self.conn)
        self.gaps = []
        self.clock_behind = None
        self.started = True
        self._refresh()

    def stop(self) -> None:
        """Journal STOP (once, and only after a START) and anchor the heads."""
        if self.started and not self.stopped:
            details = {"process": self.process, "version": self.version}
            self.ledger.record_event(self.conn, "STOP", details)
            self.ledger.anchor_heads(self.conn)
        self.stopped = True

    def __enter__(self) -> WriteSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- detections ----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self._pending = [d for d in detections(self.conn, self.ledger.till) if d.acknowledged_by is None]

    @property
    def pending(self) -> list[Detection]:
        """Journaled detections no manager has acknowledged yet."""
        return list(self._pending)

    @property
    def alert(self) -> str | None:
        """The banner (French) while something waits for a manager: a journaled detection, or a mismatch
        found at open that cannot be journaled yet (clock behind)."""
        text = alert_text(self._pending)
        if self.gaps:
            found = "; ".join(g.text() for g in self.gaps)
            note = (
                "ANOMALIE FISCALE (suppression ou restauration d'une copie ancienne) : "
                f"{found} (journalisé dès que l'heure sera confirmée)."
            )
            return f"{note} {text}" if text else note
        return text

    def acknowledge(self, by: str, reason: str) -> Record:
        """A manager acknowledges every pending detection: JET GAP_ACKNOWLEDGED (who, why, which). The
        detections stay in the journal; the verifier then reports them as acknowledged."""
        if not by.strip() or not reason.strip():
            raise FiscalError("Indiquez qui reconnaît l'écart et pourquoi (--by et --reason).")
        if not self._pending:
            raise FiscalError("Aucun écart fiscal en attente de reconnaissance.")
        details = {
            "by": by.strip(),
            "reason": reason.strip(),
            "process": self.process,
            "acknowledges": [d.record.seq for d in self._pending],
            "gaps": [g.as_dict() for d in self._pending for g in d.gaps],
        }
        record = self.ledger.record_event(self.conn, GAP_ACKNOWLEDGED, details)
        self.ledger.anchor_heads(self.conn)
        self._refresh()
        return record


def open_for_write(
    ledger: FiscalLedger, conn: sqlite3.Connection, *, process: str, version: str = ""
) -> WriteSession:
    """Open the journals for writing: compare the tail with the anchor, journal a mismatch and START
    (unless the clock is behind: then `begin()` once a manager confirmed the time)."""
    session = WriteSession(ledger, conn, process=process, version=version)
    if session.clock_behind is None:
        session.begin()
    return session
