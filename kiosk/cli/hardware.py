"""The technician's device diagnostics: `kiosk hw list` and `kiosk hw test [DEVICE]`.

`list_devices` says, for each device, what the configuration asks for, what the till actually opened
(real driver, simulated or none) and its state, without changing anything. `test_device` makes the
device do something a person can check: a test page with a code page check, a drawer pulse (journaled in
the JET: NF525 wants every drawer opening outside a sale recorded), a message on the customer display, a
weighing. No card is ever debited: a Caisse-AP terminal is only connected to (nothing sent), and only
the simulated one goes through a whole payment exchange.

Every check runs in its own thread and is given up after a few seconds: a device that hangs is reported
as « ne répond pas (délai dépassé) », never as a till that hangs. Every failure becomes a French line
saying what to do; no traceback reaches the technician.
"""

from __future__ import annotations

import argparse
import codecs
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from gpiozero.pins.mock import MockPin

from drivers.caisse_ap import CaisseApTerminal
from drivers.caisse_ap_sim import SimulatedCaisseApTerminal
from drivers.display import NoDisplay, SerialDisplay, SimulatedDisplay, fit
from drivers.drawer import GpioDrawer, NoDrawer, PrinterKickDrawer
from drivers.errors import DeviceError
from drivers.payment import ConcertTerminal, NoTerminal, SimulatedTerminal
from drivers.printer import (
    Columns,
    Document,
    Feed,
    PrinterProfile,
    Rule,
    SimulatedPrinter,
    Text,
    fold,
)
from drivers.scale import UNREACHABLE_MESSAGE, UNREADABLE_MESSAGE, NoScale, SerialScale
from drivers.scanner import DeviceFinder, NoScanner, ScanResult, SimulatedScanner
from kiosk.till import Till

log = logging.getLogger(__name__)

DEVICES = ("printer", "drawer", "scanner", "display", "scale", "payment")
LABELS = {
    "printer": "Imprimante",
    "drawer": "Tiroir-caisse",
    "scanner": "Lecteur de codes-barres",
    "display": "Afficheur client",
    "scale": "Balance",
    "payment": "Terminal de paiement",
}
# What each driver opens when its section names no backend (see the drivers' open_xxx functions).
_DEFAULT_BACKENDS = {"payment": "none"}

TIMEOUT_S = 5  # a check not done by then is reported as a device that does not answer
SCAN_WAIT_S = 10  # `kiosk hw test scanner --wait`
_SCANNER_SETTLE_MS = 1000  # the reader thread looks for scanners as it starts: give it this long
_DRAWER_SENSOR_MS = 300  # after the pulse, before reading the drawer's sensor

CODEPAGE_LINE = "€ é è à ç ù â ê î ô û ë ï ü œ « »"
DISPLAY_LINES = ("Test afficheur", "0123456789 € éàç")
TIMED_OUT = "ne répond pas (délai dépassé)"
KIND_REAL, KIND_SIMULATED, KIND_NONE = "réel", "simulé", "aucun"

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceState:
    """One line of `kiosk hw list`. `ok` is False only for a device that is configured and not usable."""

    device: str  # one of DEVICES
    name: str  # French label
    configured: str  # the configured backend, with its port or address when there is one
    opened: str  # the driver actually opened (class name), "" when it could not be opened
    kind: str  # réel | simulé | aucun ("" when it could not be opened)
    state: str  # French, short
    ok: bool
    advice: str | None = None  # French: what to do, for a device that is not ok (or worth a word)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TestResult:
    """What `kiosk hw test DEVICE` prints: French lines, and whether the device passed."""

    __test__ = False  # not a pytest test class

    ok: bool
    lines: list[str] = field(default_factory=list)


class UnknownDevice(ValueError):
    def __init__(self, name: str):
        super().__init__(f"Appareil inconnu « {name} » : choisissez parmi {', '.join(DEVICES)}.")
        self.message = str(self)


class _TimedOut(Exception):
    pass


# --------------------------------------------------------------------------------------------------------
# Helpers


