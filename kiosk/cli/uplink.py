"""`kiosk uplink …`, `kiosk portal ingest`, `kiosk fleet …`: the MQTT uplink's commands."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

from kiosk.config import Config, load_config

RESTART_EXIT = 75  # EX_TEMPFAIL: the supervisor (systemd Restart=) starts the till again


COMMANDS = ("uplink", "portal", "fleet")


def add_parsers(sub: Any) -> None:
    uplink = sub.add_parser("uplink", help="envoi au portail (MQTT)").add_subparsers(
        dest="action", required=True
    )
    uplink.add_parser("run", help="envoie la file d'événements au portail jusqu'à l'arrêt (sans interface)")
    uplink.add_parser("status", help="état local : événements en attente, tête de chaîne fiscale")

    portal = sub.add_parser("portal", help="portail de référence").add_subparsers(
        dest="action", required=True
    )
    ingest = portal.add_parser(
        "ingest", help="reçoit les événements des caisses et les stocke une seule fois"
    )
    ingest.add_argument("--db", help="postgresql://… ou sqlite:chemin (défaut : uplink.portal_db)")
    ingest.add_argument("--schema", help="schéma PostgreSQL (défaut : public)")
    ingest.add_argument("--shop", help="magasin (défaut : tous)")
    ingest.add_argument("--share", help="groupe d'abonnement partagé (plusieurs processus d'ingestion)")
    ingest.add_argument("--worker", help="nom de ce processus (identifiant MQTT, unique par processus)")

    catalogue = portal.add_parser("catalogue", help="publie une mise à jour du catalogue (prix) aux caisses")
    catalogue.add_argument(
        "file", type=Path, help='JSON : {"version": N, "articles": [{"reference": …, "price_cents": …}]}'
    )
    catalogue.add_argument("--shop", help="magasin (défaut : shop.id)")
    catalogue.add_argument("--till", action="append", required=True, help="caisse (répéter pour plusieurs)")

    fleet = sub.add_parser("fleet", help="console de flotte").add_subparsers(dest="action", required=True)
    status = fleet.add_parser("status", help="tableau des caisses (statuts retenus)")
    status.add_argument("--shop", default="+", help="magasin (défaut : tous)")
    status.add_argument("--json", action="store_true")
    watch = fleet.add_parser("watch", help="tableau des caisses mis à jour en continu")
    watch.add_argument("--shop", default="+")
    cmd = fleet.add_parser(
        "cmd",
        help="commande signée : ping, report x, trigger archive, collect jet extract, "
        "set-config CLÉ VALEUR, reload-catalogue, restart",
    )
    cmd.add_argument("till", help="caisse : T01 ou MAGASIN/T01")
    cmd.add_argument("words", nargs="+", help="la commande et ses arguments")
    cmd.add_argument("--key", type=Path, help="clé privée de la flotte (défaut : $KIOSK_FLEET_KEY)")
    cmd.add_argument("--timeout", type=float, default=30)
    acl = fleet.add_parser("acl", help="fichier ACL Mosquitto de la flotte (chaque caisse : ses sujets)")
    acl.add_argument("--portal-user", default="portal")
    acl.add_argument("--fleet-user", default="fleet")
    keygen = fleet.add_parser("keygen", help="crée la clé de la flotte (Ed25519)")
    keygen.add_argument("--out", type=Path, required=True, help="fichier de la clé privée")


def _settings(config: Config) -> Any:
    from kiosk.uplink.settings import UplinkSettings

    return UplinkSettings.from_config(config)


def run_before_till(args: argparse.Namespace, data_dir: Path) -> int | None:
    """portal and fleet commands need no till; None for the commands that do."""
    if args.command == "portal" and args.action == "catalogue":
        return _catalogue(args, load_config(args.config, data_dir))
    if args.command == "portal":
        return _ingest(args, load_config(args.config, data_dir))
    if args.command == "fleet":
        return _fleet(args, load_config(args.config, data_dir))
    return None


def run(till: Any, args: argparse.Namespace) -> int:
    if args.action == "status":
        return _local_status(till)
    return _uplink_run(till)


def _ingest(args: argparse.Namespace, config: Config) -> int:
    from kiosk.uplink.ingest import Ingest, open_store

    url = args.db or config.uplink.portal_db
    try:
        store = open_store(url, args.schema)
    except Exception as exc:  # psycopg.OperationalError and friends: say which database
        print(f"Base du portail inaccessible ({url.split('@')[-1]}) : {exc}", file=sys.stderr)
        return 1
    ingest = Ingest(
        _settings(config),
        store,
        shop=args.shop or "+",
        client_id=args.worker,
        share=args.share,
        reopen=lambda: open_store(url, args.schema),
    )
    signal.signal(signal.SIGTERM, lambda *_: ingest.stop())
    print(
        f"Portail : réception des événements de {args.shop or 'tous les magasins'} ; Ctrl+C pour arrêter.",
        flush=True,
    )
    try:
        ingest.run()
    except KeyboardInterrupt:
        pass
    finally:
        ingest.store.close()
    print(f"{ingest.stored} événements reçus.")
    return 0


def _catalogue(args: argparse.Namespace, config: Config) -> int:
    from kiosk.uplink.catalogue_sync import CatalogueUpdateError, publish_catalogue
    from kiosk.uplink.fleet import FleetError

    try:
        payload = json.loads(args.file.read_text("utf-8"))
        shop = args.shop or config.shop_id
        version = publish_catalogue(_settings(config), shop, args.till, payload)
    except (CatalogueUpdateError, FleetError) as exc:
        print(f"Catalogue refusé : {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"Fichier de catalogue illisible ({args.file}) : {exc}", file=sys.stderr)
        return 1
    print(f"Catalogue version {version} publié pour {', '.join(args.till)} ({shop}).")
    return 0


def _uplink_run(till: Any) -> int:
    from kiosk.uplink.publisher import Publisher
    from kiosk.uplink.wiring import install

    if not till.config.uplink.enabled:
        print(
            "Envoi au portail désactivé : mettez uplink.enabled = true dans la configuration.",
            file=sys.stderr,
        )
        return 2
    install(till)
    restart = threading.Event()
    publisher = Publisher(
        till, on_warning=lambda text: print(text, file=sys.stderr, flush=True), restart=restart.set
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    publisher.start()
    print(
        f"Envoi au portail {publisher.settings.host}:{publisher.settings.port} en cours ; Ctrl+C pour arrêter.",
        flush=True,
    )
    try:
        while not stop.wait(0.2) and not restart.is_set():
            pass
    except KeyboardInterrupt:
        pass
    if restart.is_set():
        stop.wait(1)  # let the command's result leave first
    publisher.stop()
    return RESTART_EXIT if restart.is_set() else 0


def _local_status(till: Any) -> int:
    from kiosk.uplink.outbox import backlog
    from kiosk.uplink.settings import UplinkSettings
    from kiosk.uplink.status import chain_head

    conn = till.db.connection()
    waiting = backlog(conn)
    settings = UplinkSettings.from_config(till.config)
    print(f"Événements en attente d'envoi : {waiting.events} ({waiting.size} octets)")
    warning = waiting.warning(settings.budget_bytes)
    if warning:
        print(warning)
    head = chain_head(conn, till.ledger.till, till.ledger.key.key_id)
    print(json.dumps(head, indent=2, ensure_ascii=False))
    return 0


def _target(config: Config, till: str) -> tuple[str, str]:
    shop, _, name = till.rpartition("/")
    return (shop or config.shop_id), name


def _parse_value(text: str) -> Any:
    """A TOML value (true, 42, "text", [1, 2]); anything else is taken as text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def command_args(cmd: str, rest: list[str]) -> dict[str, Any]:
    from kiosk.uplink.commands import CommandError

    if cmd == "set-config":
        if len(rest) != 2:
            raise CommandError("set-config attend une clé et une valeur : set-config till.training true")
        return {"key": rest[0], "value": _parse_value(rest[1])}
    if cmd == "archive" and rest:
        return {"period": rest[0]}
    if cmd == "report-x" and rest:
        return {"date": rest[0]}
    if cmd == "jet-extract" and rest:
        return {"since": int(rest[0])} if rest[0].isdigit() else {}
    return {}


