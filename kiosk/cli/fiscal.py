"""`kiosk fiscal …`: verification, closures, keys, archives and purge of the NF525 journals."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from fiscal.keys import KeyFileError
from kiosk.config import ConfigError, load_config

COMMANDS = ("fiscal",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fiscal = sub.add_parser("fiscal", help="NF525").add_subparsers(dest="action", required=True)
    verify = fiscal.add_parser("verify", help="vérifie l'intégrité des journaux fiscaux")
    verify.add_argument("--json", action="store_true")
    close = fiscal.add_parser("close", help="clôture (Z) d'une journée, d'un mois ou d'un exercice")
    close.add_argument("period", choices=["day", "month", "year"])
    close.add_argument(
        "--date", type=date.fromisoformat, help="AAAA-MM-JJ dans la période (défaut : aujourd'hui)"
    )

    ack = fiscal.add_parser(
        "acknowledge", help="un responsable reconnaît un écart détecté (journalisé, rien n'est effacé)"
    )
    ack.add_argument("--by", required=True, help="nom du responsable (gestionnaire ou administrateur)")
    ack.add_argument("--reason", required=True, help="motif (restauration d'une sauvegarde, panne disque…)")

    purge = fiscal.add_parser("purge", help="purge des périodes archivées de plus de 6 ans (contrôles)")
    purge.add_argument("--before", type=date.fromisoformat, required=True, help="AAAA-MM-01")
    purge.add_argument("--yes", action="store_true", help="purger (sans : montre seulement ce qui le serait)")
    fiscal.add_parser("rotate-key", help="remplace la clé de signature (rotation journalisée)")
    export_key = fiscal.add_parser("export-key", help="clé(s) publique(s) de la caisse, en PEM")
    export_key.add_argument("--out", type=Path, help="fichier de sortie (défaut : écran)")

    archive = fiscal.add_parser("archive", help="archive fiscale signée d'une période (ZIP)")
    archive.add_argument("--period", required=True, help="AAAA-MM-JJ, AAAA-MM ou AAAA")
    archive.add_argument("--out", type=Path, required=True, help="fichier .zip (ou répertoire)")

    fec = fiscal.add_parser(
        "fec", help="fichier des écritures comptables (FEC) d'une période, pour le comptable"
    )
    fec.add_argument("--from", dest="start", type=_day, required=True, help="premier jour, JJ/MM/AAAA")
    fec.add_argument("--to", dest="end", type=_day, required=True, help="dernier jour (clôture), JJ/MM/AAAA")
    fec.add_argument("--out", type=Path, default=Path("."), help="répertoire de sortie (défaut : courant)")


def _day(text: str) -> date:
    """ "25/11/2026" (or ISO "2026-11-25") → date; a French message for argparse otherwise."""
    from datetime import datetime

    for layout in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), layout).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"date {text!r} illisible : attendu JJ/MM/AAAA (ou AAAA-MM-JJ)")


def run_before_till(args: argparse.Namespace, data_dir: Path) -> int | None:
    """`verify` and `fec` are read-only: they run without opening (and so without migrating) the till."""
    if args.action == "verify":
        return _fiscal_verify(args, data_dir)
    if args.action == "fec":
        return _fec(args, data_dir)
    return None


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if args.action == "close":
        return _close(till, args.period, args.date)
    if args.action == "purge":
        return _purge(till, args.before, args.yes)
    if args.action == "acknowledge":
        return _acknowledge(till, args.by, args.reason)
    if args.action == "rotate-key":
        import getpass

        new_id = till.rotate_key(f"ssh:{getpass.getuser()}")
        print(f"Nouvelle clé {new_id} en service ; rotation journalisée (JET KEY_ROTATION).")
        print("Publiez la nouvelle clé publique : kiosk fiscal export-key --out cle.pem")
        return 0
    if args.action == "export-key":
        return _export_key(till, args.out)
    return _archive(till, args.period, args.out)


def _close(till, period: str, day: date | None) -> int:  # type: ignore[no-untyped-def]
    from fiscal.closures import close_day, close_month, close_year
    from fiscal.journal import FiscalError
    from fiscal.reports import z_report_from_record

    conn = till.db.connection()
    today = till.clock().date()
    day = day or today
    try:
        if period == "day":
            record = close_day(till.ledger, conn, day, force_today=day == today)
        elif period == "month":
            record = close_month(till.ledger, conn, day.year, day.month)
        else:
            first = till.config.fiscal.first_month
            year = day.year if day.month >= first else day.year - 1
            record = close_year(till.ledger, conn, year, first_month=first)
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    report = z_report_from_record(record)
    print(report.as_text() + till.cash_section(report))
    return 0


def _acknowledge(till, by: str, reason: str) -> int:  # type: ignore[no-untyped-def]
    """A manager (of the staff list) acknowledges the detected gaps: journaled, the verifier then reports
    them as acknowledged instead of failing. Nothing is deleted nor reset."""
    from fiscal.journal import FiscalError

    managers = {m.name.casefold(): m for m in till.staff.members() if m.role in ("admin", "manager")}
    member = managers.get(by.strip().casefold())
    if member is None:
        print(
            f"« {by} » n'est pas un responsable de la caisse (gestionnaire ou administrateur).",
            file=sys.stderr,
        )
        return 2
    pending = till.session.pending
    try:
        record = till.acknowledge_gap(member.name, reason)
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    for detection in pending:
        print(f"Écart reconnu : {detection.text()}")
    print(f"Reconnu par {member.name}, journalisé (JET n°{record.seq}).")
    return 0


def _export_key(till, out: Path | None) -> int:  # type: ignore[no-untyped-def]
    """Every public key the journals were signed with, oldest first, the one in service last."""
    rows = till.db.execute_sql("SELECT key_id, public_pem FROM fiscal_key ORDER BY created_utc").fetchall()
    text = "".join(pem for _, pem in rows)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, "ascii")
        print(
            f"{len(rows)} clé(s) publique(s) écrite(s) dans {out} ; clé en service {till.ledger.key.key_id}"
        )
    return 0


def _archive(till, period: str, out: Path) -> int:  # type: ignore[no-untyped-def]
    from fiscal.archive import ArchiveError
    from fiscal.journal import FiscalError

    try:
        info = till.archive(period, out)
    except (ArchiveError, FiscalError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Archive {info.path} ({info.size} octets) sha256 {info.sha256}")
    return 0


def _fec(args: argparse.Namespace, data_dir: Path) -> int:
    """The FEC of the tickets from --from to --to, named SIRENFECAAAAMMJJ.txt, from a read-only database."""
    import sqlite3

    from fiscal.fec import FecError, check_fec, export_fec, fec_filename
    from kiosk.store.db import DB_NAME

    db_path = data_dir / DB_NAME
    if not db_path.exists():
        print(f"Aucune base de données dans {data_dir}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config, data_dir)
        name = fec_filename(config.shop.siret, args.end)
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            data, entries = export_fec(conn, config.till_id, args.start, args.end, config.fec_accounts())
        finally:
            conn.close()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (FecError, sqlite3.Error) as exc:
        print(f"Export FEC impossible : {exc}", file=sys.stderr)
        return 1
    summary, problems = check_fec(data)
    if problems:  # never hand over a file the DGFiP's tool would refuse
        print("Export FEC refusé : " + "; ".join(problems), file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    euros = f"{summary.debit // 100:,}".replace(",", " ") + f",{summary.debit % 100:02d} €"
    print(
        f"FEC du {args.start:%d/%m/%Y} au {args.end:%d/%m/%Y} : {path} — {entries} écriture(s), "
        f"{summary.lines} ligne(s), total débit = total crédit = {euros}"
    )
    return 0


def _purge(till, before: date, confirmed: bool) -> int:  # type: ignore[no-untyped-def]
    import getpass

    from fiscal.journal import JOURNAL_LABELS, FiscalError
    from fiscal.purge import plan_purge, purge

    conn = till.db.connection()
    today = till.clock().date()
    try:
        if not confirmed:
            for journal, cut in plan_purge(till.ledger, conn, before, today).items():
                last = date.fromisoformat(cut.day)
                print(
                    f"Journal {JOURNAL_LABELS.get(journal, journal)} : jusqu'au n°{cut.seq} ({last:%d/%m/%Y})"
                )
            print("Relancez avec --yes pour purger ; clôtures, JET et archives restent en base.")
            return 0
        result = purge(till.ledger, conn, before, today, by=f"ssh:{getpass.getuser()}")
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    conn.execute("VACUUM")  # give the space back to the disk
    deleted = ", ".join(f"{JOURNAL_LABELS.get(j, j)} {n}" for j, n in result.deleted.items())
    print(f"Purge avant le {before:%d/%m/%Y} : {deleted} ; journalisée (JET n°{result.record.seq}).")
    return 0


def _journal_integrity_failure(args: argparse.Namespace, data_dir: Path, db_path: Path, report) -> None:  # type: ignore[no-untyped-def]
    """NF525: a failed integrity check is itself a technical event. Best effort: a damaged directory
    (no key, unreadable config) must not hide the verification's own output."""
    import sqlite3

    from fiscal.journal import FiscalError, FiscalLedger
    from fiscal.keys import load_or_create_key
    from kiosk.till import KEY_FILE, system_clock

    try:
        config = load_config(args.config, data_dir)
        key, _ = load_or_create_key(data_dir / KEY_FILE, may_create=False)
        conn = sqlite3.connect(db_path, isolation_level=None)
        ledger = FiscalLedger(config.till_id, key, system_clock(config))
        details = {"problems": len(report.problems), "first": [p.line() for p in report.problems[:10]]}
        ledger.record_event(conn, "INTEGRITY_FAILURE", details)
    except (ConfigError, KeyFileError, FiscalError, sqlite3.Error) as exc:
        print(f"(échec de vérification non journalisé : {exc})", file=sys.stderr)


def _fiscal_verify(args: argparse.Namespace, data_dir: Path) -> int:
    """Read-only: opens the database without migrating or journaling anything."""
    import sqlite3

    from fiscal.anchor import Anchor
    from fiscal.verify import print_report, verify_database
    from kiosk.store.db import DB_NAME
    from kiosk.till import ANCHOR_FILE

    db_path = data_dir / DB_NAME
    if not db_path.exists():
        print(f"Aucune base de données dans {data_dir}", file=sys.stderr)
        return 2
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    report = verify_database(conn, anchor=Anchor(data_dir / ANCHOR_FILE).read(), path=db_path)  # both cores
    print_report(report, as_json=args.json)
    if not report.ok:
        _journal_integrity_failure(args, data_dir, db_path, report)
    if not args.json:
        sys.stdout.flush()
    return 0 if report.ok else 1