def _bounded(fn: Callable[[], T], timeout_s: float) -> T:
    """`fn()` in a daemon thread; _TimedOut if it has not returned after `timeout_s` (it is then left to
    finish on its own: a daemon thread never keeps the command from exiting)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="hw-check", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise _TimedOut()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def explain(exc: BaseException) -> str:
    """A failure as one French line saying what to do."""
    if isinstance(exc, _TimedOut):
        return f"{TIMED_OUT} : vérifiez qu'il est allumé et branché, puis relancez le test."
    if isinstance(exc, DeviceError):
        return exc.message
    if isinstance(exc, ValueError) and str(exc).startswith("Configuration "):
        return f"{exc} Corrigez la configuration (kiosk.toml), puis lancez « kiosk config check »."
    log.debug("device check failed", exc_info=exc)
    return (
        f"Erreur inattendue ({type(exc).__name__} : {exc}) : vérifiez le branchement et la configuration ; "
        "si cela se répète, transmettez ce message au support."
    )


def _backend(till: Till, device: str) -> str:
    cfg = getattr(till.config.devices, device)
    return str(cfg.get("backend", _DEFAULT_BACKENDS.get(device, "auto")))


def _configured(till: Till, device: str) -> str:
    """The configured backend, with the port, address or pins that go with it."""
    cfg = getattr(till.config.devices, device)
    backend = _backend(till, device)
    details = []
    if device == "printer" and ("vendor_id" in cfg or "product_id" in cfg):
        details.append(f"usb {cfg.get('vendor_id', '?')}:{cfg.get('product_id', '?')}")
    if device == "drawer" and backend in ("auto", "gpio"):
        details.append(f"GPIO {cfg.get('pin', 17)}")
    if device == "drawer" and backend == "printer":
        details.append(f"broche {cfg.get('kick_pin', 2)}")
    if device == "payment" and cfg.get("protocol") == "caisse-ap":
        details.append("caisse-ap")
    if device == "scanner" and cfg.get("devices"):
        details.append(", ".join(str(d) for d in cfg["devices"]))
    for key in ("host", "port", "path"):
        if key in cfg and backend not in ("none", "simulated"):
            details.append(str(cfg[key]))
    return f"{backend} ({'; '.join(details)})" if details else backend


def _kind(device: object) -> str:
    if isinstance(device, NoDrawer | NoDisplay | NoScale | NoTerminal | NoScanner):
        return KIND_NONE
    if isinstance(
        device,
        SimulatedPrinter
        | SimulatedDisplay
        | SimulatedTerminal
        | SimulatedCaisseApTerminal
        | SimulatedScanner,
    ):
        return KIND_SIMULATED
    if isinstance(device, GpioDrawer) and isinstance(device.pin, MockPin):
        return KIND_SIMULATED
    if isinstance(device, SerialScale) and device.peer is not None:
        return KIND_SIMULATED
    return KIND_REAL


def _failed(device: str, configured: str, exc: BaseException) -> DeviceState:
    message = explain(exc)
    state = TIMED_OUT if isinstance(exc, _TimedOut) else "inutilisable"
    return DeviceState(device, LABELS[device], configured, "", "", state, False, message)


def _kg_text(kg: Decimal) -> str:
    return f"{format(kg, 'f').replace('.', ',')} kg"


# --------------------------------------------------------------------------------------------------------
# kiosk hw list


def list_devices(till: Till, timeout_s: float = TIMEOUT_S) -> list[DeviceState]:
    """What is configured, what was opened and its state, for each of DEVICES (nothing is printed, no
    drawer opened, no payment started)."""
    return [device_state(till, device, timeout_s) for device in DEVICES]


def device_state(till: Till, device: str, timeout_s: float = TIMEOUT_S) -> DeviceState:
    if device not in DEVICES:
        raise UnknownDevice(device)
    configured = _configured(till, device)
    check = _STATE_CHECKS[device]
    try:
        return _bounded(lambda: check(till, configured), timeout_s)
    except Exception as exc:
        return _failed(device, configured, exc)


def _state(
    device: str, configured: str, opened: object, state: str, ok: bool, advice: str | None = None
) -> DeviceState:
    return DeviceState(
        device, LABELS[device], configured, type(opened).__name__, _kind(opened), state, ok, advice
    )


_PRINTER_STATES = {
    "ok": "prête",
    "near_end": "rouleau presque fini",
    "out": "plus de papier",
    "unknown": "état inconnu",
}
_REAL_PRINTER_KEYS = ("vendor_id", "product_id", "host", "port", "path")


def _printer_state(till: Till, configured: str) -> DeviceState:
    printer = till.printer
    status = printer.status()
    cfg = till.config.devices.printer
    if (
        isinstance(printer, SimulatedPrinter)
        and _backend(till, "printer") == "auto"
        and any(key in cfg for key in _REAL_PRINTER_KEYS)
    ):
        return _state(
            "printer",
            configured,
            printer,
            "injoignable (imprimante simulée à la place)",
            False,
            f"L'imprimante configurée ne répond pas : les tickets partent dans {printer.out_dir}. "
            "Vérifiez qu'elle est allumée et branchée, puis relancez la caisse.",
        )
    if not status.online:
        return _state("printer", configured, printer, "hors ligne", False, status.message)
    state = _PRINTER_STATES[status.paper]
    if isinstance(printer, SimulatedPrinter):
        state += f" (tickets dans {printer.out_dir})"
    ok = status.paper != "out"
    advice = None if status.paper == "ok" else status.message
    return _state("printer", configured, printer, state, ok, advice)


def _drawer_state(till: Till, configured: str) -> DeviceState:
    drawer = till.drawer
    if isinstance(drawer, NoDrawer):
        return _state("drawer", configured, drawer, "non configuré", True)
    where = ""
    if isinstance(drawer, PrinterKickDrawer):
        where = f"branché sur l'imprimante (broche {drawer.kick_pin}), "
    elif isinstance(drawer, GpioDrawer) and _kind(drawer) == KIND_SIMULATED:
        where = "broches GPIO simulées, "
    is_open = drawer.is_open()
    sensor = {True: "ouvert", False: "fermé", None: "sans capteur d'ouverture"}[is_open]
    return _state("drawer", configured, drawer, where + sensor, True)


def _scanner_state(till: Till, configured: str) -> DeviceState:
    names, opened, detected = _open_scanners_briefly(till)
    backend = _backend(till, "scanner")
    specs = till.config.devices.scanner.get("devices") or []
    if isinstance(opened, NoScanner):
        return _state("scanner", configured, opened, "non configuré (codes tapés au clavier)", True)
    if isinstance(opened, SimulatedScanner):
        if backend == "simulated":
            return _state("scanner", configured, opened, f"simulé : {', '.join(names) or 'aucun'}", True)
        advice = (
            "Branchez le lecteur USB. S'il l'est déjà, indiquez son nom ou son identifiant USB dans "
            "devices.scanner.devices."
        )
        return _state(
            "scanner", configured, opened, "aucun lecteur détecté (codes tapés au clavier)", not specs, advice
        )
    if names:
        return _state("scanner", configured, opened, f"connecté : {', '.join(names)}", True)
    if detected:
        return _state(
            "scanner",
            configured,
            opened,
            f"détecté mais inaccessible : {', '.join(detected)}",
            False,
            "Le lecteur est branché mais ne peut pas être lu : la caisse est peut-être lancée (elle le "
            "garde pour elle), ou l'utilisateur n'est pas dans le groupe « input ».",
        )
    return _state(
        "scanner",
        configured,
        opened,
        "aucun lecteur branché",
        False,
        "Branchez le lecteur USB (ou vérifiez devices.scanner.devices), puis relancez le test.",
    )


def _open_scanners_briefly(
    till: Till, on_scan: Callable[[ScanResult], None] | None = None
) -> tuple[list[str], object, list[str]]:
    """Open the scanners as the till does, give the reader a moment to find them, close them.
    Returns (connected names, the reader, scanners seen in sysfs)."""
    cfg = till.config.devices.scanner
    detected: list[str] = []
    if _backend(till, "scanner") in ("auto", "evdev"):
        finder = DeviceFinder([str(d) for d in cfg.get("devices") or []])
        detected = [d.name for d in finder.identify() if finder.wanted(d)]
    scanner = till.open_scanners(on_scan or (lambda result: None))
    try:
        names = _settled_names(scanner)
    finally:
        scanner.close()
    return names, scanner, detected


def _settled_names(scanner: Any) -> list[str]:
    if isinstance(scanner, NoScanner):
        return []
    deadline = time.monotonic() + _SCANNER_SETTLE_MS / 1000
    names: list[str] = scanner.connected()
    while not names and time.monotonic() < deadline:
        time.sleep(20 / 1000)
        names = scanner.connected()
    return names


def _display_state(till: Till, configured: str) -> DeviceState:
    display = till.display
    if isinstance(display, NoDisplay):
        return _state("display", configured, display, "non configuré", True)
    if isinstance(display, SimulatedDisplay):
        if _backend(till, "display") == "auto" and till.config.devices.display.get("port"):
            return _state(
                "display",
                configured,
                display,
                "injoignable (afficheur simulé à la place)",
                False,
                "L'afficheur client ne répond pas sur son port : vérifiez le câble et le port configuré.",
            )
        return _state("display", configured, display, "prêt", True)
    port = display.port_name if isinstance(display, SerialDisplay) else None
    return _state("display", configured, display, f"port {port} ouvert" if port else "prêt", True)


def _scale_state(till: Till, configured: str) -> DeviceState:
    scale = till.scale
    if isinstance(scale, NoScale):
        return _state("scale", configured, scale, "non configurée", True)
    try:
        reading = scale.read_weight()
    except DeviceError as exc:
        ok = exc.message not in (UNREACHABLE_MESSAGE, UNREADABLE_MESSAGE)  # it answered: it is there
        return _state("scale", configured, scale, "répond" if ok else "injoignable", ok, exc.message)
    return _state("scale", configured, scale, f"répond : {_kg_text(reading.kg)}", True)


def _payment_port(terminal: object) -> str | None:
    if isinstance(terminal, ConcertTerminal | SimulatedTerminal):
        return terminal.port_name
    return None


def _payment_state(till: Till, configured: str) -> DeviceState:
    terminal = till.terminal
    if isinstance(terminal, NoTerminal):
        return _state("payment", configured, terminal, "non configuré", True)
    if isinstance(terminal, CaisseApTerminal | SimulatedCaisseApTerminal):
        return _caisse_ap_state(terminal, configured)
    port = _payment_port(terminal)
    if port is None:
        return _state("payment", configured, terminal, "port inconnu", True)
    if os.path.exists(port):
        prefix = "simulé, " if isinstance(terminal, SimulatedTerminal) else ""
        return _state("payment", configured, terminal, f"{prefix}port {port} présent", True)
    return _state(
        "payment",
        configured,
        terminal,
        f"port {port} absent",
        False,
        "Le port du terminal de paiement n'existe pas : vérifiez le câble USB ou série, que le terminal "
        "est allumé et en « connexion caisse », et le port configuré (devices.payment.port).",
    )


def _caisse_ap_state(terminal: CaisseApTerminal | SimulatedCaisseApTerminal, configured: str) -> DeviceState:
    """A TCP connection opened and closed: nothing is sent to the terminal."""
    prefix = "simulé, " if isinstance(terminal, SimulatedCaisseApTerminal) else ""
    problem = terminal.reachable()
    if problem is None:
        return _state(
            "payment", configured, terminal, f"{prefix}Caisse-AP, joignable sur {terminal.address}", True
        )
    return _state(
        "payment",
        configured,
        terminal,
        f"Caisse-AP, injoignable sur {terminal.address}",
        False,
        f"{problem} Vérifiez aussi que le terminal est en mode caisse « IP » sur ce port "
        "(devices.payment.host et devices.payment.port).",
    )


_STATE_CHECKS: dict[str, Callable[[Till, str], DeviceState]] = {
    "printer": _printer_state,
    "drawer": _drawer_state,
    "scanner": _scanner_state,
    "display": _display_state,
    "scale": _scale_state,
    "payment": _payment_state,
}

# --------------------------------------------------------------------------------------------------------
# kiosk hw test


def test_device(
    till: Till,
    name: str,
    *,
    timeout_s: float = TIMEOUT_S,
    operator: str = "technicien",
    scan_wait_s: int | None = None,
    say: Callable[[str], None] | None = None,
) -> TestResult:
    """Make the device `name` (one of DEVICES) do something checkable; French lines, never a traceback.

    `operator` is journaled with a drawer test; `scan_wait_s` waits that long for a scan (scanner test);
    `say` shows lines at once: the scanner test gives it its first lines and the prompt before waiting
    (they are then not repeated in the result).
    """
    if name not in DEVICES:
        raise UnknownDevice(name)
    label = LABELS[name]
    try:
        if name == "printer":
            return _test_printer(till, timeout_s)
        if name == "drawer":
            return _test_drawer(till, timeout_s, operator)
        if name == "display":
            return _test_display(till, timeout_s)
        if name == "scale":
            return _test_scale(till, timeout_s)
        if name == "payment":
            return _test_payment(till, timeout_s)
        return _test_scanner(till, timeout_s, scan_wait_s, say)
    except Exception as exc:
        return TestResult(False, [f"{label} : {explain(exc)}"])


test_device.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function


def test_page(till: Till, profile: PrinterProfile) -> Document:
    """The test page: shop name, the French characters of the code page, the bytes they must be, the
    profile, the date, and a ruler to check the width."""
    codec = _codec(profile)
    expected = (
        " ".join(f"{char} {char.encode(codec).hex().upper()}" for char in "€éèàç")
        if codec
        else "(page de code inconnue de Python)"
    )
    now = till.clock()
    return [
        Text(str(till.config.shop.name), align="center", bold=True, double=True),
        Text("Test d'impression", align="center", bold=True),
        Rule(),
        Text(CODEPAGE_LINE),
        Text(f"Octets attendus ({profile.codepage}) : {expected}"),
        Text("Chaque caractère ci-dessus doit être imprimé à l'identique (œ s'imprime oe)."),
        Rule(),
        Columns("Profil", profile.name),
        Columns("Page de code", profile.codepage),
        Columns("Largeur", f"{profile.columns} colonnes"),
        Text("".join(str(i % 10) for i in range(1, profile.columns + 1))),
        Columns("Date", now.strftime("%d/%m/%Y %H:%M")),
        Feed(2),
    ]


test_page.__test__ = False  # type: ignore[attr-defined]


def _codec(profile: PrinterProfile) -> str | None:
    try:
        return codecs.lookup(profile.codepage.lower()).name
    except LookupError:
        return None


def codepage_check(data: bytes, profile: PrinterProfile) -> tuple[bool, str]:
    """Whether the rendered bytes hold the code page line as the profile's code page spells it."""
    codec = _codec(profile)
    if codec is None:
        return False, f"Page de code {profile.codepage} inconnue : contrôle des octets impossible."
    euro = "€".encode(codec, errors="replace")
    line = fold(CODEPAGE_LINE, profile).encode(codec, errors="replace")
    if euro in data and line in data:
        return True, (
            f"Page de code {profile.codepage} : « € » envoyé en 0x{euro.hex().upper()} et les accents "
            "français en un octet chacun : contrôle des octets réussi."
        )
    return False, (
        f"Page de code {profile.codepage} : les octets envoyés ne contiennent pas « € » en "
        f"0x{euro.hex().upper()} ; les accents seraient mal imprimés. Vérifiez le profil de l'imprimante "
        "(devices.printer.model)."
    )


