"""`kiosk config check`: validates the configuration, naming each wrong key and what it expects."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.config import load_config

COMMANDS = ("config",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = sub.add_parser("config", help="configuration").add_subparsers(dest="action", required=True)
    config.add_parser("check", help="valide la configuration")


def run_before_till(args: argparse.Namespace, data_dir: Path) -> int | None:
    config = load_config(args.config, data_dir)
    print(f"Configuration valide ({', '.join(str(s) for s in config.sources)})")
    return 0


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    raise AssertionError("config check runs before the till opens")
