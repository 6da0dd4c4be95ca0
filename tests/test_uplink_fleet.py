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
