"""`kiosk report x|z`: the X report (any time) and the Z reports of closures."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

COMMANDS = ("report",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="rapports X (à tout moment) et Z (clôtures)")
    report.add_argument("kind", choices=["x", "z"])
    report.add_argument("--date", help="AAAA-MM-JJ (Z : aussi AAAA-MM ou AAAA)")
    report.add_argument("--format", choices=["text", "json"], default="text")


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    return _report(till, args.kind, args.date, args.format)


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
