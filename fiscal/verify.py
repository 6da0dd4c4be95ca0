"""The verifier: checks every journal of a till database (and, later, archives) on its own.

    python -m fiscal.verify DATABASE.sqlite [--anchor FILE] [--pubkey FILE] [--json]

Exit 0 only when everything holds; otherwise one line per problem naming the record. A large database
(PARALLEL_MIN_RECORDS records or more) is checked by worker processes, one per CPU, each reading the file
itself; the report is the same, problem for problem, as the one process would give.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .anchor import Anchor
from .closures import check_closures
from .journal import CLOSURE, COLUMNS, JOURNAL_LABELS, TICKET, Record, clock_backs, covered_by_clock_back
from .keys import KeyFileError, key_id_of, load_public_pem, raw_public_key, verify_signature
from .purge import ChainStart, chain_starts
from .tickets import check_ticket, grand_totals_after, return_problems
from .trust import duplicate_problems, restore_problems, trusted_keys


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
    *,
    previous_row: tuple[Any, ...] | None = None,
    start: ChainStart | None = None,
) -> Record | None:
    """Check one journal's records in seq order; returns the last record seen.

    Rows are (id, *COLUMNS). `previous_row`, in the same form, is the record just before `rows` when they
    are a slice of a longer journal (checked on its own): the checks of the first row (gap, chaining,
    storage order, time, grand totals) then run against it, so that the problems of consecutive slices,
    put end to end, are exactly those of the whole journal. It is not counted nor checked itself.
    Without `previous_row`, `start` is where a purged journal now starts (its last purged record, as the
    signed PURGE record names it): the first record must follow it exactly.
    """
    previous: Record | None = None
    previous_gt: Any = None
    previous_id = -1
    raw_keys = {key_id: raw_public_key(key) for key_id, key in keys.items()}
    if previous_row is not None:
        previous_id, *previous_columns = previous_row
        previous = Record.from_row(tuple(previous_columns))
    elif start is not None:
        previous = _purged_record(start)
        previous_gt = start.gt if start.gt is not None else None
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
        public = raw_keys.get(record.key_id)
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
            previous_gt = _check_ticket_content(record, previous, previous_gt, problems)
        previous, previous_id = record, row_id
    return previous


def _purged_record(start: ChainStart) -> Record:
    """The last purged record of a journal, as far as the chain needs it (number, signature, time)."""
    body = json.dumps({"gt": start.gt}) if start.gt is not None else "{}"
    return Record("", "", start.seq, "PURGED", start.ts_utc, 0, "", None, body, "", "", start.sig)


def _check_ticket_content(
    record: Record, previous: Record | None, previous_gt: Any, problems: list[Problem]
) -> Any:
    """Check a ticket's content and grand totals; returns its grand totals for the next ticket (the
    previous ticket's body is parsed once, not again for each check)."""
    try:
        body = record.data()
    except ValueError:
        problems.append(Problem(record.journal, record.seq, "content", "contenu illisible"))
        return None
    for text in check_ticket(body, record.total):
        problems.append(Problem(record.journal, record.seq, "content", text))
    if previous is not None and previous.seq == record.seq - 1 and record.total is not None:
        if previous_gt is None:
            try:
                previous_gt = previous.data().get("gt", {})
            except ValueError:
                return body.get("gt")
        try:
            expected = grand_totals_after(previous_gt, record.total)
        except (ValueError, TypeError, AttributeError):
            return body.get("gt")
        if body.get("gt") != expected:
            problems.append(
                Problem(
                    record.journal, record.seq, "grand_total", f"grand total {body.get('gt')} ≠ {expected}"
                )
            )
    return body.get("gt")


PARALLEL_MIN_RECORDS = 20_000  # below this, worker processes cost more than they save
CHUNK_RECORDS = 25_000  # at most this many records per task (a few seconds of work)
_MIN_SLICE = 1_000
_SLICES_PER_WORKER = 4  # at least, for a journal big enough: the workers finish together

_ORDER = "ORDER BY seq, id"  # id breaks ties, should a tampered table hold one seq twice


