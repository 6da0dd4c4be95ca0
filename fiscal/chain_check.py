"""Chain checking: one journal's records in order (numbering, chaining, storage order, signatures, time,
ticket contents and grand totals), the key table, and the tail against its anchor. Shared by the
database verifier (fiscal.verify) and the archive verifier (fiscal.archive_check)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .journal import TICKET, Record, covered_by_clock_back
from .keys import KeyFileError, key_id_of, load_public_pem, raw_public_key, verify_signature
from .problems import Problem, Report
from .purge import ChainStart
from .tickets import check_ticket, grand_totals_after


def load_keys(conn: sqlite3.Connection, report: Report) -> dict[str, Ed25519PublicKey]:
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


def check_anchor(anchor: dict[str, Any], heads: dict[str, Record | None], report: Report) -> None:
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