def _test_printer(till: Till, timeout_s: float) -> TestResult:
    def run() -> TestResult:
        printer = till.printer
        rendered = till.render(test_page(till, printer.profile))
        bytes_ok, bytes_line = codepage_check(rendered.data, printer.profile)
        before = printer.status()  # print_bytes only looks at the paper; a test looks at everything
        if not before.online or before.paper == "out":
            return TestResult(False, [f"Imprimante : {before.message}", bytes_line])
        printer.print_bytes(rendered.data)
        lines = []
        if isinstance(printer, SimulatedPrinter):
            lines.append(f"Imprimante simulée : page de test enregistrée dans {printer.last_path}.")
        else:
            lines.append(f"Page de test envoyée à l'imprimante ({type(printer).__name__}).")
        lines.append(bytes_line)
        lines.append(
            f"Sur le papier, la ligne « {fold(CODEPAGE_LINE, printer.profile)} » doit être imprimée telle "
            f"quelle ; sinon réglez l'imprimante sur la page de code {printer.profile.codepage}."
        )
        status = printer.status()
        if status.online and status.paper == "near_end":
            lines.append(status.message)
        return TestResult(bytes_ok, lines)

    try:
        return _bounded(run, timeout_s)
    except Exception as exc:
        return TestResult(False, [f"Imprimante : {explain(exc)}"])


