"""The [uplink] settings and the MQTT client they describe (TLS, credentials; secrets never logged)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.config import Config


@dataclass(frozen=True)
class UplinkSettings:
    shop: str
    till: str
    host: str = "localhost"
    port: int = 1883
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    password: str = field(default="", repr=False)  # repr(): never in a log line
    fleet_public_key: str = ""
    backlog_budget_mb: int = 50
    status_interval_s: int = 60
    reconnect_max_s: int = 30
    keepalive_s: int = 30
    ack_timeout_s: int = 10
    portal_db: str = ""
    mqtt_version: int = 5  # 5, or 311 for a broker that only speaks MQTT 3.1.1

    @property
    def v5(self) -> bool:
        return self.mqtt_version == 5

    @classmethod
    def from_config(cls, config: Config) -> UplinkSettings:
        section = {
            f.name: getattr(config.uplink, f.name) for f in fields(config.uplink) if f.name != "enabled"
        }
        return cls(shop=config.shop_id, till=config.till_id, **section)

    @property
    def budget_bytes(self) -> int:
        return self.backlog_budget_mb * 1_000_000

    def client(self, client_id: str, *, persistent: bool = False) -> mqtt.Client:
        """An MQTT client with this till's TLS and credentials (connect it with `session()`'s arguments);
        `persistent`: the broker keeps its subscriptions and queued messages while it is away."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            clean_session=None if self.v5 else not persistent,
        )
        if self.tls:
            client.tls_set(
                ca_certs=self.ca_file or None,
                certfile=self.cert_file or None,
                keyfile=self.key_file or None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        client.reconnect_delay_set(min_delay=1, max_delay=self.reconnect_max_s)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        return client

    def start(self, client: mqtt.Client, session_expiry_s: int | None = None) -> None:
        """Connect `client` in the background and start its network loop: paho reconnects by itself
        (1 s up to `reconnect_max_s`). With `session_expiry_s`, the broker keeps the session that long."""
        extra = self.session(session_expiry_s) if session_expiry_s is not None else {}
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s, **extra)
        client.loop_start()

    def session(self, session_expiry_s: int) -> dict[str, Any]:
        """connect()'s arguments for a persistent session (MQTT 5: clean start off, session expiry)."""
        if not self.v5:
            return {}
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s
        return {"clean_start": False, "properties": props}

    def publish_properties(self, **values: Any) -> Any:
        """MQTT 5 PUBLISH properties (correlation data...); None in MQTT 3.1.1, which has none."""
        if not self.v5:
            return None
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        for name, value in values.items():
            setattr(props, name, value)
        return props
