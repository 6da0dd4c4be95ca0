"""What each configuration key accepts (dotted key → check, expected value in French) and the check itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva

from fiscal.fec import FecError, fec_config
from kiosk.catalogue.barcode import compile_layouts


class ConfigError(Exception):
    """Every problem found in a configuration, one per line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _ident(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,32}", value) is not None


def _text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200


def _lines(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and len(v) <= 200 for v in value)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _int_range(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _choice(*choices: str) -> Callable[[Any], bool]:
    return lambda v: v in choices


def _timezone(value: Any) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _cents_list(value: Any) -> bool:
    return isinstance(value, list) and 0 < len(value) <= 8 and all(_int_range(1, 1_000_000)(v) for v in value)


def _scale_labels(value: Any) -> bool:
    """Checked by the barcode driver itself, so the till and `kiosk config check` agree."""
    try:
        compile_layouts(value)
    except (ValueError, TypeError):
        return False
    return isinstance(value, list)


def _sender(value: Any) -> bool:
    from kiosk.common.contact import RecipientError, normalise_email

    if value == "":
        return True
    try:
        normalise_email(value)
    except (RecipientError, AttributeError):
        return False
    return True


def _path_or_empty(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 500


# dotted key → (check, what is expected); anything not listed here is refused as unknown.
SCHEMA: dict[str, tuple[Callable[[Any], bool], str]] = {
    "shop.id": (_ident, "1 à 32 lettres, chiffres, - ou _"),
    "shop.name": (_text, "un texte non vide"),
    "shop.address": (_lines, "une liste de lignes de texte"),
    "shop.phone": (_text, "un numéro de téléphone"),
    "shop.siret": (
        lambda v: isinstance(v, str) and stdnum_siret.is_valid(v),
        "un SIRET valide de 14 chiffres",
    ),
    "shop.vat_number": (
        lambda v: isinstance(v, str) and stdnum_tva.is_valid(v),
        "un numéro de TVA intracommunautaire valide (FR + 11 caractères)",
    ),
    "shop.naf": (_text, "un code NAF"),
    "till.id": (_ident, "1 à 32 lettres, chiffres, - ou _"),
    "till.timezone": (_timezone, "un fuseau horaire IANA, par exemple Europe/Paris"),
    "till.training": (_bool, "true ou false"),
    "fiscal.first_month": (_int_range(1, 12), "le premier mois de l'exercice, de 1 à 12"),
    "fiscal.archive_dir": (
        lambda v: isinstance(v, str),
        "un répertoire (une clé USB montée) ; vide : data-dir/archives",
    ),
    "receipt.auto_print": (_bool, "true ou false"),
    "receipt.logo": (lambda v: isinstance(v, str), "le chemin d'une image PNG ou BMP (vide : pas de logo)"),
    "receipt.header": (_lines, "une liste de lignes de texte"),
    "receipt.footer": (_lines, "une liste de lignes de texte"),
    "cash.presets": (_cents_list, "une liste de 1 à 8 montants en centimes, par exemple [500, 1000]"),
    "loyalty.alcohol_earns": (_bool, "true ou false (l'alcool rapporte des points de fidélité)"),
    "loyalty.offline_allowance_cents": (
        _int_range(0, 100_000),
        "un montant en centimes : la cagnotte utilisable par client quand le portail est injoignable",
    ),
    "customers.retention_months": (_int_range(1, 120), "une durée en mois de 1 à 120"),
    "customers.inactive_days": (_int_range(7, 3650), "un nombre de jours de 7 à 3650"),
    "discounts.max_percent_without_manager": (
        _int_range(0, 100),
        "un pourcentage de 0 à 100 (au-delà, une remise demande le code d'un responsable)",
    ),
    "tenders.meal_voucher_max": (
        _int_range(0, 1_000_000),
        "un montant en centimes (plafond des tickets restaurant par ticket, par exemple 2500)",
    ),
    "credit_notes.validity_days": (
        _int_range(1, 3660),
        "une durée de validité des avoirs en jours, de 1 à 3660",
    ),
    "cash.float_at_login": (
        _bool,
        "true ou false (demander le fond de caisse à la première connexion du jour)",
    ),
    "staff.max_failed_logins": (_int_range(1, 20), "un entier de 1 à 20"),
    "staff.lockout_seconds": (_int_range(0, 86400), "un nombre de secondes de 0 à 86400"),
    "devices.printer.backend": (
        _choice("auto", "simulated", "usb", "serial", "network", "file"),
        "auto, simulated, usb, serial, network ou file",
    ),
    "devices.printer.model": (_text, "un modèle d'imprimante comme TM-T20II"),
    "devices.printer.profile": (_text, "un nom de profil d'imprimante"),
    "devices.printer.vendor_id": (_text, "un identifiant USB comme 0x04b8"),
    "devices.printer.product_id": (_text, "un identifiant USB comme 0x0202"),
    "devices.printer.port": (lambda v: _text(v) or _int_range(1, 65535)(v), "un port série ou TCP"),
    "devices.printer.baudrate": (_int_range(1200, 921600), "une vitesse série comme 19200"),
    "devices.printer.host": (_text, "une adresse réseau"),
    "devices.printer.path": (_text, "un chemin de fichier"),
    "devices.scanner.backend": (
        _choice("auto", "evdev", "simulated", "none"),
        "auto, evdev, simulated ou none",
    ),
    "devices.scanner.devices": (
        lambda v: isinstance(v, list) and all(_text(d) for d in v),
        'une liste de noms, d\'identifiants USB "0c2e:0b61" ou de chemins /dev/input/…',
    ),
    "devices.scanner.layout": (_choice("fr", "us"), "fr ou us (disposition clavier du lecteur)"),
    "devices.scanner.terminator": (_choice("enter", "tab", "none"), "enter, tab ou none"),
    "devices.scanner.timeout_ms": (_int_range(10, 2000), "une durée en millisecondes de 10 à 2000"),
    "barcodes.scale_labels": (_scale_labels, 'une liste de formats comme ["21PPPPPWWWWWC", "23PPPPPpppppC"]'),
    "devices.display.backend": (
        _choice("auto", "serial", "simulated", "none"),
        "auto, serial, simulated ou none",
    ),
    "devices.display.port": (_text, "un port série comme /dev/ttyUSB1"),
    "devices.display.baudrate": (_int_range(1200, 115200), "une vitesse série comme 9600"),
    "devices.display.profile": (_choice("generic", "epson-pc858"), "generic ou epson-pc858"),
    "devices.scale.backend": (
        _choice("auto", "serial", "simulated", "none"),
        "auto, serial, simulated ou none",
    ),
    "devices.scale.port": (_text, "un port série comme /dev/ttyUSB0"),
    "devices.scale.baudrate": (_int_range(1200, 19200), "une vitesse série comme 9600"),
    "devices.scale.simulated_kg": (_text, 'un poids en kg entre guillemets, comme "0.350"'),
    "devices.payment.protocol": (
        _choice("concert", "caisse-ap"),
        "concert (série/USB) ou caisse-ap (réseau IP)",
    ),
    "devices.payment.backend": (
        _choice("none", "simulated", "terminal", "concert"),
        "none, simulated ou terminal (concert : ancien nom d'un terminal Concert)",
    ),
    "devices.payment.port": (
        lambda v: _text(v) or _int_range(1, 65535)(v),
        "un port série comme /dev/ttyACM0 (Concert) ou un port TCP comme 8888 (Caisse-AP)",
    ),
    "devices.payment.baudrate": (_int_range(1200, 115200), "une vitesse série comme 9600"),
    "devices.payment.mode": (
        _choice(
            "ok",
            "refused",
            "silent",
            "fragmented",
            "bad_lrc_once",
            "by_amount",
            "abandoned",
            "slow",
            "malformed",
            "hangup",
        ),
        "ok, refused, silent, fragmented ou bad_lrc_once (Concert simulé) ; by_amount, ok, refused, abandoned, "
        "silent, slow, malformed, hangup ou fragmented (Caisse-AP simulé)",
    ),
    "devices.payment.answer_timeout": (_int_range(10, 600), "une durée en secondes de 10 à 600"),
    "devices.payment.host": (_text, "l'adresse IP ou le nom du terminal sur le réseau, comme 192.168.1.50"),
    "devices.payment.connect_timeout": (_int_range(1, 60), "une durée en secondes de 1 à 60"),
    "devices.payment.pos": (
        lambda v: isinstance(v, str) and re.fullmatch(r"[0-9]{2}", v) is not None,
        'le numéro de la caisse sur le terminal, deux chiffres entre guillemets comme "01"',
    ),
    "devices.payment.version": (
        lambda v: isinstance(v, str) and re.fullmatch(r"[0-9]{4}", v) is not None,
        'la version du protocole Caisse-AP, quatre chiffres comme "0300"',
    ),
    "devices.payment.protocol_id": (
        lambda v: isinstance(v, str) and re.fullmatch(r"[0-9]{12}", v) is not None,
        "l'identifiant Caisse-AP de la caisse, douze chiffres entre guillemets",
    ),
    "devices.payment.ticket": (_bool, "true ou false (le terminal envoie le ticket client à la caisse)"),
    "devices.drawer.backend": (
        _choice("auto", "simulated", "gpio", "printer", "none"),
        "auto, simulated, gpio, printer ou none",
    ),
    "devices.drawer.pin": (_int_range(0, 27), "un numéro de broche GPIO BCM de 0 à 27"),
    "devices.drawer.pulse_ms": (_int_range(20, 2000), "une durée en millisecondes de 20 à 2000"),
    "devices.drawer.active_high": (_bool, "true ou false"),
    "devices.drawer.kick_pin": (_choice(2, 5), "2 ou 5"),  # type: ignore[arg-type]
    "devices.drawer.sensor_pin": (_int_range(0, 27), "un numéro de broche GPIO BCM de 0 à 27"),
    "mail.host": (
        lambda v: isinstance(v, str) and len(v) <= 253,
        "le serveur SMTP (vide : pas d'envoi par e-mail)",
    ),
    "mail.port": (_int_range(1, 65535), "un port TCP de 1 à 65535 (587 STARTTLS, 465 SSL, 25)"),
    "mail.security": (_choice("starttls", "ssl", "none"), "starttls, ssl ou none"),
    "mail.username": (lambda v: isinstance(v, str), "l'identifiant SMTP (vide : pas d'authentification)"),
    "mail.password": (lambda v: isinstance(v, str), "le mot de passe SMTP, entre guillemets"),
    "mail.sender": (_sender, "l'adresse d'expédition, par exemple caisse@exemple.fr (vide : pas d'envoi)"),
    "mail.timeout": (_int_range(1, 120), "une durée en secondes de 1 à 120"),
    "catalogue.usb_dir": (
        lambda v: isinstance(v, str),
        "le répertoire où la clé USB est montée (fichiers Excel du catalogue) ; vide : aucun",
    ),
    "catalogue.new_categories": (_choice("create", "reject"), "create ou reject"),
    "uplink.enabled": (_bool, "true ou false (envoi des ventes au portail par MQTT)"),
    "uplink.host": (_text, "l'adresse du serveur MQTT, par exemple mqtt.exemple.fr"),
    "uplink.port": (_int_range(1, 65535), "un port TCP de 1 à 65535 (1883, ou 8883 en TLS)"),
    "uplink.tls": (_bool, "true ou false"),
    "uplink.ca_file": (_path_or_empty, "le chemin du certificat de l'autorité (PEM) ; vide : CA du système"),
    "uplink.cert_file": (_path_or_empty, "le chemin du certificat client de la caisse (PEM) ; vide : aucun"),
    "uplink.key_file": (_path_or_empty, "le chemin de la clé privée du certificat client ; vide : aucune"),
    "uplink.username": (lambda v: isinstance(v, str) and len(v) <= 200, "un nom d'utilisateur MQTT"),
    "uplink.password": (lambda v: isinstance(v, str) and len(v) <= 200, "un mot de passe MQTT"),
    "uplink.fleet_public_key": (
        _path_or_empty,
        "le chemin de la clé publique Ed25519 de la flotte (PEM) ; vide : commandes refusées",
    ),
    "uplink.backlog_budget_mb": (_int_range(1, 10_000), "une taille en Mo de 1 à 10000"),
    "uplink.status_interval_s": (_int_range(1, 3600), "une durée en secondes de 1 à 3600"),
    "uplink.reconnect_max_s": (_int_range(1, 600), "une durée en secondes de 1 à 600"),
    "uplink.keepalive_s": (_int_range(5, 3600), "une durée en secondes de 5 à 3600"),
    "uplink.ack_timeout_s": (_int_range(1, 600), "une durée en secondes de 1 à 600"),
    "uplink.mqtt_version": (lambda v: v in (5, 311), "5 (MQTT 5) ou 311 (MQTT 3.1.1, anciens serveurs)"),
    "uplink.portal_db": (
        lambda v: isinstance(v, str) and v.startswith(("postgresql://", "sqlite:")),
        "postgresql://utilisateur@hôte:5432/base ou sqlite:chemin (portail de démonstration)",
    ),
}


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


FEC_PREFIX = "fiscal.fec."


def _check_fec(flat: dict[str, Any]) -> list[str]:
    """The accounting export's journal and accounts (fiscal.fec.*), checked by the FEC module itself."""
    section = {k.removeprefix(FEC_PREFIX): v for k, v in flat.items() if k.startswith(FEC_PREFIX)}
    if not section:
        return []
    try:
        fec_config(unflatten(section))
    except (FecError, TypeError, AttributeError, ValueError) as exc:
        return [f"fiscal.fec : {exc}"]
    return []


def validate(flat: dict[str, Any]) -> list[str]:
    problems = _check_fec(flat)
    for key, value in sorted(flat.items()):
        if key.startswith(FEC_PREFIX):
            continue
        if key not in SCHEMA:
            problems.append(f"{key} : clé inconnue")
            continue
        check, expected = SCHEMA[key]
        if not check(value):
            problems.append(f"{key} : attendu {expected}, reçu {value!r}")
    return problems