def _test_drawer(till: Till, timeout_s: float, operator: str) -> TestResult:
    drawer = _bounded(lambda: till.drawer, timeout_s)
    if isinstance(drawer, NoDrawer):
        return TestResult(True, ["Aucun tiroir-caisse configuré : rien à ouvrir."])

    def run() -> bool | None:
        drawer.open()
        if drawer.is_open() is None:
            return None
        time.sleep(_DRAWER_SENSOR_MS / 1000)
        return drawer.is_open()

    error: str | None = None
    is_open: bool | None = None
    try:
        is_open = _bounded(run, timeout_s)
    except Exception as exc:
        error = explain(exc)
    # Recorded whatever happened: the drawer may have opened even if the driver reported a failure.
    conn = till.db.connection()
    till.ledger.record_event(
        conn,
        "DRAWER_TEST",
        {
            "operator": operator,
            "driver": type(drawer).__name__,
            "kind": _kind(drawer),
            "result": "error" if error else "pulse",
            "sensor": {True: "open", False: "closed", None: "none"}[is_open],
        },
    )
    till.ledger.anchor_heads(conn)
    journaled = "Ouverture hors vente journalisée (JET, DRAWER_TEST)."
    if error:
        return TestResult(False, [f"Tiroir-caisse : {error}", journaled])
    what = "impulsion envoyée"
    if isinstance(drawer, GpioDrawer):
        what += f" ({drawer.pulse_ms} ms"
        what += ", broches simulées)" if _kind(drawer) == KIND_SIMULATED else ")"
    elif isinstance(drawer, PrinterKickDrawer):
        what += f" par l'imprimante (broche {drawer.kick_pin})"
    lines = [f"Tiroir-caisse : {what}.", journaled]
    if is_open is None:
        lines.append("Pas de capteur d'ouverture : vérifiez que le tiroir s'est ouvert, puis refermez-le.")
        return TestResult(True, lines)
    if is_open:
        lines.append("Capteur : tiroir ouvert. Refermez-le.")
        return TestResult(True, lines)
    lines.append(
        "Capteur : le tiroir est resté fermé. Vérifiez son câble et qu'il n'est pas verrouillé à la clé ; "
        "s'il s'est ouvert quand même, vérifiez le câble du capteur."
    )
    return TestResult(False, lines)


