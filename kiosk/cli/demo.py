"""`kiosk demo init` and `kiosk sim sales`: the demo shop and the sales simulation."""

from __future__ import annotations

import argparse
import sys

COMMANDS = ("demo", "sim")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    return _demo_init(till) if args.command == "demo" else _sim_sales(till, args)


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