def verify_database(
    conn: sqlite3.Connection,
    *,
    anchor: dict[str, Any] | None = None,
    pinned_key: Ed25519PublicKey | None = None,
    path: Path | str | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN_RECORDS,
    chunk_records: int = CHUNK_RECORDS,
) -> Report:
    """Check every journal of the database behind `conn`: keys, chains, signatures, ticket contents,
    closures and, with `anchor`, the tail.

    With `path` (the file `conn` reads) and at least `parallel_min` records, the work is shared between
    `workers` processes (default: one per available CPU), each opening the database read-only itself:
    every journal is cut into slices of about `chunk_records` records, each checked with the record just
    before it, and the closures are recomputed alongside. The report is the same as the sequential one,
    problem for problem and in the same order. Without `path`, or for a small journal, nothing is spawned.
    """
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
        keys = {pinned: pinned_key} | {k: v for k, v in keys.items() if k != pinned}
    keys, untrusted = trusted_keys(conn, keys, key_id_of(pinned_key) if pinned_key is not None else None)
    for _key_id, text in untrusted:
        report.problems.append(Problem("KEY", None, "untrusted_key", text))
    journals = conn.execute(
        "SELECT DISTINCT till, journal FROM fiscal_record ORDER BY till, journal"
    ).fetchall()
    closure_tills = [
        row[0] for row in conn.execute("SELECT DISTINCT till FROM fiscal_record WHERE journal = 'CLOSURE'")
    ]
    processes = available_cpus() if workers is None else workers
    parallel = (
        path is not None
        and processes > 1
        and conn.execute("SELECT COUNT(*) FROM fiscal_record").fetchone()[0] >= parallel_min
    )
    purges = {till: chain_starts(conn, till) for till in sorted({till for till, _ in journals})}
    heads = None
    if parallel:
        assert path is not None
        heads = _check_in_workers(
            conn, Path(path), keys, journals, closure_tills, report, processes, chunk_records, purges
        )
    if heads is None:
        heads = {}
        for till, journal in journals:
            rows = conn.execute(
                f"SELECT id, {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? {_ORDER}",
                (till, journal),
            )
            before = report.records
            start = purges[till][0].get(journal)
            heads[journal] = check_chain(rows, keys, report, clock_backs(conn, till), start=start)
            report.journals[journal] = report.records - before
        for till in closure_tills:
            for seq, text in check_closures(conn, till, purged_before=purges[till][1]):
                report.problems.append(Problem(CLOSURE, seq, "closure", text))
    for till in sorted({till for till, _ in journals}):
        for seq, text in restore_problems(conn, till):
            report.problems.append(Problem("JET", seq, "restore", text))
        purged_tickets = purges[till][0].get(TICKET)
        for seq, text in duplicate_problems(conn, till, purged_tickets.seq if purged_tickets else 0):
            report.problems.append(Problem("DUPLICATE", seq, "duplicate", text))
        for seq, text in return_problems(conn, till):
            report.problems.append(Problem(TICKET, seq, "return", text))
    if anchor is not None:
        _check_anchor(anchor, heads, report)
    return report


def verify_path(
    path: Path | str,
    *,
    anchor: dict[str, Any] | None = None,
    pinned_key: Ed25519PublicKey | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN_RECORDS,
    chunk_records: int = CHUNK_RECORDS,
) -> Report:
    """`verify_database` of the SQLite file at `path`, opened read-only (in parallel when it is large)."""
    conn = sqlite3.connect(_read_only_uri(Path(path)), uri=True)
    try:
        return verify_database(
            conn,
            anchor=anchor,
            pinned_key=pinned_key,
            path=path,
            workers=workers,
            parallel_min=parallel_min,
            chunk_records=chunk_records,
        )
    finally:
        conn.close()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# -- the same checks, in worker processes ----------------------------------------------------------------


@dataclass(frozen=True)
class _Slice:
    """Records `low` <= seq <= `high` of one journal: `count` of them when the slice was planned."""

    till: str
    journal: str
    low: Any
    high: Any
    count: int


@dataclass(frozen=True)
class _SliceResult:
    records: int
    problems: list[Problem]
    last: Record | None


def _read_only_uri(path: Path) -> str:
    return f"{path.absolute().as_uri()}?mode=ro"