def _test_display(till: Till, timeout_s: float) -> TestResult:
    def run() -> TestResult:
        display = till.display
        if isinstance(display, NoDisplay):
            return TestResult(True, ["Aucun afficheur client configuré."])
        display.show(*DISPLAY_LINES)
        if isinstance(display, SimulatedDisplay):
            top, bottom = (line.rstrip() for line in display.lines)
            return TestResult(True, [f"Afficheur simulé : « {top} » / « {bottom} »."])
        profile = getattr(display, "profile", None)
        top, bottom = ((fit(line, profile) if profile else line).rstrip() for line in DISPLAY_LINES)
        return TestResult(
            True,
            [
                "Message envoyé à l'afficheur client.",
                f"Il doit afficher « {top} » en haut et « {bottom} » en bas ; sinon vérifiez sa vitesse "
                "(devices.display.baudrate) et son profil (devices.display.profile).",
            ],
        )

    try:
        return _bounded(run, timeout_s)
    except Exception as exc:
        return TestResult(False, [f"Afficheur client : {explain(exc)}"])


def _test_scale(till: Till, timeout_s: float) -> TestResult:
    def run() -> TestResult:
        scale = till.scale
        if isinstance(scale, NoScale):
            return TestResult(True, ["Aucune balance configurée : les poids se saisissent à la main."])
        reading = scale.read_weight()
        kind = "simulée, " if _kind(scale) == KIND_SIMULATED else ""
        return TestResult(
            True,
            [
                f"Balance ({kind}poids stable) : {_kg_text(reading.kg)}.",
                "Posez un poids connu et relancez le test pour vérifier la pesée.",
            ],
        )

    try:
        return _bounded(run, timeout_s)
    except Exception as exc:
        return TestResult(False, [f"Balance : {explain(exc)}"])


