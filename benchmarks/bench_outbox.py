"""Outbox drain after an outage: 10,000 events queued on a till, then sent to a real Mosquitto and stored
by the portal ingest (PostgreSQL on 127.0.0.1:5432 when it answers, else SQLite), acknowledged, removed.

    .venv/bin/python benchmarks/bench_outbox.py [--events 10000] [--sqlite]

The events are copies of a real sale's event (~1 KB of JSON each), queued in transactions of 500 while
the broker is unreachable; the clock starts when the publisher connects and stops when the outbox is
empty, i.e. when the portal has acknowledged the last event. Target: ≥ 2,000 events/s. The floor is the
same messages published by a bare paho client and received by a bare subscriber (no storage, no ack).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

SCRATCH = tempfile.TemporaryDirectory(prefix="bench-outbox-")
tempfile.tempdir = SCRATCH.name

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo  # noqa: E402
from kiosk.demo.simulation import simulate_sales  # noqa: E402
from kiosk.till import Till  # noqa: E402
from kiosk.uplink import outbox  # noqa: E402
from kiosk.uplink.ingest import Ingest, open_store  # noqa: E402
from kiosk.uplink.publisher import Publisher  # noqa: E402
from kiosk.uplink.settings import UplinkSettings  # noqa: E402

TARGET = 2000.0
PG = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\nlog_dest none\n"
        + ("user root\n" if os.geteuid() == 0 else ""),
        "utf-8",
    )
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG, connect_timeout=3).close()
        return True
    except Exception:
        return False


def floor(port: int, payloads: list[bytes]) -> float:
    """Bare paho: QoS 1 publish of the same messages to a bare QoS 1 subscriber."""
    got = threading.Event()
    count = [0]

    def on_message(*args: object) -> None:
        count[0] += 1
        if count[0] == len(payloads):
            got.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("floor/#", 1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(1000)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    time.sleep(0.5)
    start = time.perf_counter()
    for payload in payloads:
        pub.publish("floor/events", payload, qos=1)
    got.wait(120)
    elapsed = time.perf_counter() - start
    for c in (pub, sub):
        c.loop_stop()
        c.disconnect()
    return len(payloads) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="the demo portal store instead of PostgreSQL")
    args = parser.parse_args()
    work = Path(SCRATCH.name)
    proc, port = start_broker(work)
    try:
        data = work / "till"
        data.mkdir()
        (data / "kiosk.toml").write_text(
            SIMULATED_DEVICES + f'[uplink]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n', "utf-8"
        )
        till = Till.open(data)
        init_demo(till)
        simulate_sales(till, 1)
        conn = till.db.connection()
        sample = outbox.pending(conn, 0, 1000)[-1]
        import json

        payload = json.loads(sample.payload)
        conn.execute("DELETE FROM outbox")
        conn.execute("UPDATE outbox_state SET acked_seq = last_seq")  # as if the portal had them
        queued = time.perf_counter()
        for start in range(0, args.events, 500):
            with till.db.atomic():
                for _ in range(min(500, args.events - start)):
                    outbox.emit(conn, "sale", payload)
        queued = time.perf_counter() - queued
        depth = outbox.backlog(conn)
        print(f"queued {depth.events} events ({depth.size / 1e6:.1f} MB of payload) in {queued:.2f} s")

        use_pg = not args.sqlite and pg_available()
        schema = f"bench_outbox_{uuid.uuid4().hex[:8]}"
        store = open_store(PG, schema) if use_pg else open_store(f"sqlite:{work / 'portal.sqlite'}")
        portal = UplinkSettings(shop="S001", till="-", host="127.0.0.1", port=port)
        ingest = Ingest(portal, store, shop="S001")
        thread = threading.Thread(target=ingest.run, daemon=True)
        thread.start()
        ingest.ready.wait(20)
        publisher = Publisher(till)
        start = time.perf_counter()
        publisher.start()
        last_report = time.perf_counter()
        while outbox.backlog(conn).events:
            time.sleep(0.01)
            if time.perf_counter() - start > 300:  # a drain that never ends is a failure, not a hang
                print("MISS: the outbox did not drain within 300 s", flush=True)
                break
            if os.environ.get("BENCH_DEBUG") and time.perf_counter() - last_report > 1:
                last_report = time.perf_counter()
                print("waiting", outbox.backlog(conn).events, "stored", ingest.stored, flush=True)
        elapsed = time.perf_counter() - start
        publisher.stop()
        ingest.stop()
        thread.join(10)
        if use_pg:
            cur = store.conn.execute(f'SELECT COUNT(*), COUNT(DISTINCT seq) FROM "{schema}".uplink_event')  # type: ignore[attr-defined]
            stored, distinct = cur.fetchone()
            store.conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]
            store.conn.commit()  # type: ignore[attr-defined]
        else:
            stored, distinct = store.conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT seq) FROM uplink_event"
            ).fetchone()  # type: ignore[attr-defined]
        store.close()
        rate = args.events / elapsed
        wires = [e.wire("S001", "T01") for e in [sample] * args.events]
        bare = floor(port, wires)
        target = "PASS" if rate >= TARGET else "MISS"
        where = "PostgreSQL" if use_pg else "SQLite"
        print(f"stored by the ingest ({where}): {stored} rows, {distinct} distinct sequence numbers")
        print(
            f"outbox drain {args.events} events -> Mosquitto -> ingest ({where}) -> ack: {elapsed:.2f} s, "
            f"{rate:,.0f} events/s (target >= {TARGET:,.0f}/s) {target}"
        )
        print(f"floor: bare paho QoS 1 publish -> subscriber, same messages: {bare:,.0f} events/s")
        till.db.close()
        return 0 if rate >= TARGET and stored >= args.events else 1
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