def _fleet(args: argparse.Namespace, config: Config) -> int:
    from kiosk.uplink.commands import COMMANDS, CommandError, normalize
    from kiosk.uplink.fleet import (
        FleetError,
        collect_statuses,
        format_table,
        keygen,
        load_private_key,
        send_command,
        status_rows,
    )

    settings = _settings(config)
    try:
        if args.action == "keygen":
            public = keygen(args.out)
            print(
                f"Clé de flotte créée : {args.out} (privée, à garder) et {public} (à installer sur les caisses : "
                "uplink.fleet_public_key)."
            )
            return 0
        if args.action == "acl":
            from kiosk.uplink.acl import acl_text

            print(acl_text(args.portal_user, args.fleet_user), end="")
            return 0
        if args.action == "status":
            statuses = collect_statuses(settings, args.shop)
            if args.json:
                print(json.dumps(statuses, indent=2, ensure_ascii=False))
            elif not statuses:
                print("Aucune caisse n'a publié son état sur ce serveur.")
            else:
                print(format_table(status_rows(statuses)))
            return 0
        if args.action == "watch":
            return _watch(settings, args.shop)
        cmd, rest = normalize(args.words)
        if cmd not in COMMANDS:
            print(f"Commande inconnue « {' '.join(args.words)} » : {', '.join(COMMANDS)}.", file=sys.stderr)
            return 2
        key_path = args.key or (
            Path(os.environ["KIOSK_FLEET_KEY"]) if os.environ.get("KIOSK_FLEET_KEY") else None
        )
        if key_path is None:
            print("Clé de flotte manquante : --key fichier.pem ou KIOSK_FLEET_KEY.", file=sys.stderr)
            return 2
        shop, till = _target(config, args.till)
        result = send_command(
            settings,
            load_private_key(key_path),
            shop,
            till,
            cmd,
            command_args(cmd, rest),
            timeout=args.timeout,
        )
    except (FleetError, CommandError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if result is None:
        print(
            f"Pas de réponse de {shop}/{till} : caisse hors ligne ? La commande expirera d'elle-même.",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0 if result.get("ok") else 1


def _watch(settings: Any, shop: str) -> int:
    """Redraw the table every few seconds (rich Live) until Ctrl+C."""
    from rich.live import Live
    from rich.table import Table

    from kiosk.uplink.fleet import collect_statuses, status_rows

    def table() -> Table:
        rows = status_rows(collect_statuses(settings, shop))
        grid = Table(*rows[0], title="Flotte")
        for row in rows[1:]:
            grid.add_row(*row, style=None if row[1] == "en ligne" else "bold red")
        return grid

    if not sys.stdout.isatty():  # a log or a pipe: the plain table, again every few seconds
        from kiosk.uplink.fleet import format_table

        try:
            while True:
                print(format_table(status_rows(collect_statuses(settings, shop))), end="\n\n", flush=True)
                threading.Event().wait(3)
        except KeyboardInterrupt:
            return 0
    try:
        with Live(table(), refresh_per_second=1) as live:
            while True:
                threading.Event().wait(3)
                live.update(table())
    except KeyboardInterrupt:
        return 0
