"""The verifier: checks every journal of a till database (and, later, archives) on its own.

    python -m fiscal.verify DATABASE.sqlite [--anchor FILE] [--pubkey FILE] [--json]

Exit 0 only when everything holds; otherwise one line per problem naming the record.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .anchor import Anchor
from .closures import check_closures
from .journal import CLOSURE, COLUMNS, JOURNAL_LABELS, TICKET, Record, clock_backs, covered_by_clock_back
from .keys import KeyFileError, key_id_of, load_public_pem, verify_signature


@dataclass(frozen=True)
class Problem:
    journal: str
    seq: int | None
    code: str
    message: str

    def line(self) -> str:
        label = JOURNAL_LABELS.get(self.journal, self.journal)
        where = f"{label} n°{self.seq}" if self.seq is not None else label
        return f"{where} : {self.message}"


@dataclass
class Report:
    records: int = 0
    journals: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "journals": self.journals,
            "keys": self.keys,
            "problems": [asdict(p) | {"text": p.line()} for p in self.problems],
        }


def _load_keys(conn: sqlite3.Connection, report: Report) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for key_id, pem in conn.execute("SELECT key_id, public_pem FROM fiscal_key ORDER BY created_utc"):
        try:
            public = load_public_pem(pem)
        except (KeyFileError, ValueError):
            report.problems.append(Problem("KEY", None, "bad_key", f"clé {key_id} illisible"))
            continue
        if key_id_of(public) != key_id:
            report.problems.append(Problem("KEY", None, "bad_key", f"clé {key_id} : empreinte fausse"))
            continue
        keys[key_id] = public
    return keys


def check_chain(
    rows: Iterable[tuple[Any, ...]],
    keys: dict[str, Ed25519PublicKey],
    report: Report,
    clock_jumps: list[tuple[str, str]] | None = None,
) -> Record | None:
    """Check one journal's records in seq order; returns the last record seen."""
    previous: Record | None = None
    previous_id = -1
    for row_id, *columns in rows:
        record = Record.from_row(tuple(columns))
        report.records += 1
        problems = report.problems
        j, seq = record.journal, record.seq
        expected = previous.seq + 1 if previous else 1
        if seq != expected:
            gap = f"n°{expected}" if seq == expected + 1 else f"n°{expected} à n°{seq - 1}"
            problems.append(Problem(j, seq, "gap", f"enregistrement(s) supprimé(s) avant celui-ci ({gap})"))
        elif record.prev_sig != (previous.sig if previous else ""):
            problems.append(Problem(j, seq, "chain", "chaînage rompu : signature précédente différente"))
        if row_id < previous_id:
            problems.append(
                Problem(j, seq, "order", "enregistrement inséré ou réordonné (ordre de stockage)")
            )
        public = keys.get(record.key_id)
        if public is None:
            problems.append(Problem(j, seq, "unknown_key", f"signé par une clé inconnue ({record.key_id})"))
        elif not verify_signature(public, record.sig, record.message()):
            problems.append(
                Problem(j, seq, "signature", "signature invalide : contenu modifié après signature")
            )
        if (
            previous is not None
            and record.ts_utc < previous.ts_utc
            and not covered_by_clock_back(clock_jumps or [], previous.ts_utc, record.ts_utc)
        ):
            problems.append(Problem(j, seq, "time", "horodatage antérieur à l'enregistrement précédent"))
        if j == TICKET:
            _check_ticket_content(record, previous, problems)
        previous, previous_id = record, row_id
    return previous


def _check_ticket_content(record: Record, previous: Record | None, problems: list[Problem]) -> None:
    from .tickets import check_ticket, next_grand_totals

    try:
        body = record.data()
    except ValueError:
        problems.append(Problem(record.journal, record.seq, "content", "contenu illisible"))
        return
    for text in check_ticket(body, record.total):
        problems.append(Problem(record.journal, record.seq, "content", text))
    if previous is not None and previous.seq == record.seq - 1 and record.total is not None:
        try:
            expected = next_grand_totals(previous, record.total)
        except (ValueError, TypeError):
            return
        if body.get("gt") != expected:
            problems.append(
                Problem(
                    record.journal, record.seq, "grand_total", f"grand total {body.get('gt')} ≠ {expected}"
                )
            )


