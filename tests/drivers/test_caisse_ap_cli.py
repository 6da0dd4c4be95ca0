"""`kiosk hw test payment`, `kiosk hw list` and `kiosk config check` with a Caisse-AP terminal, through the
`kiosk` command in a subprocess: the simulated terminal, and the real driver against a terminal server
listening on 127.0.0.1 in this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.caisse_ap_sim import CaisseApServer
from kiosk.demo.shop import SIMULATED_DEVICES

pytestmark = pytest.mark.timeout(120)

KIOSK = [sys.executable, "-m", "kiosk"]
SIMULATED_CONCERT = '[devices.payment]\nbackend = "simulated"'


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=100)


def shop(tmp_path: Path, payment: str) -> Path:
    """A data directory whose devices are all simulated but the payment terminal, set to `payment`."""
    assert SIMULATED_CONCERT in SIMULATED_DEVICES
    data = tmp_path / "shop"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES.replace(SIMULATED_CONCERT, payment))
    return data


@pytest.fixture
def server() -> Iterator[CaisseApServer]:
    terminal = CaisseApServer("ok", think_time=0).start()
    yield terminal
    terminal.stop()


def test_hw_test_payment_runs_a_whole_exchange_with_the_simulated_terminal(tmp_path: Path) -> None:
    data = shop(tmp_path, '[devices.payment]\nprotocol = "caisse-ap"\nbackend = "simulated"')
    tested = run(data, "hw", "test", "payment")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "simulé, Caisse-AP, joignable sur 127.0.0.1:" in tested.stdout
    assert (
        "échange Caisse-AP complet avec le terminal simulé, paiement test de 0,01 € accepté" in tested.stdout
    )
    assert "-> réussi" in tested.stdout and "Traceback" not in tested.stderr


def test_hw_test_and_list_reach_a_real_terminal_without_sending_anything(
    tmp_path: Path, server: CaisseApServer
) -> None:
    data = shop(
        tmp_path,
        f'[devices.payment]\nprotocol = "caisse-ap"\nbackend = "terminal"\nhost = "127.0.0.1"\nport = {server.port}',
    )
    tested = run(data, "hw", "test", "payment")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"Caisse-AP, joignable sur 127.0.0.1:{server.port}" in tested.stdout
    assert "rien n'a été envoyé au terminal" in tested.stdout
    listed = run(data, "hw", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"terminal (caisse-ap; 127.0.0.1; {server.port})" in listed.stdout
    assert "CaisseApTerminal (réel)" in listed.stdout
    assert server.log.raw_requests == []  # no payment was ever asked of the terminal


def test_hw_test_payment_fails_in_french_when_the_terminal_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # released at once: nobody listens there
    data = shop(
        tmp_path,
        f'[devices.payment]\nprotocol = "caisse-ap"\nbackend = "terminal"\nhost = "127.0.0.1"\nport = {port}',
    )
    tested = run(data, "hw", "test", "payment")
    assert tested.returncode == 1
    assert "Terminal injoignable : vérifiez le câble réseau" in tested.stdout
    assert "devices.payment.host et devices.payment.port" in tested.stdout
    assert "ÉCHEC" in tested.stdout and "Traceback" not in tested.stderr


def test_config_check_knows_the_caisse_ap_keys_and_names_a_wrong_one(tmp_path: Path) -> None:
    good = '[devices.payment]\nprotocol = "caisse-ap"\nbackend = "terminal"\nhost = "192.168.1.50"\nport = 8888\npos = "02"\nconnect_timeout = 3\nticket = true'
    assert run(shop(tmp_path, good), "config", "check").returncode == 0
    (tmp_path / "shop" / "kiosk.toml").write_text(good.replace('protocol = "caisse-ap"', 'protocol = "ip"'))
    checked = run(tmp_path / "shop", "config", "check")
    assert checked.returncode != 0
    assert "devices.payment.protocol" in checked.stderr + checked.stdout