NO_LINK_TEST = "test de liaison non disponible : faites un paiement de 0,01 € depuis la caisse"


SIM_TEST_CENTS = 1  # the simulated Caisse-AP terminal's test payment: 0,01 €, by_amount accepts it


def _test_payment(till: Till, timeout_s: float) -> TestResult:
    terminal = _bounded(lambda: till.terminal, timeout_s)
    if isinstance(terminal, CaisseApTerminal | SimulatedCaisseApTerminal):
        return _test_caisse_ap(till, terminal, timeout_s)
    # The Concert driver offers no handshake of its own (its ENQ/ACK is inside a transaction): the port
    # is checked, nothing is ever sent to the terminal from here, and no card is debited.
    state = device_state(till, "payment", timeout_s)
    if state.kind == KIND_NONE and state.ok:
        return TestResult(True, ["Aucun terminal de paiement configuré."])
    lines = [f"Terminal de paiement : {state.state}."]
    if not state.ok:
        lines.append(state.advice or "")
        return TestResult(False, [line for line in lines if line])
    lines.append(f"Terminal de paiement : {NO_LINK_TEST}.")
    return TestResult(True, lines)


def _test_caisse_ap(
    till: Till, terminal: CaisseApTerminal | SimulatedCaisseApTerminal, timeout_s: float
) -> TestResult:
    state = device_state(till, "payment", timeout_s)
    lines = [f"Terminal de paiement : {state.state}."]
    if not state.ok:
        lines.append(state.advice or "")
        return TestResult(False, [line for line in lines if line])
    if not isinstance(terminal, SimulatedCaisseApTerminal):
        lines.append(
            "Terminal de paiement : connexion réseau établie, rien n'a été envoyé au terminal ; pour vérifier "
            "un paiement, faites un paiement de 0,01 € depuis la caisse."
        )
        return TestResult(True, lines)
    # The simulated terminal goes through a whole Caisse-AP exchange: no card, no bank.
    result = _bounded(lambda: terminal.debit(SIM_TEST_CENTS), timeout_s)
    verdicts = {"approved": "accepté", "refused": "refusé"}
    if result.outcome in verdicts:
        lines.append(
            f"Terminal de paiement : échange Caisse-AP complet avec le terminal simulé, paiement test de "
            f"0,01 € {verdicts[result.outcome]} ({result.reason_fr})"
        )
        return TestResult(True, lines)
    lines.append(f"Terminal de paiement : l'échange Caisse-AP a échoué : {result.reason_fr}")
    return TestResult(False, lines)


