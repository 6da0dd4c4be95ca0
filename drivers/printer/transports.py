"""How the till reaches a real printer: one table of transport kinds (USB, serial, network, device file).

Each kind knows the configuration keys it reads, how to check them (with a French message naming the
wrong key), whether the keys present in an "auto" configuration describe it, and how to build its
python-escpos transport. `transport(cfg)` checks a configuration once; `Transport.open()` builds the
python-escpos object when the printer is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from escpos.escpos import Escpos
from escpos.printer import File, Network, Serial, Usb

from drivers.printer.status import PrinterOffline
from drivers.settings import Settings

OF = "de l'imprimante"  # in messages: « Configuration de l'imprimante : … »
USB_TIMEOUT_MS = 5000  # python-escpos defaults to 0, which libusb takes as "wait forever"
SERIAL_TIMEOUT_S = 0.5  # python-escpos reads 16 bytes, so every status query waits this long on serial
NETWORK_TIMEOUT_S = 5.0  # python-escpos defaults to 60 s, far too long for a queue at the till


@dataclass(frozen=True)
class TransportKind:
    """One way to reach a printer.

    `read` checks the kind's keys and returns them normalised; `detected` says whether the keys of an
    "auto" configuration describe this kind; `build` makes the python-escpos transport from what `read`
    returned and a python-escpos profile name; `usable` says whether what the transport needs is
    installed here, and `missing_module` is the cashier's message when it is not.
    """

    name: str
    escpos: type[Escpos]
    keys: tuple[str, ...]
    read: Callable[[Settings], dict[str, Any]]
    detected: Callable[[Mapping[str, Any]], bool]
    build: Callable[[Mapping[str, Any], str], Escpos]
    missing_module: str = ""
    usable: Callable[[], bool] | None = None  # None: the python-escpos class says (is_usable)


@dataclass(frozen=True)
class Transport:
    """A checked transport configuration: its kind and normalised values."""

    kind: TransportKind
    values: Mapping[str, Any]

    def open(self, escpos_profile: str) -> Escpos:
        """The python-escpos transport (it connects on first access); PrinterOffline if unusable here."""
        # Checked before construction: a Usb object built without pyusb raises again from its __del__.
        usable = self.kind.usable or self.kind.escpos.is_usable
        if not usable():
            raise PrinterOffline(self.kind.missing_module)
        return self.kind.build(self.values, escpos_profile)


def _usb_id(settings: Settings, key: str) -> int:
    value = settings.cfg.get(key)
    try:
        number = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value), 16)
    except ValueError:
        number = -1
    if not 0 <= number <= 0xFFFF:
        raise settings.bad(key, value, "un identifiant USB hexadécimal comme 0x04b8")
    return number


def _libusb_usable() -> bool:
    """pyusb is installed and finds a libusb library (without one, opening raises NoBackendError)."""
    if not Usb.is_usable():
        return False
    import usb.backend.libusb0
    import usb.backend.libusb1

    return any(backend.get_backend() is not None for backend in (usb.backend.libusb1, usb.backend.libusb0))


USB = TransportKind(
    name="usb",
    escpos=Usb,
    keys=("vendor_id", "product_id"),
    read=lambda s: {"vendor_id": _usb_id(s, "vendor_id"), "product_id": _usb_id(s, "product_id")},
    detected=lambda cfg: "vendor_id" in cfg or "product_id" in cfg,
    build=lambda v, profile: Usb(v["vendor_id"], v["product_id"], timeout=USB_TIMEOUT_MS, profile=profile),
    missing_module="Imprimante USB inutilisable : le module pyusb ou la bibliothèque libusb n'est pas "
    "installé. Faites installer pyusb et libusb-1.0, ou choisissez la connexion « file » avec /dev/usb/lp0.",
    usable=_libusb_usable,
)
SERIAL = TransportKind(
    name="serial",
    escpos=Serial,
    keys=("port", "baudrate"),
    read=lambda s: {
        "port": s.text("port", "un port série comme /dev/ttyUSB0"),
        "baudrate": s.integer("baudrate", 19200, 1, 921600),
    },
    detected=lambda cfg: "port" in cfg and "host" not in cfg,  # with a host, port is the TCP port
    build=lambda v, profile: Serial(
        v["port"], baudrate=v["baudrate"], timeout=SERIAL_TIMEOUT_S, profile=profile
    ),
    missing_module="Imprimante série inutilisable : le module pyserial n'est pas installé. "
    "Faites-le installer.",
)
NETWORK = TransportKind(
    name="network",
    escpos=Network,  # needs nothing beyond the standard library
    keys=("host", "port"),
    read=lambda s: {
        "host": s.text("host", "une adresse réseau comme 192.168.1.50"),
        "port": s.integer("port", 9100, 1, 65535),
    },
    detected=lambda cfg: "host" in cfg,
    build=lambda v, profile: Network(v["host"], port=v["port"], timeout=NETWORK_TIMEOUT_S, profile=profile),
)
FILE = TransportKind(
    name="file",
    escpos=File,  # needs nothing beyond the standard library
    keys=("path",),
    read=lambda s: {"path": s.text("path", "un chemin comme /dev/usb/lp0")},
    detected=lambda cfg: "path" in cfg,
    build=lambda v, profile: File(v["path"], profile=profile),
)

TRANSPORTS: dict[str, TransportKind] = {kind.name: kind for kind in (USB, SERIAL, NETWORK, FILE)}
TRANSPORT_KEYS = frozenset(key for kind in TRANSPORTS.values() for key in kind.keys)


def transport(cfg: Mapping[str, Any]) -> Transport:
    """Check the keys of the transport named by cfg["backend"]; the other keys are the caller's to check."""
    settings = Settings(OF, cfg, None, ValueError)
    backend = cfg.get("backend")
    kind = TRANSPORTS.get(backend) if isinstance(backend, str) else None
    if kind is None:
        raise settings.bad("backend", backend, ", ".join(TRANSPORTS))
    return Transport(kind, kind.read(settings))


def detect(settings: Settings) -> str | None:
    """The transport that the keys present describe, or None when no device is configured."""
    found = [name for name, kind in TRANSPORTS.items() if kind.detected(settings.cfg)]
    if len(found) > 1:
        raise settings.bad(
            "backend",
            "auto",
            f"un seul appareil, mais la configuration en décrit {len(found)} ({', '.join(found)})",
        )
    return found[0] if found else None
