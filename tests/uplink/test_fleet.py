"""Fleet status and signed commands against a real Mosquitto."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def read_retained(port: int, topic: str, timeout: float = 10.0) -> dict[str, Any] | None:
    """The retained message of `topic` (None when there is none).

    The broker sends retained messages as it handles the SUBSCRIBE; a probe published after the SUBACK
    comes back after them, so when the probe arrives nothing retained is left to come."""
    probe = f"probe/{uuid.uuid4().hex}"
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *args: c.subscribe([(topic, 1), (probe, 1)])
    client.on_subscribe = lambda c, *args: c.publish(probe, b"", qos=1)

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == probe:
            done.set()
        else:
            got.append(bytes(message.payload))

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(timeout)
    client.loop_stop()
    client.disconnect()
    return json.loads(got[-1]) if got else None


# -- signed commands ------------------------------------------------------------------------------
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from kiosk.cli.main import main  # noqa: E402
from kiosk.demo.simulation import simulate_sales  # noqa: E402
from kiosk.till import Till  # noqa: E402
from kiosk.uplink.commands import sign_command  # noqa: E402
from kiosk.uplink.fleet import keygen, load_private_key, send_command, send_raw  # noqa: E402
from kiosk.uplink.publisher import Publisher  # noqa: E402
from kiosk.uplink.settings import UplinkSettings  # noqa: E402
from tests.support.broker import Broker, broker, open_uplink_till, uplink_toml, wait_until  # noqa: E402

__all__ = ["broker"]


@pytest.fixture
def fleet_key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    public = keygen(tmp_path / "fleet" / "fleet-ed25519.pem")
    return load_private_key(tmp_path / "fleet" / "fleet-ed25519.pem"), public


@pytest.fixture
def running(tmp_path: Path, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]) -> Iterator[Till]:
    till = open_uplink_till(tmp_path / "t", broker.port, extra=f'fleet_public_key = "{fleet_key[1]}"\n')
    till.start()
    publisher = Publisher(till)
    publisher.start()
    wait_until(publisher.connected.is_set, what="till connected")
    yield till
    publisher.stop()
    till.db.close()


def fleet_settings(broker: Broker) -> UplinkSettings:
    return UplinkSettings(shop="S001", till="fleet", host="127.0.0.1", port=broker.port)


def jet(till: Till, code: str) -> list[dict[str, Any]]:
    rows = till.db.execute_sql(
        "SELECT body FROM fiscal_record WHERE journal = 'JET' AND rtype = ? ORDER BY seq", (code,)
    ).fetchall()
    return [json.loads(row[0])["details"] for row in rows]


def test_signed_ping_is_answered_and_journaled(
    running: Till, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    result = send_command(fleet_settings(broker), fleet_key[0], "S001", "T01", "ping")
    assert result is not None and result["ok"] is True and result["result"]["pong"] is True
    journaled = jet(running, "FLEET_COMMAND")
    assert [(j["cmd"], j["id"]) for j in journaled] == [("ping", result["id"])]


def test_report_x_returns_the_day_totals(
    running: Till, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    summary = simulate_sales(running, 3)
    result = send_command(fleet_settings(broker), fleet_key[0], "S001", "T01", "report-x")
    assert result is not None and result["ok"] is True
    assert result["result"]["report"] == "X" and result["result"]["totals"]["net"] == summary.total


def test_set_config_is_validated_then_written(
    running: Till, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    settings = fleet_settings(broker)
    bad = send_command(
        settings, fleet_key[0], "S001", "T01", "set-config", {"key": "cash.presets", "value": "x"}
    )
    assert bad is not None and bad["ok"] is False and "cash.presets" in bad["error"]
    good = send_command(
        settings, fleet_key[0], "S001", "T01", "set-config", {"key": "cash.presets", "value": [200, 500]}
    )
    assert good is not None and good["ok"] is True
    reopened = Till.open(running.data_dir)
    assert reopened.config.cash.presets == (200, 500)
    assert reopened.config.uplink.enabled is True  # the rest of the file kept
    reopened.db.close()


def test_forged_unsigned_expired_replayed_and_malformed_commands_are_refused(
    running: Till, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    settings = fleet_settings(broker)
    config_file = running.data_dir / "kiosk.toml"
    before = config_file.read_text("utf-8")
    change = {"key": "cash.presets", "value": [100]}

    forger = Ed25519PrivateKey.generate()
    forged = send_command(settings, forger, "S001", "T01", "set-config", change)
    assert forged is not None and forged["reason"] == "bad_signature"

    command_id, signed = sign_command(fleet_key[0], "S001", "T01", "set-config", change)
    body = json.loads(signed)["body"]
    unsigned = send_raw(settings, "S001", "T01", json.dumps({"body": body}).encode(), command_id)
    assert unsigned is not None and unsigned["reason"] == "unsigned"

    tampered_body = body.replace("[100]", "[999]")
    tampered = json.dumps({"body": tampered_body, "sig": json.loads(signed)["sig"]}).encode()
    result = send_raw(settings, "S001", "T01", tampered, command_id)
    assert result is not None and result["reason"] == "bad_signature"

    old_id, old = sign_command(
        fleet_key[0], "S001", "T01", "set-config", change, now=datetime.now(UTC) - timedelta(hours=1)
    )
    expired = send_raw(settings, "S001", "T01", old, old_id)
    assert expired is not None and expired["reason"] == "expired"

    other_id, other_till = sign_command(fleet_key[0], "S001", "T02", "set-config", change)
    misdirected = send_raw(settings, "S001", "T01", other_till, other_id)
    assert misdirected is not None and misdirected["reason"] == "wrong_till"

    malformed = send_raw(settings, "S001", "T01", b"{not json", "corr-1")  # answered by correlation data
    assert malformed is not None and malformed["reason"] == "malformed" and "illisible" in malformed["error"]
    assert config_file.read_text("utf-8") == before  # nothing executed

    ping_id, ping = sign_command(fleet_key[0], "S001", "T01", "ping")
    first = send_raw(settings, "S001", "T01", ping, ping_id)
    replay = send_raw(settings, "S001", "T01", ping, ping_id)
    assert first is not None and first["ok"] is True
    assert replay is not None and replay["reason"] == "replayed" and "rejeu" in replay["error"]

    def all_journaled() -> bool:
        return len(jet(running, "FLEET_COMMAND_REJECTED")) == 7

    wait_until(all_journaled, what="the malformed command journaled")
    reasons = [j["reason"] for j in jet(running, "FLEET_COMMAND_REJECTED")]
    assert reasons == [
        "bad_signature",
        "unsigned",
        "bad_signature",
        "expired",
        "wrong_till",
        "malformed",
        "replayed",
    ]
    assert [j["cmd"] for j in jet(running, "FLEET_COMMAND")] == ["ping"]


def test_fleet_status_lists_the_till_and_its_death_when_the_process_dies(
    tmp_path: Path, broker: Broker
) -> None:
    data = tmp_path / "t"
    open_uplink_till(data, broker.port).db.close()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--data-dir", str(data), "uplink", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def online() -> bool:
            status = read_retained(broker.port, "till/S001/T01/status")
            return status is not None and status["online"] is True

        wait_until(online, what="birth certificate")
        status = read_retained(broker.port, "till/S001/T01/status")
        assert status is not None and "TICKET" not in status["chain_head"]["journals"]
        assert status["chain_head"]["journals"]["JET"]["seq"] >= 1
        config = tmp_path / "fleet.toml"
        config.write_text(uplink_toml(broker.port), "utf-8")
        out = _run_cli(["--config", str(config), "fleet", "status"], tmp_path)
        assert "S001/T01" in out and "en ligne" in out
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def dead() -> bool:
        status = read_retained(broker.port, "till/S001/T01/status")
        return status is not None and status["online"] is False

    wait_until(dead, what="last will")
    status = read_retained(broker.port, "till/S001/T01/status")
    assert status is not None and status["reason"] == "lost" and status["bdseq"] == 0
    out = _run_cli(["--config", str(config), "fleet", "status"], tmp_path)
    assert "HORS LIGNE" in out


def _run_cli(argv: list[str], tmp_path: Path) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["--data-dir", str(tmp_path / "fleet-data"), *argv])
    assert code == 0, buffer.getvalue()
    return buffer.getvalue()


def test_a_till_on_mqtt_3_1_1_sends_and_answers(
    tmp_path: Path, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    """A broker that speaks only MQTT 3.1.1: no session expiry nor correlation data, same guarantees."""
    import threading as _threading

    from kiosk.uplink import outbox
    from kiosk.uplink.ingest import Ingest, open_store

    till = open_uplink_till(
        tmp_path / "t", broker.port, extra=f'fleet_public_key = "{fleet_key[1]}"\nmqtt_version = 311\n'
    )
    till.start()
    settings = UplinkSettings(shop="S001", till="-", host="127.0.0.1", port=broker.port, mqtt_version=311)
    ingest = Ingest(settings, open_store(f"sqlite:{tmp_path / 'portal.sqlite'}"), "S001")
    thread = _threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    publisher = Publisher(till)
    publisher.start()
    try:
        simulate_sales(till, 2)
        wait_until(lambda: outbox.backlog(till.db.connection()).events == 0, what="outbox drained")
        fleet = UplinkSettings(
            shop="S001", till="fleet", host="127.0.0.1", port=broker.port, mqtt_version=311
        )
        result = send_command(fleet, fleet_key[0], "S001", "T01", "ping")
        assert result is not None and result["ok"] is True
    finally:
        publisher.stop()
        ingest.stop()
        thread.join(10)
    sales = ingest.store.conn.execute("SELECT COUNT(*) FROM uplink_event WHERE type = 'sale'").fetchone()[0]  # type: ignore[attr-defined]
    assert sales == 2
    ingest.store.close()
    till.db.close()


def test_archive_jet_extract_reload_and_restart_commands(
    running: Till, broker: Broker, fleet_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    settings = fleet_settings(broker)
    key = fleet_key[0]
    simulate_sales(running, 2)
    today = running.clock().date().isoformat()
    archive = send_command(settings, key, "S001", "T01", "archive", {"period": today})
    assert archive is not None, "no answer"
    assert archive["ok"] is True and len(archive["result"]["sha256"]) == 64
    assert Path(archive["result"]["path"]).exists()
    archived = running.db.execute_sql(
        "SELECT COUNT(*) FROM fiscal_record WHERE journal = 'ARCHIVE'"
    ).fetchone()[0]
    assert archived == 1  # recorded in the ARCHIVE journal like one made on the till
    extract = send_command(settings, key, "S001", "T01", "jet-extract", {"since": 0})
    assert extract is not None and extract["ok"] is True
    codes = [record["rtype"] for record in extract["result"]]
    assert "START" in codes and "FLEET_COMMAND" in codes
    bad = send_command(settings, key, "S001", "T01", "jet-extract", {"since": "x"})
    assert bad is not None and bad["ok"] is False and "Paramètres invalides" in bad["error"]
    reload = send_command(settings, key, "S001", "T01", "reload-catalogue")
    assert reload is not None and reload["ok"] is True and "articles" in reload["result"]["message"]
    restart = send_command(settings, key, "S001", "T01", "restart")
    assert restart is not None and restart["ok"] is False and "superviseur" in restart["error"]
    journaled = [j["cmd"] for j in jet(running, "FLEET_COMMAND")]
    assert journaled == ["archive", "jet-extract", "jet-extract", "reload-catalogue", "restart"]


def test_fleet_watch_shows_the_tills_live(tmp_path: Path, broker: Broker, running: Till) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(uplink_toml(broker.port), "utf-8")
    argv = [sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "f"), "--config", str(config)]
    env = dict(os.environ, COLUMNS="160", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [*argv, "fleet", "watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    seen = b""
    watchdog = threading.Timer(60, proc.kill)  # a watch that never shows the till fails, not hangs
    watchdog.start()
    try:
        assert proc.stdout is not None
        while b"S001/T01" not in seen:
            chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            seen += chunk
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
    assert b"S001/T01" in seen and b"en ligne" in seen
    assert code == 0


def test_a_command_that_breaks_on_the_till_still_answers(tmp_path: Path) -> None:
    import sqlite3

    from kiosk.uplink.commands import CommandRunner

    key = Ed25519PrivateKey.generate()
    till = open_uplink_till(tmp_path / "t", 1883)
    conn = sqlite3.connect(tmp_path / "t" / "kiosk.sqlite", isolation_level=None)

    def broken() -> str:
        raise RuntimeError("catalogue file missing")

    runner = CommandRunner(till, key.public_key(), "S001", "T01", reload_catalogue=broken)
    _, message = sign_command(key, "S001", "T01", "reload-catalogue")
    result = runner.handle(conn, message)
    assert result["ok"] is False and result["error"].startswith("Échec de la commande sur la caisse")
    assert [j["cmd"] for j in jet(till, "FLEET_COMMAND")] == ["reload-catalogue"]  # journaled before it ran
    conn.close()
    till.db.close()