def _test_scanner(
    till: Till, timeout_s: float, scan_wait_s: int | None, say: Callable[[str], None] | None
) -> TestResult:
    state = device_state(till, "scanner", timeout_s)
    lines = [f"Lecteur de codes-barres : {state.state}."]
    if state.advice:
        lines.append(state.advice)
    if not scan_wait_s or state.kind == KIND_NONE or not state.ok:
        if state.ok and state.kind != KIND_NONE:
            lines.append("Pour tester une lecture : kiosk hw test scanner --wait")
        return TestResult(state.ok, lines)

    if say is not None:  # what is known so far, before the prompt; not repeated in the result
        for line in lines:
            say(line)
        lines = []
    say = say or (lambda line: None)
    scans: queue.Queue[ScanResult] = queue.Queue()
    scanner = _bounded(lambda: till.open_scanners(scans.put), timeout_s)
    try:
        _bounded(lambda: _settled_names(scanner), timeout_s)
        say(f"Lecteur de codes-barres : scannez un code-barres dans les {scan_wait_s} secondes…")
        try:
            result = scans.get(timeout=scan_wait_s)
        except queue.Empty:
            lines.append(
                f"Aucun code lu en {scan_wait_s} secondes : vérifiez que le lecteur est branché, qu'il "
                "envoie Entrée après le code, puis réessayez."
            )
            return TestResult(False, lines)
    finally:
        scanner.close()
    if result.error is not None:
        lines.append(f"Lecture en erreur : {result.error.message}")
        return TestResult(False, lines)
    lines.append(f"Code lu : {result.code} (lecteur « {result.device} »).")
    return TestResult(True, lines)


