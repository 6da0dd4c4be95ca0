"""`kiosk hw list` / `kiosk hw test`: the technician's device diagnostics, on demo tills whose devices are
all simulated, then through the `kiosk` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.display import fit
from drivers.printer import OFFLINE_MESSAGE, PAPER_OUT_MESSAGE, SimulatedPrinter, fold
from drivers.scanner import ScanResult, SimulatedScanner
from kiosk.cli import hardware
from kiosk.demo.shop import SIMULATED_DEVICES, open_demo_till
from kiosk.till import Till

KIOSK = [sys.executable, "-m", "kiosk"]
NOW = datetime(2025, 3, 7, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    till = open_demo_till(tmp_path / "shop", clock=lambda: NOW)
    yield till
    for name in ("scale", "terminal", "drawer"):
        device = till.__dict__.get(name)  # only what a test opened (cached properties)
        if device is not None:
            device.close()
    till.db.close()


def jet_events(till: Till, code: str) -> list[str]:
    rows = till.db.execute_sql("SELECT body FROM fiscal_record WHERE journal = 'JET' AND rtype = ?", (code,))
    return [row[0] for row in rows]


# -- list


def test_list_shows_all_six_devices_with_their_state(till: Till) -> None:
    states = hardware.list_devices(till)
    assert [s.device for s in states] == list(hardware.DEVICES)
    assert [s.name for s in states] == [
        "Imprimante",
        "Tiroir-caisse",
        "Lecteur de codes-barres",
        "Afficheur client",
        "Balance",
        "Terminal de paiement",
    ]
    assert all(s.ok and s.configured == "simulated" and s.kind == "simulé" for s in states), states
    by_device = {s.device: s for s in states}
    assert by_device["printer"].opened == "SimulatedPrinter"
    assert by_device["printer"].state.startswith("prête")
    assert "sans capteur d'ouverture" in by_device["drawer"].state
    assert "Lecteur simulé" in by_device["scanner"].state
    assert by_device["display"].state == "prêt"
    assert by_device["scale"].state == "répond : 0,350 kg"
    assert "présent" in by_device["payment"].state
    # Listing changes nothing: no job, no pulse, no payment request.
    assert isinstance(till.printer, SimulatedPrinter) and till.printer.jobs == 0
    assert [s.state for s in till.drawer.pin.states] == [False]  # type: ignore[attr-defined]
    assert till.terminal.peer.log.requests == []  # type: ignore[attr-defined]


def test_list_reports_paper_out_and_offline(till: Till) -> None:
    printer = till.printer
    assert isinstance(printer, SimulatedPrinter)
    printer.paper = "out"
    state = hardware.device_state(till, "printer")
    assert (state.ok, state.advice) == (False, PAPER_OUT_MESSAGE)
    assert state.state.startswith("plus de papier")
    printer.paper, printer.online = "ok", False
    state = hardware.device_state(till, "printer")
    assert (state.ok, state.state, state.advice) == (False, "hors ligne", OFFLINE_MESSAGE)


def test_a_device_that_hangs_is_reported_not_waited_for(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck() -> None:
        release.wait(10)

    monkeypatch.setattr(till.printer, "status", stuck)
    try:
        started = time.monotonic()
        state = hardware.device_state(till, "printer", timeout_s=0.2)
        result = hardware.test_device(till, "printer", timeout_s=0.2)
        assert time.monotonic() - started < 2
    finally:
        release.set()
    assert not state.ok and state.state == hardware.TIMED_OUT
    assert not result.ok and hardware.TIMED_OUT in result.lines[0]


def test_an_unexpected_error_is_a_french_line(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(line1: str, line2: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(till.display, "show", broken)
    result = hardware.test_device(till, "display")
    assert not result.ok
    assert result.lines[0].startswith("Afficheur client : Erreur inattendue (RuntimeError : boom)")


def test_unknown_device_names_the_choices(till: Till) -> None:
    with pytest.raises(hardware.UnknownDevice, match="printer, drawer, scanner, display, scale, payment"):
        hardware.test_device(till, "imprimante")


# -- test


def test_printer_test_prints_a_page_with_the_code_page_check(till: Till) -> None:
    result = hardware.test_device(till, "printer")
    assert result.ok, result.lines
    printer = till.printer
    assert isinstance(printer, SimulatedPrinter) and printer.jobs == 1
    assert printer.last_path is not None and printer.last_bytes is not None
    data = printer.last_path.read_bytes()
    assert data == printer.last_bytes
    assert b"\xd5" in data  # € in CP858
    assert fold(hardware.CODEPAGE_LINE).encode("cp858") in data
    assert b"Test d'impression" in data
    assert "Épicerie".encode("cp858") in data  # the shop's name
    assert b"07/03/2025" in data
    assert b"generic-80mm" in data or b"epson-80mm" in data
    assert b"D5" in data  # the expected-bytes line
    text = "\n".join(result.lines)
    assert "0xD5" in text and "contrôle des octets réussi" in text and str(printer.last_path) in text


def test_printer_test_fails_on_paper_out_with_the_french_message(till: Till) -> None:
    printer = till.printer
    assert isinstance(printer, SimulatedPrinter)
    printer.paper = "out"
    result = hardware.test_device(till, "printer")
    assert not result.ok
    assert result.lines[0] == f"Imprimante : {PAPER_OUT_MESSAGE}"
    assert printer.jobs == 0


def test_drawer_test_pulses_and_is_journaled(till: Till) -> None:
    before = len(jet_events(till, "DRAWER_TEST"))
    result = hardware.test_device(till, "drawer", operator="ssh:tech")
    assert result.ok, result.lines
    states = [s.state for s in till.drawer.pin.states]  # type: ignore[attr-defined]
    assert states == [False, True, False]  # high, then low
    events = jet_events(till, "DRAWER_TEST")
    assert len(events) == before + 1
    assert "ssh:tech" in events[-1] and "GpioDrawer" in events[-1]
    assert any("journalisée" in line for line in result.lines)


def test_display_test_shows_the_lines(till: Till) -> None:
    result = hardware.test_device(till, "display")
    assert result.ok, result.lines
    assert till.display.lines == (fit("Test afficheur"), fit("0123456789 € éàç"))  # type: ignore[attr-defined]
    assert "0123456789 EUR eac" in result.lines[0]


def test_scale_test_reads_the_weight(till: Till) -> None:
    result = hardware.test_device(till, "scale")
    assert result.ok, result.lines
    assert "0,350 kg" in result.lines[0]


def test_payment_test_never_starts_a_payment(till: Till) -> None:
    result = hardware.test_device(till, "payment")
    assert result.ok, result.lines
    assert any(hardware.NO_LINK_TEST in line for line in result.lines)
    assert till.terminal.peer.log.requests == []  # type: ignore[attr-defined]


def test_scanner_test_lists_then_waits_for_a_scan(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    result = hardware.test_device(till, "scanner")
    assert result.ok and "Lecteur simulé" in result.lines[0]

    opened: list[SimulatedScanner] = []

    def open_scanners(on_scan: Callable[[ScanResult], None]) -> SimulatedScanner:
        scanner = SimulatedScanner(on_scan)
        scanner.start()
        opened.append(scanner)
        return scanner

    monkeypatch.setattr(till, "open_scanners", open_scanners)
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        if "scannez" in line:
            opened[-1].scan("3017620422003")

    result = hardware.test_device(till, "scanner", scan_wait_s=5, say=say)
    assert result.ok, result.lines
    assert said[-1] == "Lecteur de codes-barres : scannez un code-barres dans les 5 secondes…"
    assert result.lines == ["Code lu : 3017620422003 (lecteur « Lecteur simulé »)."]


# -- the command


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_hw_list_and_test(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES)

    listed = run(data, "hw", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for label in hardware.LABELS.values():
        assert label in listed.stdout
    assert "SimulatedPrinter (simulé)" in listed.stdout and "0,350 kg" in listed.stdout

    as_json = run(data, "hw", "list", "--json")
    assert as_json.returncode == 0
    assert [d["device"] for d in json.loads(as_json.stdout)] == list(hardware.DEVICES)

    tested = run(data, "hw", "test", "printer")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "contrôle des octets réussi" in tested.stdout and "Traceback" not in tested.stderr
    jobs = sorted((data / "printer").glob("*.bin"))
    assert len(jobs) == 1 and b"\xd5" in jobs[0].read_bytes()

    unknown = run(data, "hw", "test", "imprimante")
    assert unknown.returncode == 2
    assert "printer, drawer, scanner, display, scale, payment" in unknown.stderr


def test_cli_exit_1_when_a_configured_device_fails(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    (data / "kiosk.toml").write_text(
        SIMULATED_DEVICES.replace(
            '[devices.payment]\nbackend = "simulated"',
            '[devices.payment]\nbackend = "concert"\nport = "/dev/ttyACM-absent"',
        )
    )
    listed = run(data, "hw", "list")
    assert listed.returncode == 1
    assert "port /dev/ttyACM-absent absent" in listed.stdout
    tested = run(data, "hw", "test", "payment")
    assert tested.returncode == 1 and "ÉCHEC" in tested.stdout
    assert "Traceback" not in tested.stderr
