"""`kiosk catalogue template|import|export` and `kiosk stock show|move|alerts|valuation`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.till import Till


COMMANDS = ("catalogue", "stock")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    catalogue = sub.add_parser("catalogue", help="catalogue : import et export Excel").add_subparsers(
        dest="action", required=True
    )
    template = catalogue.add_parser("template", help="écrit le modèle Excel à remplir")
    template.add_argument("file", type=Path)
    imp = catalogue.add_parser("import", help="importe un classeur Excel (aperçu, puis confirmation)")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--mode", choices=["add", "replace"], default="add", help="ajout (défaut) ou remplacement"
    )
    imp.add_argument("--dry-run", action="store_true", help="montre ce qui serait fait, sans rien écrire")
    imp.add_argument(
        "--new-categories",
        choices=["create", "reject"],
        help="catégories inconnues : créées ou lignes refusées (défaut : catalogue.new_categories)",
    )
    imp.add_argument("--yes", action="store_true", help="confirme sans poser la question")
    export = catalogue.add_parser("export", help="exporte le catalogue en Excel (ré-importable)")
    export.add_argument("file", type=Path)

    stock = sub.add_parser("stock", help="stock : soldes, mouvements, alertes").add_subparsers(
        dest="action", required=True
    )
    show = stock.add_parser("show", help="stock d'un article (et ses derniers mouvements) ou de tous")
    show.add_argument("article", nargs="?", help="référence ou code-barres")
    move = stock.add_parser("move", help="mouvement manuel de stock")
    move.add_argument("article", help="référence ou code-barres")
    move.add_argument("qty", help="quantité ajoutée (12) ou retirée (-3)")
    move.add_argument("--kind", choices=["reception", "adjustment", "loss", "transfer"], default="adjustment")
    move.add_argument("--reason", default="", help="raison du mouvement")
    move.add_argument("--user", default="", help="responsable (défaut : le premier administrateur)")
    threshold = stock.add_parser("threshold", help="seuil d'alerte d'un article (sans quantité : aucun)")
    threshold.add_argument("article", help="référence ou code-barres")
    threshold.add_argument("qty", nargs="?", help="seuil, par exemple 5")
    threshold.add_argument("--user", default="", help="responsable (défaut : le premier administrateur)")
    stock.add_parser("alerts", help="articles au seuil d'alerte")
    stock.add_parser("valuation", help="valorisation du stock (prix de vente et coût)")


def run(till: Till, args: argparse.Namespace) -> int:
    if args.command == "catalogue":
        return _catalogue(till, args)
    return _stock(till, args)


def _catalogue(till: Till, args: argparse.Namespace) -> int:
    from kiosk.catalogue.excel import (
        ImportFileError,
        apply_import,
        export_catalogue,
        plan_import,
        write_template,
    )

    if args.action == "template":
        write_template(args.file)
        print(f"Modèle écrit : {args.file}")
        return 0
    if args.action == "export":
        count = export_catalogue(till.db, args.file)
        print(f"{count} articles exportés dans {args.file}")
        return 0
    try:
        new_categories = args.new_categories or till.config.catalogue.new_categories
        plan = plan_import(till.db, args.file, args.mode, new_categories)
    except ImportFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(plan.summary()))
    if args.dry_run:
        print("Aperçu seulement (--dry-run) : rien n'a été écrit.")
        return 0
    if not plan.writes:
        print("Rien à importer.")
        return 0 if not plan.rejected else 1
    if not args.yes:
        try:
            answer = input("Confirmer l'import ? [o/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("o", "oui", "y", "yes"):
            print("Import abandonné : rien n'a été écrit.")
            return 1
    result = apply_import(till.db, plan, till_id=till.config.till_id)
    print(
        f"Import terminé : {result.created} créés, {result.changed} modifiés, {result.archived} archivés, "
        f"{result.categories} catégories créées."
    )
    return 0


def _find(till: Till, code: str) -> int | None:
    row = till.db.execute_sql(
        "SELECT a.id FROM article a LEFT JOIN barcode b ON b.article_id = a.id "
        "WHERE a.reference = ? OR b.code = ? LIMIT 1",
        (code, code),
    ).fetchone()
    return int(row[0]) if row else None


def _stock(till: Till, args: argparse.Namespace) -> int:
    from kiosk.catalogue.stock import StockError, format_stock, parse_stock_qty
    from kiosk.common.money import format_eur
    from kiosk.staff.permissions import PermissionDenied

    stock = till.stock
    if args.action == "show":
        if args.article:
            article_id = _find(till, args.article)
            line = stock.line(article_id) if article_id else None
            if line is None:
                print(f"Article inconnu : {args.article}", file=sys.stderr)
                return 1
            threshold = format_stock(line.threshold_milli) if line.threshold_milli is not None else "-"
            print(
                f"{line.reference}  {line.name}  stock {format_stock(line.balance_milli)}  seuil {threshold}"
            )
            for m in stock.history(line.article_id):
                print(
                    f"  {m.created_utc}  {m.label:<14} {format_stock(m.qty_milli):>8}  {m.user}  "
                    f"{m.ticket or ''} {m.reason}"
                )
            return 0
        for line in stock.lines(only_tracked=True):
            flag = " ALERTE" if line.alert else ""
            print(f"{line.reference:<14} {line.name[:36]:<36} {format_stock(line.balance_milli):>8}{flag}")
        return 0
    if args.action == "alerts":
        alerts = stock.alerts()
        for line in alerts:
            print(
                f"{line.reference:<14} {line.name[:36]:<36} stock {format_stock(line.balance_milli)} "
                f"≤ seuil {format_stock(line.threshold_milli or 0)}"
            )
        print(f"{len(alerts)} article(s) au seuil d'alerte.")
        return 0
    if args.action == "valuation":
        value = stock.valuation()
        print(
            f"Valorisation au prix de vente TTC : {format_eur(value.sale_cents)} ({value.articles} articles)"
        )
        print(f"Valorisation au prix d'achat : {format_eur(value.cost_cents)}")
        if value.without_cost:
            print(f"  {value.without_cost} article(s) sans prix d'achat ne sont pas comptés au coût.")
        return 0
    article_id = _find(till, args.article)
    if article_id is None:
        print(f"Article inconnu : {args.article}", file=sys.stderr)
        return 1
    members = [m for m in till.staff.members() if m.role in ("admin", "manager")]
    member = next((m for m in members if m.name == args.user), None) if args.user else None
    if member is None:
        member = next((m for m in members if m.role == "admin"), None)
    if member is None:
        print(f"Responsable inconnu : {args.user or '(aucun administrateur)'}", file=sys.stderr)
        return 1
    if args.action == "threshold":
        try:
            qty = parse_stock_qty(args.qty, signed=False) if args.qty else None
            stock.set_threshold(member, article_id, qty)
        except (StockError, PermissionDenied) as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"Seuil d'alerte : {args.qty or 'aucun'}")
        return 0
    try:
        movement = stock.move(member, article_id, parse_stock_qty(args.qty), args.kind, args.reason)
    except (StockError, PermissionDenied) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"{movement.label} {format_stock(movement.qty_milli)} enregistré ; "
        f"stock : {format_stock(stock.balance(article_id))}"
    )
    return 0
