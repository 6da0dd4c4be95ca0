"""Cash drawer: opened by a GPIO pulse, by the receipt printer's kick connector, or not at all.

Opening blocks for the pulse length; callers run it in a worker thread.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping
from typing import Any, Protocol

from gpiozero import Button, Device, OutputDevice
from gpiozero.exc import BadPinFactory, GPIOZeroError
from gpiozero.pins import Factory, Pin
from gpiozero.pins.mock import MockFactory

from drivers.errors import DeviceError
from drivers.printer import Printer, PrinterError, kick_bytes
from drivers.settings import Settings


class DrawerError(DeviceError):
    """A drawer failure, with a message for the cashier saying what to do."""


class Drawer(Protocol):
    def open(self) -> None: ...

    def is_open(self) -> bool | None:
        """True/False from the drawer's sensor, None when there is no sensor."""
        ...

    def close(self) -> None:
        """Release the hardware."""
        ...


class GpioDrawer:
    """A drawer solenoid driven through a GPIO pin (and a transistor or relay board).

    The optional sensor is a switch to ground that is closed while the drawer is shut: with the
    pull-up, a high pin means open.
    """

    def __init__(
        self,
        pin: int,
        pulse_ms: int = 200,
        active_high: bool = True,
        sensor_pin: int | None = None,
        pin_factory: Factory | None = None,
    ):
        if isinstance(pulse_ms, bool) or not isinstance(pulse_ms, int) or not 1 <= pulse_ms <= 5000:
            raise ValueError(f"pulse_ms must be 1 to 5000, not {pulse_ms!r}")
        self.pulse_ms = pulse_ms
        self._lock = threading.Lock()
        self._sensor: Button | None = None
        try:
            self._output = OutputDevice(
                pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
            )
            if sensor_pin is not None:
                self._sensor = Button(sensor_pin, pull_up=True, pin_factory=pin_factory)
        except BadPinFactory as exc:
            raise DrawerError(
                "Tiroir-caisse inutilisable : cet appareil n'a pas de broches GPIO. "
                "Choisissez un tiroir branché sur l'imprimante, simulé ou aucun tiroir dans la configuration."
            ) from exc
        except GPIOZeroError as exc:
            self.close()
            pins = str(pin) if sensor_pin is None else f"{pin} ou {sensor_pin}"
            raise DrawerError(
                f"Tiroir-caisse inutilisable : broche GPIO {pins} indisponible ({exc}). "
                "Vérifiez les numéros de broche dans la configuration du tiroir."
            ) from exc

    @property
    def pin(self) -> Pin:
        """The output pin (a MockPin on a MockFactory, whose `states` record the pulses)."""
        return self._output.pin

    @property
    def sensor(self) -> Pin | None:
        return self._sensor.pin if self._sensor is not None else None

    def open(self) -> None:
        with self._lock:
            try:
                self._output.on()
                try:
                    time.sleep(self.pulse_ms / 1000)
                finally:
                    self._output.off()
            except GPIOZeroError as exc:
                raise DrawerError(
                    f"Le tiroir-caisse ne s'est pas ouvert ({exc}) : ouvrez-le à la clé et prévenez le responsable."
                ) from exc

    def is_open(self) -> bool | None:
        if self._sensor is None:
            return None
        return not self._sensor.is_pressed

    def close(self) -> None:
        for device in (getattr(self, "_output", None), self._sensor):
            if device is not None:
                device.close()


class PrinterKickDrawer:
    """A drawer plugged into the receipt printer's RJ11 kick connector (pin 2 or 5)."""

    def __init__(self, printer: Printer, pin: int = 2, pulse_ms: int = 100):
        kick_bytes(pin, pulse_ms)  # ValueError now, not at the first sale
        self.printer = printer
        self.kick_pin = pin
        self.pulse_ms = pulse_ms

    def open(self) -> None:
        try:
            self.printer.kick_drawer(self.kick_pin, self.pulse_ms)
        except PrinterError as exc:
            raise DrawerError(f"Le tiroir-caisse ne s'est pas ouvert. {exc.message}") from exc

    def is_open(self) -> bool | None:
        return None

    def close(self) -> None:
        pass


class NoDrawer:
    """No cash drawer: opening does nothing."""

    def open(self) -> None:
        pass

    def is_open(self) -> bool | None:
        return None

    def close(self) -> None:
        pass


def simulated_drawer(
    pin: int = 17, pulse_ms: int = 200, active_high: bool = True, sensor_pin: int | None = None
) -> GpioDrawer:
    """A GpioDrawer on its own MockFactory: real gpiozero pulse code, mock pins (`drawer.pin.states`)."""
    return GpioDrawer(pin, pulse_ms, active_high, sensor_pin, pin_factory=MockFactory())


def _real_pin_factory_available() -> bool:
    """True on a Raspberry Pi; installs gpiozero's default factory as gpiozero itself would."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpiozero warns about every factory it could not load
            Device.ensure_pin_factory()
    except (GPIOZeroError, ImportError, OSError):
        return False
    return not isinstance(Device.pin_factory, MockFactory)


_BACKENDS = ("auto", "gpio", "printer", "none", "simulated")
_KEYS = {"backend", "pin", "pulse_ms", "active_high", "sensor_pin", "kick_pin"}


def open_drawer(cfg: Mapping[str, Any], printer: Printer | None) -> Drawer:
    """Build the drawer described by `cfg` (the devices.drawer section).

    "auto" drives the GPIO pin on a Raspberry Pi and a simulated drawer elsewhere.
    """
    settings = Settings("du tiroir-caisse", cfg, _KEYS, DrawerError)
    backend = settings.choice("backend", "auto", _BACKENDS)
    gpio = "un numéro de broche GPIO BCM de 0 à 27"
    pin = settings.integer("pin", 17, 0, 27, gpio)
    pulse_ms = settings.integer("pulse_ms", 200, 20, 2000, "une durée en millisecondes de 20 à 2000")
    sensor_pin = settings.optional_integer("sensor_pin", 0, 27, gpio)
    kick_pin = settings.choice("kick_pin", 2, (2, 5), "2 ou 5")
    active_high = settings.flag("active_high", True)

    if backend == "none":
        return NoDrawer()
    if backend == "printer":
        if printer is None:
            raise DrawerError(
                "Le tiroir-caisse est branché sur l'imprimante, mais aucune imprimante n'est configurée : "
                "configurez l'imprimante ou changez le type de tiroir."
            )
        if pulse_ms > 510:
            raise settings.bad("pulse_ms", pulse_ms, "au plus 510 ms pour un tiroir branché sur l'imprimante")
        return PrinterKickDrawer(printer, kick_pin, pulse_ms)
    if backend == "simulated" or (backend == "auto" and not _real_pin_factory_available()):
        return simulated_drawer(pin, pulse_ms, active_high, sensor_pin)
    return GpioDrawer(pin, pulse_ms, active_high, sensor_pin)
