"""`kiosk [--data-dir DIR] [--config FILE] COMMAND…`; no command starts the till UI."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fiscal.keys import KeyFileError
from kiosk.cli import catalogue as catalogue_cmd
from kiosk.config import ConfigError, load_config, resolve_data_dir
from kiosk.store.migrations import NewerSchemaError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Caisse enregistreuse Pi kiosk till")
    parser.add_argument("--data-dir", help="répertoire des données (défaut : $KIOSK_DATA_DIR)")
    parser.add_argument("--config", type=Path, help="fichier de configuration TOML")
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo", help="données de démonstration").add_subparsers(
        dest="action", required=True
    )
    demo.add_parser("init", help="remplit un répertoire vide avec la boutique de démonstration")

    sim = sub.add_parser("sim", help="simulation (répertoires de démonstration seulement)")
    sim_sub = sim.add_subparsers(dest="action", required=True)
    sales = sim_sub.add_parser("sales", help="encaisse N ventes variées par le même service que l'écran")
    sales.add_argument("--count", type=int, required=True)
    sales.add_argument("--seed", type=int, default=0)
    sales.add_argument("--days", type=int, help="répartit les ventes sur les D jours finissant aujourd'hui")

    fiscal = sub.add_parser("fiscal", help="NF525").add_subparsers(dest="action", required=True)
    verify = fiscal.add_parser("verify", help="vérifie l'intégrité des journaux fiscaux")
    verify.add_argument("--json", action="store_true")
    close = fiscal.add_parser("close", help="clôture (Z) d'une journée, d'un mois ou d'un exercice")
    close.add_argument("period", choices=["day", "month", "year"])
    close.add_argument(
        "--date", type=date.fromisoformat, help="AAAA-MM-JJ dans la période (défaut : aujourd'hui)"
    )

    purge = fiscal.add_parser("purge", help="purge des périodes archivées de plus de 6 ans (contrôles)")
    purge.add_argument("--before", type=date.fromisoformat, required=True, help="AAAA-MM-01")
    purge.add_argument("--yes", action="store_true", help="purger (sans : montre seulement ce qui le serait)")
    fiscal.add_parser("rotate-key", help="remplace la clé de signature (rotation journalisée)")
    export_key = fiscal.add_parser("export-key", help="clé(s) publique(s) de la caisse, en PEM")
    export_key.add_argument("--out", type=Path, help="fichier de sortie (défaut : écran)")

    archive = fiscal.add_parser("archive", help="archive fiscale signée d'une période (ZIP)")
    archive.add_argument("--period", required=True, help="AAAA-MM-JJ, AAAA-MM ou AAAA")
    archive.add_argument("--out", type=Path, required=True, help="fichier .zip (ou répertoire)")

    report = sub.add_parser("report", help="rapports X (à tout moment) et Z (clôtures)")
    report.add_argument("kind", choices=["x", "z"])
    report.add_argument("--date", help="AAAA-MM-JJ (Z : aussi AAAA-MM ou AAAA)")
    report.add_argument("--format", choices=["text", "json"], default="text")

    receipt = sub.add_parser("receipt", help="tickets").add_subparsers(dest="action", required=True)
    reprint = receipt.add_parser("reprint", help="réimprime un ticket (DUPLICATA, journalisé)")
    reprint.add_argument("number", help="numéro du ticket : 42 ou T01-000042")

    customers = sub.add_parser("customers", help="annuaire clients et RGPD").add_subparsers(
        dest="action", required=True
    )
    customers_list = customers.add_parser("list", help="clients (recherche par nom ou téléphone)")
    customers_list.add_argument("search", nargs="?", default="")
    customers_export = customers.add_parser(
        "export", help="tout ce qui est détenu sur un client (droit d'accès)"
    )
    customers_export.add_argument("id", type=int)
    customers_export.add_argument("--format", choices=["text", "json"], default="text")
    customers_erase = customers.add_parser("erase", help="efface un client (droit à l'effacement)")
    customers_erase.add_argument("id", type=int)
    customers.add_parser("purge", help="efface les clients inactifs depuis la durée de conservation")
    customers_notice = customers.add_parser("notice", help="notice RGPD pour la vitrine (imprimée)")
    customers_notice.add_argument("--print", action="store_true", help="l'imprimer (sinon : à l'écran)")

    loyalty = sub.add_parser("loyalty", help="fidélité").add_subparsers(dest="action", required=True)
    stats = loyalty.add_parser("stats", help="analyse fidélité d'une période")
    stats.add_argument(
        "--from", dest="start", type=date.fromisoformat, help="AAAA-MM-JJ (défaut : début du mois)"
    )
    stats.add_argument("--to", dest="end", type=date.fromisoformat, help="AAAA-MM-JJ (défaut : aujourd'hui)")
    stats.add_argument("--json", action="store_true")
    from kiosk.cli import mail as mail_cli

    mail_cli.add_parser(sub)

    config = sub.add_parser("config", help="configuration").add_subparsers(dest="action", required=True)
    config.add_parser("check", help="valide la configuration")

    hw = sub.add_parser("hw", help="diagnostic des appareils").add_subparsers(dest="action", required=True)
    hw_list = hw.add_parser("list", help="appareils configurés, ouverts, et leur état")
    hw_list.add_argument("--json", action="store_true")
    hw_test = hw.add_parser("test", help="teste un appareil (tous sans argument)")
    hw_test.add_argument(
        "device", nargs="?", help="printer, drawer, scanner, display, scale ou payment (défaut : tous)"
    )
    hw_test.add_argument("--wait", action="store_true", help="lecteur : attend un scan pendant 10 secondes")
    catalogue_cmd.add_parsers(sub)
    from kiosk.cli.uplink import add_parsers

    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    # python-escpos rebuilds its printer capabilities in a new temp dir at every import (~100 ms)
    # unless told where to keep them.
    escpos_cache = data_dir / "cache" / "escpos"
    escpos_cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(escpos_cache))
    try:
        if args.command == "config":
            return _config_check(args, data_dir)
        if args.command == "fiscal" and args.action == "verify":
            return _fiscal_verify(args, data_dir)
        if args.command in ("portal", "fleet"):
            from kiosk.cli.uplink import run_before_till

            return run_before_till(args, args.config, data_dir) or 0
        from kiosk.till import Till

        clock = None
        if args.command == "sim" and getattr(args, "days", None):
            from kiosk.demo.simulation import SimClock

            clock = SimClock(datetime.now(UTC))
        till = Till.open(data_dir, args.config, clock=clock)
        if args.command is None:
            from kiosk.ui.app import run_app

            return run_app(till)
        if args.command == "demo":
            return _demo_init(till)
        if args.command == "sim":
            return _sim_sales(till, args)
        if args.command == "receipt":
            return _reprint(till, args.number)
        if args.command == "mail":
            from kiosk.cli import mail as mail_cli

            return mail_cli.run(till, args)
        if args.command == "fiscal" and args.action == "close":
            return _close(till, args.period, args.date)
        if args.command == "fiscal" and args.action == "purge":
            return _purge(till, args.before, args.yes)
        if args.command == "fiscal" and args.action == "rotate-key":
            import getpass

            new_id = till.rotate_key(f"ssh:{getpass.getuser()}")
            print(f"Nouvelle clé {new_id} en service ; rotation journalisée (JET KEY_ROTATION).")
            print("Publiez la nouvelle clé publique : kiosk fiscal export-key --out cle.pem")
            return 0
        if args.command == "fiscal" and args.action == "export-key":
            return _export_key(till, args.out)
        if args.command == "fiscal" and args.action == "archive":
            return _archive(till, args.period, args.out)
        if args.command == "report":
            return _report(till, args.kind, args.date, args.format)
        if args.command in ("customers", "loyalty"):
            from kiosk.cli.customers import run_customers

            return run_customers(till, args)
        if args.command == "uplink":
            from kiosk.cli.uplink import run_with_till

            return run_with_till(args, till)
        if args.command == "hw" and args.action == "list":
            return _hw_list(till, args.json)
        if args.command == "hw" and args.action == "test":
            return _hw_test(till, args.device, args.wait)
        if args.command in ("catalogue", "stock"):
            return catalogue_cmd.run(till, args)
    except ConfigError as exc:
        print("Configuration invalide :", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (KeyFileError, NewerSchemaError) as exc:  # the till cannot start on these data: say why
        print(exc, file=sys.stderr)
        return 2
    return 2


def _config_check(args: argparse.Namespace, data_dir: Path) -> int:
    config = load_config(args.config, data_dir)
    print(f"Configuration valide ({', '.join(str(s) for s in config.sources)})")
    return 0


def _demo_init(till) -> int:  # type: ignore[no-untyped-def]
    from kiosk.demo.shop import NotADemoDirectory, init_demo, init_demo_loyalty

    try:
        created = init_demo(till)
        if till.is_demo:
            init_demo_loyalty(till)
    except NotADemoDirectory as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Boutique de démonstration {'créée' if created else 'déjà présente'} dans {till.data_dir}")
    return 0


def _sim_sales(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from kiosk.demo.simulation import NotDemoData, simulate_days, simulate_sales

    try:
        if args.days:
            summary = simulate_days(till, args.count, args.days, seed=args.seed)
        else:
            summary = simulate_sales(till, args.count, seed=args.seed)
    except NotDemoData as exc:
        print(exc, file=sys.stderr)
        return 1
    print(summary.line())
    return 0


def _reprint(till, number: str) -> int:  # type: ignore[no-untyped-def]
    import getpass

    from fiscal.duplicates import record_duplicate
    from fiscal.journal import FiscalError
    from kiosk.receipts.render import sale_receipt
    from kiosk.sale.checkout import CompletedSale

    digits = number.rsplit("-", 1)[-1]
    if not digits.isdigit():
        print(
            f"Numéro de ticket invalide « {number} » : tapez par exemple 42 ou T01-000042.", file=sys.stderr
        )
        return 2
    try:
        ticket, _, copy = record_duplicate(
            till.ledger, till.db.connection(), int(digits), f"ssh:{getpass.getuser()}"
        )
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    rendered = till.render(sale_receipt(till.config, CompletedSale.from_record(ticket), duplicate=copy))
    print(rendered.text)
    from drivers.printer import PrinterError

    try:
        till.printer.print_bytes(rendered.data)
    except PrinterError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


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
            first = till.config.get("fiscal.first_month")
            year = day.year if day.month >= first else day.year - 1
            record = close_year(till.ledger, conn, year, first_month=first)
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    report = z_report_from_record(record)
    print(report.as_text() + till.cash_section(report))
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


def _report(till, kind: str, when: str | None, fmt: str) -> int:  # type: ignore[no-untyped-def]
    from fiscal.closures import DAY, MONTH, YEAR
    from fiscal.journal import FiscalError
    from fiscal.reports import x_report, z_report

    conn = till.db.connection()
    try:
        if kind == "x":
            start = date.fromisoformat(when) if when else till.clock().date()
            report = x_report(till.ledger, conn, start)
        else:
            when = when or (till.clock().date() - timedelta(days=1)).isoformat()
            closure_kind = {10: DAY, 7: MONTH, 4: YEAR}.get(len(when))
            if closure_kind is None:
                print("Date invalide : AAAA-MM-JJ, AAAA-MM ou AAAA.", file=sys.stderr)
                return 2
            report = z_report(till.ledger, conn, when, kind=closure_kind)
    except (FiscalError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report.as_json(indent=2) if fmt == "json" else report.as_text() + till.cash_section(report))
    return 0


def _hw_list(till, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    import json

    from kiosk.cli.hardware import list_devices

    states = list_devices(till)
    if as_json:
        print(json.dumps([state.as_dict() for state in states], ensure_ascii=False, indent=2))
    else:
        header = ("Appareil", "Configuré", "Ouvert comme", "OK", "État")
        rows = [
            (
                s.name,
                s.configured,
                f"{s.opened} ({s.kind})" if s.opened else "-",
                "oui" if s.ok else "NON",
                s.state,
            )
            for s in states
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
        for row in (header, *rows):
            print(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
            )
        for state in states:
            if state.advice:
                print(f"{state.name} : {state.advice}")
    return 0 if all(state.ok for state in states) else 1


def _hw_test(till, device: str | None, wait: bool) -> int:  # type: ignore[no-untyped-def]
    import getpass

    from kiosk.cli.hardware import DEVICES, LABELS, SCAN_WAIT_S, UnknownDevice, test_device

    names = list(DEVICES) if device is None else [device.strip().lower()]
    if names[0] not in DEVICES:
        print(UnknownDevice(device or "").message, file=sys.stderr)
        return 2
    try:
        operator = f"ssh:{getpass.getuser()}"
    except (KeyError, OSError):
        operator = "ssh"
    failed = []
    for name in names:
        print(f"== {LABELS[name]} ({name}) ==", flush=True)
        result = test_device(
            till,
            name,
            operator=operator,
            scan_wait_s=SCAN_WAIT_S if wait else None,
            say=lambda line: print(line, flush=True),
        )
        for line in result.lines:
            print(f"  {line}")
        print(f"  -> {'réussi' if result.ok else 'ÉCHEC'}", flush=True)
        if not result.ok:
            failed.append(LABELS[name])
    if len(names) > 1:
        print(f"En échec : {', '.join(failed)}." if failed else "Tous les appareils testés ont réussi.")
    return 1 if failed else 0


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


if __name__ == "__main__":
    sys.exit(main())
