"""The publisher: drains the outbox to the broker on its own thread (the UI never waits on it).

Events go out with QoS 1 in sequence order, at most WINDOW unacknowledged at a time; they leave the outbox
when the portal's cumulative ack arrives on `.../ack` (a PUBACK only proves the broker has them). On a
reconnect, a gap reported by the portal, or no ack for `ack_timeout_s`, sending resumes after the last
acknowledged event: the portal stores by event id and sequence, so a resend is never a duplicate.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

from fiscal.journal import heads
from kiosk.uplink import catalogue_sync, topics
from kiosk.uplink.commands import CommandRunner, load_fleet_key
from kiosk.uplink.inbound import Inbound
from kiosk.uplink.outbox import acked_seq, acknowledge, backlog, pending
from kiosk.uplink.settings import UplinkSettings
from kiosk.uplink.status import build_status, death, fiscal_keys, next_bdseq
from kiosk.uplink.sync import till_handlers

if TYPE_CHECKING:
    from kiosk.till import Till

log = logging.getLogger(__name__)
assert catalogue_sync.TYPE  # imported for its inbound handler (catalogue updates from the portal)

WINDOW = 2000  # events sent and not yet acknowledged by the portal
BATCH = 500
SESSION_EXPIRY_S = 24 * 3600
OFFLINE_CHECK_S = 5


def device_states(till: Till) -> dict[str, str]:
    """The devices the till opened so far, by driver (opening one here could block on its port)."""
    states = {}
    for name in ("printer", "drawer", "display", "scale", "terminal"):
        device = till.__dict__.get(name)
        states[name] = type(device).__name__ if device is not None else "non ouvert"
    paused = till.print_queue.paused_reason
    if paused:
        states["printer"] = f"erreur : {paused}"
    return states


class Publisher:
    def __init__(
        self,
        till: Till,
        settings: UplinkSettings | None = None,
        *,
        on_warning: Callable[[str], None] | None = None,
        restart: Callable[[], None] | None = None,
        reload_catalogue: Callable[[], str] | None = None,
        inbound: Inbound | None = None,
    ):
        from kiosk import __version__
        from kiosk.store.db import DB_NAME

        self.till = till
        self.settings = settings or UplinkSettings.from_config(till.config)
        self.version = __version__
        self.db_path = till.data_dir / DB_NAME
        self.on_warning = on_warning
        self.inbound = inbound or Inbound(till_handlers(till))
        self.runner = CommandRunner(
            till,
            load_fleet_key(self.settings.fleet_public_key),
            self.settings.shop,
            self.settings.till,
            reload_catalogue=reload_catalogue,
            restart=restart,
        )
        self.started = time.monotonic()
        self.bdseq = next_bdseq(till.data_dir)
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.warning: str | None = None
        self._keys: tuple[int, list[dict[str, Any]]] | None = None
        s = self.settings
        self._topics = {
            "events": topics.events(s.shop, s.till),
            "ack": topics.ack(s.shop, s.till),
            "status": topics.status(s.shop, s.till),
            "cmd": topics.cmd(s.shop, s.till),
            "result": topics.cmd_result(s.shop, s.till),
            "inbound": topics.inbound(s.shop, s.till),
            "catalogue": topics.catalogue(s.shop, s.till),
        }
        self.client = s.client(f"till-{s.shop}-{s.till}", persistent=True)
        self.client.will_set(self._topics["status"], death(s.shop, s.till, self.bdseq), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- paho's network thread: only queues work for ours ----------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("uplink: connexion refusée par le serveur MQTT (%s)", reason)
            return
        client.subscribe([(self._topics[name], 1) for name in ("ack", "cmd", "inbound", "catalogue")])
        self._inbox.put(("connected",))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """A new birth/death sequence for the next connection (Sparkplug B's bdSeq): its will and birth
        carry it, so a late death certificate of this connection cannot be taken for the next one's."""
        self.connected.clear()
        s = self.settings
        self.bdseq = next_bdseq(self.till.data_dir)
        client.will_set(self._topics["status"], death(s.shop, s.till, self.bdseq), qos=1, retain=True)
        self._inbox.put(("disconnected",))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(("message", message.topic, message.payload, message.properties))

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self.settings.start(self.client, SESSION_EXPIRY_S)
        self._thread = threading.Thread(target=self._run, name="uplink-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish the death certificate (retained, with the last status), then disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.loop_stop()

    def join(self) -> None:
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    # -- our thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        try:
            while not self._stop.is_set():
                try:
                    self._loop(conn)
                except Exception:  # a bad message or a locked database must not end the uplink
                    log.exception("uplink: erreur, reprise dans une seconde")
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    self._stop.wait(1)
        finally:
            conn.close()

    def _loop(self, conn: sqlite3.Connection) -> None:
        acked = acked_seq(conn)
        sent = acked
        progress = time.monotonic()
        last_rewind = 0.0
        status_due = 0.0
        status_key: tuple[Any, ...] = ()
        offline_check = 0.0
        while not self._stop.is_set():
            try:
                item = self._inbox.get(timeout=0.05 if sent > acked else 0.2)
            except queue.Empty:
                item = None
            while item is not None:
                kind = item[0]
                if kind == "connected":
                    self.connected.set()
                    sent, progress, status_due, status_key = acked, time.monotonic(), 0.0, ()
                    log.info("uplink: connecté à %s:%s", self.settings.host, self.settings.port)
                elif kind == "disconnected":
                    sent = acked
                elif kind == "message":
                    _, topic, payload, props = item
                    if topic == self._topics["ack"]:
                        seq, gap = _ack(payload)
                        # never beyond what this till sent: a portal ahead of it (the till restored
                        # from an old copy numbers its events again) must not delete unsent events
                        seq = min(seq, sent)
                        if seq > acked:
                            acknowledge(conn, seq)
                            acked, progress = seq, time.monotonic()
                            sent = max(sent, acked)
                        if gap and time.monotonic() - last_rewind > 1.0:
                            sent, last_rewind = acked, time.monotonic()
                    elif topic == self._topics["cmd"]:
                        self._command(conn, payload, props)
                    elif topic in (self._topics["inbound"], self._topics["catalogue"]):
                        self.inbound.receive(conn, payload)
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if not self.connected.is_set():
                if now >= offline_check:  # offline is when the backlog grows: warn all the same
                    self._warn(backlog(conn).warning(self.settings.budget_bytes))
                    offline_check = now + OFFLINE_CHECK_S
                continue
            if sent > acked and now - progress > self.settings.ack_timeout_s:
                log.info(
                    "uplink: pas d'accusé du portail depuis %ss, renvoi après %s",
                    self.settings.ack_timeout_s,
                    acked,
                )
                sent, progress = acked, now
            # the status first: a portal meeting this till learns its public keys before its events
            if now >= status_due:
                key = self._status_key(conn)
                if key != status_key or now - status_due > self.settings.status_interval_s:
                    self.publish_status(conn)
                    status_key = key
                    status_due = now + 1.0
            while sent - acked < WINDOW:
                batch = pending(conn, sent, min(BATCH, WINDOW - (sent - acked)))
                if not batch:
                    break
                if sent == acked:
                    progress = now
                for event in batch:
                    self.client.publish(
                        self._topics["events"],
                        event.wire(self.settings.shop, self.settings.till, acked),
                        qos=1,
                    )
                sent = batch[-1].seq
        try:
            if self.connected.is_set():
                self.publish_status(conn, online=False).wait_for_publish(2.0)
        except (RuntimeError, ValueError):  # the connection went in the meantime: the will says it
            pass
        finally:
            self.client.disconnect()

    def _status_key(self, conn: sqlite3.Connection) -> tuple[Any, ...]:
        journals = heads(conn, self.till.ledger.till)  # one index probe per journal
        depth = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return (tuple((name, head["seq"]) for name, head in journals.items()), depth)

    def status(self, conn: sqlite3.Connection, online: bool = True) -> dict[str, Any]:
        return build_status(
            conn,
            shop=self.settings.shop,
            till=self.settings.till,
            key_id=self.till.ledger.key.key_id,
            version=self.version,
            bdseq=self.bdseq,
            started=self.started,
            now=time.monotonic(),
            data_dir=self.till.data_dir,
            budget_bytes=self.settings.budget_bytes,
            devices=device_states(self.till),
            online=online,
            keys=self._fiscal_keys(conn),
        )

    def _fiscal_keys(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        """The key registrations of the status, read again only when a key was added (a rotation)."""
        count = int(conn.execute("SELECT COUNT(*) FROM fiscal_key").fetchone()[0])
        if self._keys is None or self._keys[0] != count:
            self._keys = (count, fiscal_keys(conn, self.till.ledger.till))
        return self._keys[1]

    def publish_status(self, conn: sqlite3.Connection, online: bool = True) -> mqtt.MQTTMessageInfo:
        status = self.status(conn, online)
        self._warn(status["outbox"]["warning"])
        if not online:
            status["reason"] = "stopped"
        return self.client.publish(self._topics["status"], json.dumps(status).encode(), qos=1, retain=True)

    def _warn(self, warning: str | None) -> None:
        """Tell once when the backlog goes over its budget (and again if it comes back after)."""
        if warning != self.warning:
            self.warning = warning
            if warning:
                log.warning("uplink: %s", warning)
                if self.on_warning is not None:
                    self.on_warning(warning)

    def _command(self, conn: sqlite3.Connection, payload: bytes, props: Any) -> None:
        result = self.runner.handle(conn, payload)
        correlation = getattr(props, "CorrelationData", None)
        out = self.settings.publish_properties(**({"CorrelationData": correlation} if correlation else {}))
        self.client.publish(
            self._topics["result"], json.dumps(result, default=str).encode(), qos=1, properties=out
        )


def _ack(payload: bytes) -> tuple[int, bool]:
    try:
        data = json.loads(payload)
        return int(data["seq"]), bool(data.get("gap", False))
    except (ValueError, KeyError, TypeError):
        return -1, False
