"""The verifier: checks every journal of a till database, or an archive (fiscal.archive_check), on its own.

    python -m fiscal.verify DATABASE.sqlite [--anchor FILE] [--pubkey FILE] [--json]

Exit 0 only when everything holds; otherwise one line per problem naming the record. A large database
(PARALLEL_MIN_RECORDS records or more) is checked by worker processes, one per CPU, each reading the file
itself; the report is the same, problem for problem, as the one process would give.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .anchor import Anchor
from .archive_check import verify_archive
from .chain_check import check_anchor, check_chain, load_keys
from .closures import check_closures
from .journal import CLOSURE, COLUMNS, TICKET, Record, clock_backs
from .keys import key_id_of, load_public_pem
from .problems import Problem, Report, print_report
from .purge import ChainStart, chain_starts
from .tickets import return_problems
from .trust import acknowledged_gaps, duplicate_problems, key_period_problems, restore_problems, trusted_keys

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
    keys = load_keys(conn, report)
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
    root = key_id_of(pinned_key) if pinned_key is not None else None
    for journal, seq, text in key_period_problems(conn, keys, root):
        report.problems.append(Problem(journal, seq, "key_period", text))
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
        report.notes.extend(acknowledged_gaps(conn, till))
        purged_tickets = purges[till][0].get(TICKET)
        for seq, text in duplicate_problems(conn, till, purged_tickets.seq if purged_tickets else 0):
            report.problems.append(Problem("DUPLICATE", seq, "duplicate", text))
        for seq, text in return_problems(conn, till):
            report.problems.append(Problem(TICKET, seq, "return", text))
    if anchor is not None:
        check_anchor(anchor, heads, report)
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


__all__ = [
    "Problem",
    "Report",
    "available_cpus",
    "check_chain",
    "main",
    "print_report",
    "verify_database",
    "verify_path",
]


if __name__ == "__main__":
    sys.exit(main())
