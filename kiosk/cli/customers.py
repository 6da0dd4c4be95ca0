"""`kiosk customers …` and `kiosk loyalty stats`: the directory and RGPD requests over SSH."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date

from kiosk.common.money import format_eur
from kiosk.loyalty.directory import CustomerError, dumps
from kiosk.loyalty.notice import privacy_notice
from kiosk.loyalty.phone import display_phone
from kiosk.loyalty.stats import Period, loyalty_stats
from kiosk.till import Till

COMMANDS = ("customers", "loyalty")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def run(till: Till, args: argparse.Namespace) -> int:
    by = f"ssh:{getpass.getuser()}"
    try:
        if args.command == "loyalty":
            return _stats(till, args)
        if args.action == "list":
            for customer in till.customers.search(args.search, limit=10_000):
                print(f"{customer.id:>6}  {display_phone(customer.phone):<16} {customer.display_name}")
            return 0
        if args.action == "export":
            data, text = till.customers.export(args.id, by=by)
            print(dumps(data) if args.format == "json" else text, end="" if args.format == "text" else "\n")
            return 0
        if args.action == "erase":
            till.customers.erase(args.id, by=by)
            print(
                f"Client n°{args.id} effacé : données personnelles supprimées, tickets et cagnotte intacts."
            )
            return 0
        if args.action == "purge":
            months = till.config.customers.retention_months
            erased = till.customers.purge_inactive(months, by=by)
            print(f"{len(erased)} client(s) inactif(s) depuis {months} mois effacé(s).")
            return 0
        if args.action == "notice":
            rendered = till.render(privacy_notice(till.config))
            if args.print:
                till.print_queue.enqueue("Notice RGPD", rendered.data)
                till.print_queue.drain()
                print("Notice envoyée à l'imprimante.")
            else:
                print(rendered.text)
            return 0
    except CustomerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 2


def _stats(till: Till, args: argparse.Namespace) -> int:
    today = till.clock().date()
    period = Period(args.start or today.replace(day=1), args.end or today)
    if period.end < period.start:
        print("--to précède --from.", file=sys.stderr)
        return 2
    stats = loyalty_stats(
        till.db,
        till.config.till_id,
        period,
        till.config.timezone,
        till.clock(),
        till.config.customers.inactive_days,
    )
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(f"Analyse fidélité du {_fr(period.start)} au {_fr(period.end)}")
    print(f"Ventes : {stats['sales_count']} pour {format_eur(stats['sales_cents'])}")
    print(f"Inscriptions : {stats['enrolments']} ; membres : {stats['members']}")
    print(f"Achats des membres : {stats['member_purchases']} pour {format_eur(stats['member_cents'])}")
    print(f"Récompenses : {stats['rewards_count']} pour {format_eur(stats['rewards_cents'])}")
    print(f"Clients inactifs : {len(stats['inactive'])}")
    return 0


def _fr(day: date) -> str:
    return f"{day:%d/%m/%Y}"
