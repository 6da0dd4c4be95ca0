"""`kiosk receipt reprint N`: a numbered, journaled duplicate on the printer."""

from __future__ import annotations

import argparse
import sys

COMMANDS = ("receipt",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    receipt = sub.add_parser("receipt", help="tickets").add_subparsers(dest="action", required=True)
    reprint = receipt.add_parser("reprint", help="réimprime un ticket (DUPLICATA, journalisé)")
    reprint.add_argument("number", help="numéro du ticket : 42 ou T01-000042")


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    return _reprint(till, args.number)


def _reprint(till, number: str) -> int:  # type: ignore[no-untyped-def]
    import getpass

    from fiscal.journal import FiscalError

    digits = number.rsplit("-", 1)[-1]
    if not digits.isdigit():
        print(
            f"Numéro de ticket invalide « {number} » : tapez par exemple 42 ou T01-000042.", file=sys.stderr
        )
        return 2
    from kiosk.after_sale import AfterSale, Devices

    after_sale = AfterSale(till, Devices.inline(till, say=lambda line: print(line, file=sys.stderr)))
    try:
        print(after_sale.reprint(int(digits), f"ssh:{getpass.getuser()}"))
    except FiscalError as exc:
        print(exc, file=sys.stderr)
        return 1
    if till.print_queue.paused_reason:
        return 1
    return 0
