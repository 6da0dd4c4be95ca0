"""The `kiosk` command: the till UI without arguments, else one command group (one module each)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from fiscal.keys import KeyFileError
from kiosk.cli import catalogue, config, customers, demo, fiscal, hardware, mail, receipts, reports, uplink
from kiosk.config import ConfigError, resolve_data_dir
from kiosk.store.migrations import NewerSchemaError

# Each group module has COMMANDS, add_parsers(sub) and run(till, args); run_before_till(args, data_dir)
# when some of its commands work without opening the till (read-only or portal side).
GROUPS: tuple[ModuleType, ...] = (
    demo,
    fiscal,
    reports,
    receipts,
    customers,
    mail,
    config,
    hardware,
    catalogue,
    uplink,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Caisse enregistreuse Pi kiosk till")
    parser.add_argument("--data-dir", help="répertoire des données (défaut : $KIOSK_DATA_DIR)")
    parser.add_argument("--config", type=Path, help="fichier de configuration TOML")
    sub = parser.add_subparsers(dest="command")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


ALERT_EXIT = 3  # a command did its work, but a detected fiscal gap waits for a manager's acknowledgement


def _process(args: argparse.Namespace) -> str:
    """Who opens the journals, as START and RESTORE_DETECTED name it: « ui », « cli:sim sales », …"""
    if args.command is None:
        return "ui"
    action = getattr(args, "action", None)
    return f"cli:{args.command} {action}" if isinstance(action, str) else f"cli:{args.command}"


def _say_alert(till) -> None:  # type: ignore[no-untyped-def]
    if till.ledger_alert:
        print(till.ledger_alert, file=sys.stderr)


def _group(command: str | None) -> ModuleType | None:
    return next((g for g in GROUPS if command in g.COMMANDS), None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    # python-escpos rebuilds its printer capabilities in a new temp dir at every import (~100 ms)
    # unless told where to keep them.
    escpos_cache = data_dir / "cache" / "escpos"
    escpos_cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(escpos_cache))
    group = _group(args.command)
    try:
        if group is not None and hasattr(group, "run_before_till"):
            done = group.run_before_till(args, data_dir)
            if done is not None:
                return int(done)
        from kiosk.till import Till

        clock = None
        if args.command == "sim" and getattr(args, "days", None):
            from kiosk.demo.simulation import SimClock

            clock = SimClock(datetime.now(UTC))
        till = Till.open(data_dir, args.config, clock=clock, process=_process(args))
        if group is None:
            from kiosk.ui.app import run_app

            return run_app(till)  # the UI shows the alert in its title bar
        try:
            _say_alert(till)
            code = int(group.run(till, args))
            if code == 0 and till.ledger_alert:
                _say_alert(till)
                return ALERT_EXIT  # the act is done; the gap still waits for a manager
            return code
        finally:
            if clock is not None:  # the simulated days are over: STOP is signed at the real time
                clock.now = max(clock.now, datetime.now(UTC))
            till.stop()
    except ConfigError as exc:
        print("Configuration invalide :", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (KeyFileError, NewerSchemaError) as exc:  # the till cannot start on these data: say why
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
