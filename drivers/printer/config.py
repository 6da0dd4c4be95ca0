"""The devices.printer section of the configuration, turned into a printer by `open_printer`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers.printer.backends import EscposPrinter, SimulatedPrinter
from drivers.printer.profiles import DEFAULT_PROFILE, LEGACY_PROFILES, MODELS, PROFILES, PrinterProfile
from drivers.printer.status import Printer, PrinterOffline
from drivers.printer.transports import OF, TRANSPORT_KEYS, TRANSPORTS, detect, transport
from drivers.settings import Settings

log = logging.getLogger("drivers.printer")

BACKENDS = ("simulated", "auto", *TRANSPORTS)
KEYS = frozenset({"backend", "model", "profile"}) | TRANSPORT_KEYS


def printer_profile(settings: Settings) -> PrinterProfile:
    """The profile that `model` names, or `profile`, its key in earlier configurations.

    `profile` wins when both are there: the till's default.toml now sets `model`, so a `profile` can only
    come from the shop's own (older) configuration file, which must keep printing as it did.
    """
    key = "profile" if "profile" in settings.cfg else "model"
    expected = "un modèle parmi " + ", ".join([*MODELS, *LEGACY_PROFILES])
    name = settings.choice(key, DEFAULT_PROFILE.name, PROFILES, expected)
    return PROFILES[name]


def open_printer(cfg: Mapping[str, Any], data_dir: Path) -> Printer:
    """Build the printer described by `cfg` (the devices.printer section).

    backend "auto" uses the real device that the other keys describe (vendor_id/product_id: USB, host:
    network, port: serial, path: device file) and falls back to a SimulatedPrinter in
    `data_dir/printer` when none is configured or it cannot be reached. Raises ValueError naming the
    wrong key. `model` is a python-escpos model name (TM-T20II, TM-T88V, POS-5890...: see
    `profiles.MODELS`) or one of the earlier profile names (epson-80mm, generic-80mm, generic-58mm).
    """
    settings = Settings(OF, cfg, KEYS, ValueError)
    backend = settings.choice("backend", "auto", BACKENDS)
    profile = printer_profile(settings)
    simulated_dir = Path(data_dir) / "printer"

    if backend == "simulated":
        return SimulatedPrinter(simulated_dir, profile)
    if backend != "auto":
        return EscposPrinter(transport(cfg), profile)

    real = detect(settings)
    if real is None:
        return SimulatedPrinter(simulated_dir, profile)
    printer = EscposPrinter(transport({**cfg, "backend": real}), profile)
    try:
        printer.connect()
    except PrinterOffline as exc:
        log.warning("%s printer unreachable (%s); printing to %s instead", real, exc.message, simulated_dir)
        return SimulatedPrinter(simulated_dir, profile)
    return printer
