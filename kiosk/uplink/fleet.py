"""The fleet console's client side: retained statuses of every till, signed commands and their results."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fiscal.keys import KeyFileError, public_pem, write_private_key
from kiosk.uplink import topics
from kiosk.uplink.commands import sign_command
from kiosk.uplink.settings import UplinkSettings


class FleetError(Exception):
    """Something the fleet manager must fix (French)."""


def keygen(private_path: Path) -> Path:
    """A new fleet key: private PEM (0600) at `private_path`, public PEM next to it (.pub.pem)."""
    private = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_private_key(private_path, private)
    except FileExistsError:
        raise FleetError(f"{private_path} existe déjà : choisissez un autre fichier.") from None
    public_path = private_path.with_suffix(".pub.pem")
    public_path.write_text(public_pem(private.public_key()), "ascii")
    return public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise FleetError(f"Clé de flotte illisible ({path}) : {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} n'est pas une clé privée Ed25519")
    return key


def _connected(settings: UplinkSettings, name: str, timeout: float) -> mqtt.Client:
    client = settings.client(f"{name}-{uuid.uuid4().hex[:8]}")
    ready = threading.Event()
    client.on_connect = lambda c, u, f, reason, p: ready.set() if not reason.is_failure else None
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
    except OSError as exc:
        raise FleetError(f"Serveur MQTT injoignable ({settings.host}:{settings.port}) : {exc}") from None
    client.loop_start()
    if not ready.wait(timeout):
        client.loop_stop()
        raise FleetError("Le serveur MQTT refuse la connexion : vérifiez uplink.username et uplink.password.")
    return client


def collect_statuses(
    settings: UplinkSettings, shop: str = "+", timeout: float = 10
) -> dict[str, dict[str, Any]]:
    """{"shop/till": status} from the retained statuses; complete once a probe sent after the
    subscription comes back (the broker sends retained messages first)."""
    client = _connected(settings, "fleet", timeout)
    probe = f"fleet/probe/{uuid.uuid4().hex}"
    statuses: dict[str, dict[str, Any]] = {}
    done = threading.Event()

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == probe:
            done.set()
            return
        where = topics.parse(message.topic)
        try:
            status = json.loads(message.payload)
        except ValueError:
            return
        if where is not None and isinstance(status, dict):
            statuses[f"{where[0]}/{where[1]}"] = status

    client.on_message = on_message
    client.on_subscribe = lambda c, *args: c.publish(probe, b"", qos=1)
    client.subscribe([(f"{topics.ROOT}/{shop}/+/status", 1), (probe, 1)])
    done.wait(timeout)
    client.loop_stop()
    client.disconnect()
    return dict(sorted(statuses.items()))


def _short(sig: str) -> str:
    return sig[:12] + "…" if sig else "-"


def status_rows(statuses: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    header = ("Caisse", "État", "Version", "File", "Dernier ticket", "Chaîne (ticket)", "Appareils", "Disque")
    rows: list[tuple[str, ...]] = [header]
    for name, status in statuses.items():
        outbox = status.get("outbox") or {}
        ticket = (status.get("chain_head") or {}).get("journals", {}).get("TICKET") or {}
        devices = status.get("devices")
        missing = [d for d, state in (devices or {}).items() if "erreur" in str(state).lower()]
        rows.append(
            (
                name,
                "en ligne" if status.get("online") else "HORS LIGNE",
                str(status.get("version", "-")),
                str(outbox.get("depth", "-")) + (" !" if outbox.get("warning") else ""),
                str((status.get("last_ticket") or {}).get("number", "-")),
                f"n°{ticket['seq']} {_short(ticket.get('sig', ''))}" if ticket else "-",
                ("en erreur : " + ", ".join(missing)) if missing else ("ok" if devices else "-"),
                f"{status['disk_free'] // 1_000_000} Mo" if isinstance(status.get("disk_free"), int) else "-",
            )
        )
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def send_command(
    settings: UplinkSettings,
    key: Ed25519PrivateKey,
    shop: str,
    till: str,
    cmd: str,
    args: dict[str, Any] | None = None,
    *,
    timeout: float = 30,
    ttl_s: int = 300,
    sign: Callable[..., tuple[str, bytes]] = sign_command,
) -> dict[str, Any] | None:
    """Sign and send a command; the till's result (matched by correlation id), or None on timeout."""
    from datetime import timedelta

    command_id, message = sign(key, shop, till, cmd, args, ttl=timedelta(seconds=ttl_s))
    return send_raw(settings, shop, till, message, command_id, timeout=timeout)


def send_raw(
    settings: UplinkSettings, shop: str, till: str, message: bytes, command_id: str, *, timeout: float = 30
) -> dict[str, Any] | None:
    client = _connected(settings, "fleet", timeout)
    result: list[dict[str, Any]] = []
    got = threading.Event()
    subscribed = threading.Event()

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            data = json.loads(message.payload)
        except ValueError:
            return
        correlation = getattr(message.properties, "CorrelationData", None)
        if data.get("id") == command_id or (correlation and correlation.decode() == command_id):
            result.append(data)
            got.set()

    client.on_message = on_message
    client.on_subscribe = lambda c, *args: subscribed.set()
    client.subscribe(topics.cmd_result(shop, till), 1)
    subscribed.wait(timeout)
    props = settings.publish_properties(
        CorrelationData=command_id.encode(), ResponseTopic=topics.cmd_result(shop, till)
    )
    client.publish(topics.cmd(shop, till), message, qos=1, properties=props)
    deadline = time.monotonic() + timeout
    got.wait(max(0, deadline - time.monotonic()))
    client.loop_stop()
    client.disconnect()
    return result[0] if result else None
