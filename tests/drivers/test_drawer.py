"""Cash drawer backends, with gpiozero's MockFactory standing in for the Raspberry Pi pins."""

import threading

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

import drivers.drawer
from drivers.drawer import (
    DrawerError,
    GpioDrawer,
    NoDrawer,
    PrinterKickDrawer,
    open_drawer,
    simulated_drawer,
)
from drivers.printer import SimulatedPrinter

KICK_PIN2 = b"\x1bp\x00\x32\x32"
KICK_PIN5 = b"\x1bp\x01\x32\x32"


def states(pin):
    return [s.state for s in pin.states]


def test_pulse_goes_high_then_low_for_pulse_ms():
    drawer = simulated_drawer(pin=17, pulse_ms=60)
    drawer.pin.clear_states()
    drawer.open()
    assert states(drawer.pin) == [False, True, False]
    assert 0.06 <= drawer.pin.states[2].timestamp < 0.06 + 0.1
    drawer.close()


def test_active_low_pulse_is_inverted():
    drawer = simulated_drawer(pulse_ms=30, active_high=False)
    assert drawer.pin.state is True  # idle high: the solenoid is off
    drawer.pin.clear_states()
    drawer.open()
    assert states(drawer.pin) == [True, False, True]
    assert drawer.pin.states[2].timestamp >= 0.03


def test_concurrent_opens_do_not_overlap():
    drawer = simulated_drawer(pulse_ms=30)
    drawer.pin.clear_states()
    threads = [threading.Thread(target=drawer.open) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states(drawer.pin) == [False, True, False, True, False]


def test_sensor():
    drawer = simulated_drawer(sensor_pin=27)
    drawer.sensor.drive_low()  # switch closed: drawer shut
    assert drawer.is_open() is False
    drawer.sensor.drive_high()
    assert drawer.is_open() is True
    assert simulated_drawer().is_open() is None


def test_simulated_drawers_have_their_own_factory():
    before = Device.pin_factory
    first, second = simulated_drawer(pin=17), simulated_drawer(pin=17)  # no "pin in use" between them
    assert first.pin is not second.pin
    assert Device.pin_factory is before


def test_close_releases_the_pins():
    factory = MockFactory()
    drawer = GpioDrawer(17, sensor_pin=27, pin_factory=factory)
    with pytest.raises(DrawerError, match="broche GPIO 17"):
        GpioDrawer(17, pin_factory=factory)
    drawer.close()
    GpioDrawer(17, sensor_pin=27, pin_factory=factory).close()


def test_invalid_pin_and_pulse():
    with pytest.raises(DrawerError, match="Vérifiez"):
        GpioDrawer(99, pin_factory=MockFactory())
    with pytest.raises(ValueError):
        GpioDrawer(17, pulse_ms=0, pin_factory=MockFactory())


def test_printer_kick_drawer(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    PrinterKickDrawer(printer).open()
    PrinterKickDrawer(printer, 5).open()
    assert printer.kicks == 2
    assert (tmp_path / "drawer.log").read_bytes() == KICK_PIN2 + KICK_PIN5
    assert PrinterKickDrawer(printer).is_open() is None
    with pytest.raises(ValueError):
        PrinterKickDrawer(printer, 3)


def test_printer_kick_drawer_reports_offline_printer(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.online = False
    with pytest.raises(DrawerError, match="hors ligne"):
        PrinterKickDrawer(printer).open()


def test_no_drawer():
    drawer = NoDrawer()
    drawer.open()
    assert drawer.is_open() is None


def test_open_drawer_backends(tmp_path, monkeypatch):
    printer = SimulatedPrinter(tmp_path)
    assert isinstance(open_drawer({"backend": "none"}, printer), NoDrawer)
    kick = open_drawer({"backend": "printer", "kick_pin": 5}, printer)
    assert isinstance(kick, PrinterKickDrawer) and kick.kick_pin == 5
    simulated = open_drawer({"backend": "simulated", "pin": 22, "pulse_ms": 50, "sensor_pin": 23}, None)
    assert isinstance(simulated, GpioDrawer)
    assert simulated.pin.info.name == "GPIO22" and simulated.pulse_ms == 50 and simulated.is_open() is True

    monkeypatch.setattr(drivers.drawer, "_real_pin_factory_available", lambda: False)
    auto = open_drawer({"backend": "auto"}, None)
    assert isinstance(auto.pin.factory, MockFactory)

    global_factory = MockFactory()
    monkeypatch.setattr(Device, "pin_factory", global_factory)
    gpio = open_drawer({"backend": "gpio", "pin": 5, "active_high": False}, None)
    assert gpio.pin.factory is global_factory
    assert gpio.pin.state is True


def test_auto_without_gpio_is_simulated():
    # This machine (CI, a laptop) has no Raspberry Pi GPIO: auto must still give a working drawer.
    if drivers.drawer._real_pin_factory_available():
        pytest.skip("real GPIO here")
    drawer = open_drawer({"backend": "auto"}, None)
    assert isinstance(drawer.pin.factory, MockFactory)


def test_printer_backend_needs_a_printer():
    with pytest.raises(DrawerError, match="imprimante"):
        open_drawer({"backend": "printer"}, None)


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "relay"}, "backend"),
        ({"backend": "simulated", "pin": 40}, "pin"),
        ({"backend": "simulated", "pulse_ms": 5}, "pulse_ms"),
        ({"backend": "simulated", "sensor_pin": "27"}, "sensor_pin"),
        ({"backend": "printer", "kick_pin": 3}, "kick_pin"),
        ({"backend": "simulated", "active_high": "yes"}, "active_high"),
        ({"backend": "none", "colour": "red"}, "colour"),
    ],
)
def test_open_drawer_names_the_bad_key(cfg, key):
    with pytest.raises(DrawerError, match=f"« {key} »"):
        open_drawer(cfg, None)


def test_printer_drawer_kicks_for_the_configured_pulse(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    drivers.drawer.open_drawer({"backend": "printer", "kick_pin": 5, "pulse_ms": 200}, printer).open()
    drivers.drawer.open_drawer({"backend": "printer", "pulse_ms": 60}, printer).open()
    assert (tmp_path / "drawer.log").read_bytes() == b"\x1bp\x01\x64\x64" + b"\x1bp\x00\x1e\x1e"
    with pytest.raises(DrawerError, match="« pulse_ms » vaut 600"):
        drivers.drawer.open_drawer({"backend": "printer", "pulse_ms": 600}, printer)