def _slices(conn: sqlite3.Connection, till: str, journal: str, most: int, workers: int) -> list[_Slice]:
    """Cut a journal into slices of at most `most` records, at least a few per worker when it is big,
    by seq values (equal seqs stay together)."""
    seqs = [
        row[0]
        for row in conn.execute(
            f"SELECT seq FROM fiscal_record WHERE till = ? AND journal = ? {_ORDER}", (till, journal)
        )
    ]
    size = min(most, max(_MIN_SLICE, -(-len(seqs) // (workers * _SLICES_PER_WORKER))))
    slices = []
    start = 0
    while start < len(seqs):
        end = min(start + max(1, size), len(seqs))
        while end < len(seqs) and seqs[end] == seqs[end - 1]:
            end += 1
        slices.append(_Slice(till, journal, seqs[start], seqs[end - 1], end - start))
        start = end
    return slices


def _check_slice(
    uri: str,
    piece: _Slice,
    public_keys: dict[str, bytes],
    jumps: list[tuple[str, str]],
    start: ChainStart | None = None,
) -> _SliceResult:
    """Worker: check_chain over one slice, from the record just before it."""
    keys = {key_id: Ed25519PublicKey.from_public_bytes(raw) for key_id, raw in public_keys.items()}
    conn = sqlite3.connect(uri, uri=True)
    try:
        where = "WHERE till = ? AND journal = ?"
        previous = conn.execute(
            f"SELECT id, {COLUMNS} FROM fiscal_record {where} AND seq < ? ORDER BY seq DESC, id DESC LIMIT 1",
            (piece.till, piece.journal, piece.low),
        ).fetchone()
        rows = conn.execute(
            f"SELECT id, {COLUMNS} FROM fiscal_record {where} AND seq BETWEEN ? AND ? {_ORDER}",
            (piece.till, piece.journal, piece.low, piece.high),
        )
        report = Report()
        last = check_chain(rows, keys, report, jumps, previous_row=previous, start=start)
        return _SliceResult(report.records, report.problems, last)
    finally:
        conn.close()


def _check_closures_of(uri: str, till: str, purged_before: str | None) -> list[tuple[int, str]]:
    """Worker: check_closures of one till."""
    conn = sqlite3.connect(uri, uri=True)
    try:
        return check_closures(conn, till, purged_before=purged_before)
    finally:
        conn.close()


def _check_in_workers(
    conn: sqlite3.Connection,
    path: Path,
    keys: dict[str, Ed25519PublicKey],
    journals: list[tuple[str, str]],
    closure_tills: list[str],
    report: Report,
    workers: int,
    chunk_records: int,
    purges: dict[str, tuple[dict[str, ChainStart], str | None]],
) -> dict[str, Record | None] | None:
    """The chains and closures checked by worker processes, added to `report`; the journal heads.

    None, and `report` untouched, when the workers could not run (a caller whose main module cannot be
    imported again without side effects, as multiprocessing's spawn needs; a worker killed): the caller
    then checks everything itself."""
    uri = _read_only_uri(path)
    public_keys = {
        key_id: key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        for key_id, key in keys.items()
    }
    jumps = {till: clock_backs(conn, till) for till in sorted({till for till, _ in journals})}
    plans = [_slices(conn, till, journal, chunk_records, workers) for till, journal in journals]
    found = Report()
    heads: dict[str, Record | None] = {}
    # spawn, not fork: the caller may run threads (the UI), and SQLite must not be used across a fork.
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            try:
                # The closures of a till are one task, the longest: submitted first, they run beside the
                # slices of the chains.
                closure_work = [
                    pool.submit(_check_closures_of, uri, till, purges[till][1]) for till in closure_tills
                ]
                slice_work = [
                    [
                        pool.submit(
                            _check_slice,
                            uri,
                            piece,
                            public_keys,
                            jumps[piece.till],
                            purges[piece.till][0].get(piece.journal),
                        )
                        for piece in plan
                    ]
                    for plan in plans
                ]
                for (till, journal), plan, futures in zip(journals, plans, slice_work, strict=True):
                    results = [future.result() for future in futures]
                    before = found.records
                    if [result.records for result in results] == [piece.count for piece in plan]:
                        for result in results:
                            found.records += result.records
                            found.problems.extend(result.problems)
                        heads[journal] = results[-1].last if results else None
                    else:  # the journal changed meanwhile, or holds seqs no range selects: check it here
                        rows = conn.execute(
                            f"SELECT id, {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? {_ORDER}",
                            (till, journal),
                        )
                        start = purges[till][0].get(journal)
                        heads[journal] = check_chain(rows, keys, found, jumps[till], start=start)
                    found.journals[journal] = found.records - before
                for future in closure_work:
                    for seq, text in future.result():
                        found.problems.append(Problem(CLOSURE, seq, "closure", text))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    except BrokenProcessPool:
        return None
    report.records += found.records
    report.journals.update(found.journals)
    report.problems.extend(found.problems)
    return heads


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
    anchor = Anchor(args.anchor).read() if args.anchor else None
    pinned = load_public_pem(args.pubkey.read_bytes()) if args.pubkey else None
    report = verify_path(args.database, anchor=anchor, pinned_key=pinned)
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