def verify_database(
    conn: sqlite3.Connection,
    *,
    anchor: dict[str, Any] | None = None,
    pinned_key: Ed25519PublicKey | None = None,
) -> Report:
    report = Report()
    keys = _load_keys(conn, report)
    report.keys = sorted(keys)
    if pinned_key is not None:
        pinned = key_id_of(pinned_key)
        if pinned not in keys:
            report.problems.append(
                Problem(
                    "KEY", None, "wrong_key", f"la clé publique publiée ({pinned}) n'est pas dans la base"
                )
            )
        keys = {pinned: pinned_key}
    tills_journals = conn.execute("SELECT DISTINCT till, journal FROM fiscal_record ORDER BY till, journal")
    heads: dict[str, Record | None] = {}
    for till, journal in tills_journals.fetchall():
        rows = conn.execute(
            f"SELECT id, {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? ORDER BY seq",
            (till, journal),
        )
        before = report.records
        heads[journal] = check_chain(rows, keys, report, clock_backs(conn, till))
        report.journals[journal] = report.records - before
    for till in [
        row[0] for row in conn.execute("SELECT DISTINCT till FROM fiscal_record WHERE journal = 'CLOSURE'")
    ]:
        for seq, text in check_closures(conn, till):
            report.problems.append(Problem(CLOSURE, seq, "closure", text))
    if anchor is not None:
        _check_anchor(anchor, heads, report)
    return report


def _check_anchor(anchor: dict[str, Any], heads: dict[str, Record | None], report: Report) -> None:
    if anchor.get("corrupt"):
        report.problems.append(Problem("ANCHOR", None, "anchor", "fichier d'ancrage illisible"))
        return
    for journal, head in (anchor.get("heads") or {}).items():
        db_head = heads.get(journal)
        anchored_seq = int(head.get("seq", 0))
        db_seq = db_head.seq if db_head else 0
        if db_seq < anchored_seq:
            report.problems.append(
                Problem(
                    journal,
                    anchored_seq,
                    "truncated",
                    f"queue tronquée : la base s'arrête au n°{db_seq}, l'ancrage en connaît "
                    f"{anchored_seq} (suppression ou restauration d'une copie ancienne)",
                )
            )
        elif db_head is not None and db_seq == anchored_seq and db_head.sig != head.get("sig"):
            report.problems.append(
                Problem(journal, db_seq, "anchor", "dernier enregistrement différent de celui ancré")
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fiscal.verify", description=__doc__)
    parser.add_argument("database", type=Path, help="base SQLite de la caisse, ou archive NF525 (.zip)")
    parser.add_argument("--anchor", type=Path, help="fichier d'ancrage (fiscal-anchor.json)")
    parser.add_argument("--pubkey", type=Path, help="clé publique publiée de la caisse (PEM)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.database.exists():
        print(f"{args.database} : fichier introuvable", file=sys.stderr)
        return 2
    if args.pubkey is not None and not args.pubkey.exists():
        print(f"{args.pubkey} : fichier introuvable", file=sys.stderr)
        return 2
    if args.database.suffix.lower() == ".zip":
        # Imported here: fiscal.archive imports this module (Problem, Report, check_chain).
        from .archive import verify_archive

        if args.anchor is not None:
            print("--anchor ne s'applique qu'à une base, pas à une archive", file=sys.stderr)
            return 2
        report = verify_archive(args.database, args.pubkey.read_bytes() if args.pubkey else None)
        print_report(report, as_json=args.json)
        return 0 if report.ok else 1
    conn = sqlite3.connect(f"file:{args.database}?mode=ro", uri=True)
    anchor = Anchor(args.anchor).read() if args.anchor else None
    pinned = load_public_pem(args.pubkey.read_bytes()) if args.pubkey else None
    report = verify_database(conn, anchor=anchor, pinned_key=pinned)
    print_report(report, as_json=args.json)
    return 0 if report.ok else 1


def print_report(report: Report, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for problem in report.problems:
        print(problem.line())
    journals = ", ".join(f"{JOURNAL_LABELS.get(j, j)} {n}" for j, n in sorted(report.journals.items()))
    verdict = "intègre" if report.ok else f"{len(report.problems)} problème(s)"
    print(
        f"Vérification : {report.records} enregistrements ({journals}) ; clés {', '.join(report.keys)} ; {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())
