"""A real Mosquitto for the uplink tests, on a free port, configured per test; PostgreSQL schemas."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.till import Till

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until `predicate()` is true (a generous bound so that a slow machine never fails a test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Broker:
    def __init__(self, workdir: Path, extra: str = ""):
        self.workdir = workdir
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            f"log_dest file {workdir / 'mosquitto.log'}\n"
            + ("user root\n" if os.geteuid() == 0 else "")  # as root it would switch to "mosquitto"
            + (extra or "allow_anonymous true\n"),
            "utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"mosquitto failed: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not listen") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    workdir = tmp_path / "broker"
    workdir.mkdir()
    instance = Broker(workdir)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def pg_url() -> Iterator[tuple[str, str]]:
    """(DSN, schema): a fresh PostgreSQL schema per test, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    schema = f"uplink_test_{uuid.uuid4().hex[:12]}"
    yield PG_DSN, schema
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def uplink_toml(port: int, till: str = "T01", extra: str = "") -> str:
    return (
        SIMULATED_DEVICES
        + f'[till]\nid = "{till}"\n'
        + f'[uplink]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\nack_timeout_s = 2\nreconnect_max_s = 1\n'
        + "status_interval_s = 1\n"
        + extra
    )


def open_uplink_till(data_dir: Path, port: int, till: str = "T01", extra: str = "") -> Till:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "kiosk.toml").write_text(uplink_toml(port, till, extra), "utf-8")
    opened = Till.open(data_dir)
    init_demo(opened)
    return opened
