"""The journals' tail against its anchor, and what the JET says about it.

Every process that opens the journals for writing (fiscal.opening) first compares them with the anchor
file (fiscal.anchor), before it rewrites that file from what the database now holds:

    truncated   a journal ends before the anchored head: its last records were deleted, or an older
                copy of the database was put back (the numbers between are missing);
    replaced    the record at the anchored number is not the one anchored (its signature is unknown);
    gap         numbers are missing inside a journal (counted against its first and last number);
    unreadable  the anchor file itself is damaged.

A mismatch is journaled as a JET RESTORE_DETECTED record; it stays an open problem of the verifier
until a manager acknowledges it (JET GAP_ACKNOWLEDGED, naming the detections it answers). Nothing is
ever reset or rewritten: the acknowledgement is one more signed record.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .journal import COLUMNS, JET, JOURNAL_LABELS, JOURNALS, Record

RESTORE_DETECTED = "RESTORE_DETECTED"
GAP_ACKNOWLEDGED = "GAP_ACKNOWLEDGED"

TRUNCATED = "truncated"
REPLACED = "replaced"
GAP = "gap"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class TailGap:
    journal: str
    kind: str
    anchored_seq: int = 0
    db_seq: int = 0
    missing: tuple[tuple[int, int], ...] = ()  # ranges of missing numbers, first and last included

    def as_dict(self) -> dict[str, Any]:
        return {
            "journal": self.journal,
            "kind": self.kind,
            "anchored_seq": self.anchored_seq,
            "db_seq": self.db_seq,
            "missing": [list(span) for span in self.missing],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TailGap:
        return cls(
            str(data.get("journal", "")),
            str(data.get("kind", "")),
            int(data.get("anchored_seq", 0)),
            int(data.get("db_seq", 0)),
            tuple((int(a), int(b)) for a, b in data.get("missing", [])),
        )

    def text(self) -> str:
        """« ticket n°10 à n°12 manquant(s) », in French."""
        label = JOURNAL_LABELS.get(self.journal, self.journal)
        if self.kind == UNREADABLE:
            return "fichier d'ancrage illisible (dernier état connu perdu)"
        if self.kind == REPLACED:
            return f"{label} n°{self.anchored_seq} différent de celui ancré (signature inconnue)"
        numbers = ", ".join(f"n°{a}" if a == b else f"n°{a} à n°{b}" for a, b in self.missing)
        if self.kind == TRUNCATED:
            return f"{label} {numbers} manquant(s) : la base s'arrête au n°{self.db_seq}"
        return f"{label} {numbers} manquant(s) dans la numérotation"


def _ranges(numbers: list[int]) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return tuple(spans)


def _purged_up_to(conn: sqlite3.Connection, till: str, journal: str) -> int:
    row = conn.execute(
        "SELECT MAX(up_to_seq) FROM fiscal_purge WHERE till = ? AND journal = ?", (till, journal)
    ).fetchone()
    return int(row[0] or 0)


def _counter_gaps(conn: sqlite3.Connection, till: str, journal: str) -> TailGap | None:
    # three queries: MIN and MAX alone are one index probe each, COUNT(*) alone a scan of the index
    where = "FROM fiscal_record WHERE till = ? AND journal = ?"
    first = conn.execute(f"SELECT MIN(seq) {where}", (till, journal)).fetchone()[0]
    if first is None:
        return None
    last = conn.execute(f"SELECT MAX(seq) {where}", (till, journal)).fetchone()[0]
    count = conn.execute(f"SELECT COUNT(*) {where}", (till, journal)).fetchone()[0]
    floor = _purged_up_to(conn, till, journal) + 1
    if first == floor and count == last - first + 1:
        return None  # the cheap case: every number from the floor to the head is there
    present = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT seq FROM fiscal_record WHERE till = ? AND journal = ? AND seq >= ?",
            (till, journal, floor),
        )
    ]
    have = set(present)
    missing = [n for n in range(floor, last + 1) if n not in have]
    return TailGap(journal, GAP, 0, last, _ranges(missing)) if missing else None


def compare_tail(conn: sqlite3.Connection, till: str, anchored: dict[str, Any] | None) -> list[TailGap]:
    """What the database lacks compared with the anchor (None: no anchor yet), and numbering gaps."""
    found: list[TailGap] = []
    if anchored is not None and anchored.get("corrupt"):
        found.append(TailGap("", UNREADABLE))
    heads = (anchored or {}).get("heads") or {}
    for journal, head in sorted(heads.items()):
        anchored_seq = int(head.get("seq", 0))
        row = conn.execute(
            "SELECT MAX(seq) FROM fiscal_record WHERE till = ? AND journal = ?", (till, journal)
        ).fetchone()
        db_seq = int(row[0] or 0)
        if db_seq < anchored_seq:
            found.append(TailGap(journal, TRUNCATED, anchored_seq, db_seq, ((db_seq + 1, anchored_seq),)))
            continue
        sig = conn.execute(
            "SELECT sig FROM fiscal_record WHERE till = ? AND journal = ? AND seq = ?",
            (till, journal, anchored_seq),
        ).fetchone()
        if sig is None or sig[0] != head.get("sig"):
            found.append(TailGap(journal, REPLACED, anchored_seq, db_seq))
    for journal in JOURNALS:
        gap = _counter_gaps(conn, till, journal)
        if gap is not None:
            found.append(gap)
    return found


@dataclass(frozen=True)
class Detection:
    """A RESTORE_DETECTED record: what was missing, seen by which process, answered or not."""

    record: Record
    process: str
    gaps: tuple[TailGap, ...]
    legacy: tuple[str, ...]  # older records: only the anchored heads, as labels
    acknowledged_by: dict[str, Any] | None

    def text(self) -> str:
        what = "; ".join(gap.text() for gap in self.gaps) or ", ".join(self.legacy) + " perdu(s)"
        who = f" par « {self.process} »" if self.process else ""
        return f"{what} (détecté à l'ouverture{who}, le {self.record.ts_utc[:10]})"


def _details(record: Record) -> dict[str, Any]:
    try:
        details = json.loads(record.body).get("details", {})
    except (ValueError, AttributeError):
        return {}
    return details if isinstance(details, dict) else {}


def _jet(conn: sqlite3.Connection, till: str, rtype: str) -> list[Record]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND rtype = ? ORDER BY seq",
        (till, JET, rtype),
    )
    return [Record.from_row(row) for row in rows]


def detections(conn: sqlite3.Connection, till: str) -> list[Detection]:
    """Every RESTORE_DETECTED of `till`, oldest first, with the acknowledgement that answers it."""
    answered: dict[int, dict[str, Any]] = {}
    for record in _jet(conn, till, GAP_ACKNOWLEDGED):
        details = _details(record)
        for seq in details.get("acknowledges", []):
            if isinstance(seq, int):
                answered.setdefault(seq, details | {"ts_utc": record.ts_utc, "seq": record.seq})
    found = []
    for record in _jet(conn, till, RESTORE_DETECTED):
        details = _details(record)
        try:
            gaps = tuple(TailGap.from_dict(g) for g in details.get("gaps", []))
        except (TypeError, ValueError):
            gaps = ()
        legacy = tuple(str(item) for item in details.get("anchored", [])) if not gaps else ()
        found.append(
            Detection(record, str(details.get("process", "")), gaps, legacy, answered.get(record.seq))
        )
    return found


def reported_gaps(conn: sqlite3.Connection, till: str) -> set[TailGap]:
    """Gaps some RESTORE_DETECTED already names (a numbering gap is journaled once, not at every start)."""
    return {gap for detection in detections(conn, till) for gap in detection.gaps}


def alert_text(pending: list[Detection]) -> str | None:
    """The banner while detections wait for a manager (French), or None."""
    if not pending:
        return None
    what = "; ".join(d.text() for d in pending)
    return (
        f"ANOMALIE FISCALE (suppression ou restauration d'une copie ancienne) : {what}. Prévenez un responsable : "
        "kiosk fiscal acknowledge --by NOM --reason MOTIF (journalisé)."
    )
