"""The broker's ACL (docs/uplink.md): a till may publish only on its own topics."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.demo.simulation import simulate_sales
from kiosk.uplink import outbox
from kiosk.uplink.acl import acl_text
from kiosk.uplink.ingest import Ingest, open_store
from kiosk.uplink.publisher import Publisher
from kiosk.uplink.settings import UplinkSettings
from tests.support.broker import Broker, open_uplink_till, wait_until

USERS = {"S001/T01": "pw-t01", "S001/T02": "pw-t02", "portal": "pw-portal"}


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[Broker]:
    workdir = tmp_path / "broker"
    workdir.mkdir()
    passwords = workdir / "passwd"
    for i, (user, password) in enumerate(USERS.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwords), user, password], check=True)
    (workdir / "acl").write_text(acl_text(), "utf-8")
    broker = Broker(
        workdir, extra=f"allow_anonymous false\npassword_file {passwords}\nacl_file {workdir / 'acl'}\n"
    )
    broker.start()
    yield broker
    broker.stop()


def client(port: int, user: str, password: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_a_till_cannot_publish_on_another_tills_topic(secure_broker: Broker) -> None:
    received: list[str] = []
    marker = threading.Event()
    portal = client(secure_broker.port, "portal", USERS["portal"])

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received.append(f"{message.topic} {message.payload.decode()}")
        if message.payload == b"marker":
            marker.set()

    subscribed = threading.Event()
    portal.on_message = on_message
    portal.on_subscribe = lambda *args: subscribed.set()
    portal.subscribe("till/S001/+/events", 1)
    assert subscribed.wait(10)

    reasons: dict[int, Any] = {}
    t01 = client(secure_broker.port, "S001/T01", USERS["S001/T01"])
    t01.on_publish = lambda c, u, mid, reason, props: reasons.__setitem__(mid, reason)
    forged = t01.publish("till/S001/T02/events", b"forged sale", qos=1)
    forged.wait_for_publish(10)
    own = t01.publish("till/S001/T01/events", b"marker", qos=1)  # same connection: delivered after
    own.wait_for_publish(10)
    assert marker.wait(10)
    assert received == ["till/S001/T01/events marker"]
    wait_until(lambda: forged.mid in reasons, what="PUBACK of the forged message")
    assert reasons[forged.mid].getName() == "Not authorized"
    for c in (t01, portal):
        c.loop_stop()
        c.disconnect()


def test_wrong_password_is_refused(secure_broker: Broker) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set("S001/T01", "wrong")
    refused: list[Any] = []
    done = threading.Event()

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        refused.append(reason)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", secure_broker.port)
    c.loop_start()
    assert done.wait(10)
    c.loop_stop()
    assert refused[0].is_failure


def test_till_and_portal_work_with_their_own_accounts(tmp_path: Path, secure_broker: Broker) -> None:
    till = open_uplink_till(
        tmp_path / "t", secure_broker.port, extra=f'username = "S001/T01"\npassword = "{USERS["S001/T01"]}"\n'
    )
    till.start()
    settings = UplinkSettings(
        shop="S001",
        till="-",
        host="127.0.0.1",
        port=secure_broker.port,
        username="portal",
        password="pw-portal",
    )
    assert "pw-portal" not in repr(settings)  # never in a log line
    ingest = Ingest(settings, open_store(f"sqlite:{tmp_path / 'portal.sqlite'}"), shop="S001")
    thread = threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    publisher = Publisher(till)
    publisher.start()
    try:
        simulate_sales(till, 2)
        wait_until(lambda: outbox.backlog(till.db.connection()).events == 0, what="outbox drained")
    finally:
        publisher.stop()
        ingest.stop()
        thread.join(10)
    store = ingest.store
    sales = store.conn.execute("SELECT COUNT(*) FROM uplink_event WHERE type = 'sale'").fetchone()[0]  # type: ignore[attr-defined]
    assert sales == 2
    store.close()
    till.db.close()