COMMANDS = ("hw",)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hw = sub.add_parser("hw", help="diagnostic des appareils").add_subparsers(dest="action", required=True)
    hw_list = hw.add_parser("list", help="appareils configurés, ouverts, et leur état")
    hw_list.add_argument("--json", action="store_true")
    hw_test = hw.add_parser("test", help="teste un appareil (tous sans argument)")
    hw_test.add_argument(
        "device", nargs="?", help="printer, drawer, scanner, display, scale ou payment (défaut : tous)"
    )
    hw_test.add_argument("--wait", action="store_true", help="lecteur : attend un scan pendant 10 secondes")


def run(till, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    return _hw_list(till, args.json) if args.action == "list" else _hw_test(till, args.device, args.wait)


def _hw_list(till, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    import json

    states = list_devices(till)
    if as_json:
        print(json.dumps([state.as_dict() for state in states], ensure_ascii=False, indent=2))
    else:
        header = ("Appareil", "Configuré", "Ouvert comme", "OK", "État")
        rows = [
            (
                s.name,
                s.configured,
                f"{s.opened} ({s.kind})" if s.opened else "-",
                "oui" if s.ok else "NON",
                s.state,
            )
            for s in states
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
        for row in (header, *rows):
            print(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
            )
        for state in states:
            if state.advice:
                print(f"{state.name} : {state.advice}")
    return 0 if all(state.ok for state in states) else 1


def _hw_test(till, device: str | None, wait: bool) -> int:  # type: ignore[no-untyped-def]
    import getpass

    names = list(DEVICES) if device is None else [device.strip().lower()]
    if names[0] not in DEVICES:
        print(UnknownDevice(device or "").message, file=sys.stderr)
        return 2
    try:
        operator = f"ssh:{getpass.getuser()}"
    except (KeyError, OSError):
        operator = "ssh"
    failed = []
    for name in names:
        print(f"== {LABELS[name]} ({name}) ==", flush=True)
        result = test_device(
            till,
            name,
            operator=operator,
            scan_wait_s=SCAN_WAIT_S if wait else None,
            say=lambda line: print(line, flush=True),
        )
        for line in result.lines:
            print(f"  {line}")
        print(f"  -> {'réussi' if result.ok else 'ÉCHEC'}", flush=True)
        if not result.ok:
            failed.append(LABELS[name])
    if len(names) > 1:
        print(f"En échec : {', '.join(failed)}." if failed else "Tous les appareils testés ont réussi.")
    return 1 if failed else 0
