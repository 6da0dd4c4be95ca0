"""The portal verifies every ticket alone (issue 15): a real till, a real Mosquitto, the ingest on
SQLite and on PostgreSQL; forged events and a till rolled back with its anchor are caught."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from fiscal import canonical
from fiscal.journal import COLUMNS, TICKET, FiscalLedger, Record, heads
from fiscal.keys import create_key
from fiscal.record_check import signed_fields
from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till
from kiosk.uplink import outbox
from kiosk.uplink.ingest import Incoming, Store, open_store
from kiosk.uplink.publisher import Publisher
from kiosk.uplink.status import fiscal_keys
from tests.support.broker import Broker, broker, open_uplink_till, pg_url, wait_until
from tests.support.portal import RunningIngest, drained

__all__ = ["broker", "pg_url"]


class Portal:
    """The ingest running on one of its two stores, and what it stored."""

    def __init__(self, running: RunningIngest, dsn: str, schema: str):
        self.running, self.dsn, self.schema = running, dsn, schema

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.dsn.startswith("sqlite:"):
            with sqlite3.connect(self.dsn.removeprefix("sqlite:")) as conn:
                return list(conn.execute(sql, params).fetchall())
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            return list(conn.execute(sql.replace("?", "%s"), params).fetchall())

    def events(self) -> list[tuple[int, str, str | None, dict[str, Any]]]:
        rows = self.query(
            "SELECT seq, type, verdict, payload FROM uplink_event WHERE till = 'T01' ORDER BY seq"
        )
        return [(int(r[0]), r[1], r[2], r[3] if isinstance(r[3], dict) else json.loads(r[3])) for r in rows]

    def alerts(self) -> list[str]:
        return [str(r[0]) for r in self.query("SELECT message FROM uplink_alert ORDER BY at, message")]


@pytest.fixture(params=["sqlite", "postgresql"])
def portal(request: pytest.FixtureRequest, tmp_path: Path, broker: Broker) -> Iterator[Portal]:
    if request.param == "sqlite":
        dsn, schema = f"sqlite:{tmp_path / 'portal.sqlite'}", ""
    else:
        dsn, schema = request.getfixturevalue("pg_url")
    running = RunningIngest(broker.port, dsn, schema)
    running.start()
    yield Portal(running, dsn, schema)
    running.kill()


@pytest.fixture
def till(tmp_path: Path, broker: Broker) -> Iterator[Till]:
    opened = open_uplink_till(tmp_path / "till", broker.port)
    opened.start()
    yield opened
    if not opened.db.is_closed():
        opened.db.close()


def sell(till: Till, count: int, seed: int = 0) -> None:
    """Ring up `count` tickets and wait until the portal has acknowledged every event."""
    publisher = Publisher(till)
    publisher.start()
    try:
        simulate_sales(till, count, seed=seed)
        wait_until(lambda: drained(till), what="outbox drained")
    finally:
        publisher.stop()


FISCAL = {"sale", "return", "closure", "jet", "archive"}


def test_a_genuine_tills_events_all_verify_through_a_key_rotation(till: Till, portal: Portal) -> None:
    publisher = Publisher(till)
    publisher.start()
    try:
        simulate_sales(till, 6)
        till.rotate_key("Alice")  # announced in the JET under the first key
        simulate_sales(till, 4, seed=1)  # signed with the new key
        till.close_today("Alice")  # a closure and a JET event
        wait_until(lambda: drained(till), what="outbox drained")
    finally:
        publisher.stop()
    events = portal.events()
    fiscal = [e for e in events if e[1] in FISCAL]
    assert {e[1] for e in fiscal} >= {"sale", "closure", "jet"}
    assert [e for e in fiscal if e[2] != "ok"] == []
    assert {e[2] for e in events if e[1] not in FISCAL} <= {None}  # stock lines: nothing to sign
    assert {e[3]["key_id"] for e in fiscal if e[1] == "sale"} == {
        r[0] for r in till.db.execute_sql("SELECT key_id FROM fiscal_key").fetchall()
    }
    keys = portal.query("SELECT trust FROM uplink_key WHERE till = 'T01' ORDER BY valid_from")
    assert [r[0] for r in keys] == ["first_use", "rotation"]
    assert portal.alerts() == []


def publish(port: int, till: Till, payload: dict[str, Any], type: str = "sale") -> None:
    """An event on the till's own topic, as whoever holds its broker account could send it."""
    conn = till.db.connection()
    seq = int(conn.execute("SELECT last_seq FROM outbox_state").fetchone()[0]) + 1
    event = outbox.Event(seq, str(uuid.uuid4()), type, 1, canonical.dumps(payload), outbox.utc_now())
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish("till/S001/T01/events", event.wire("S001", "T01", seq - 1), qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def last_ticket(till: Till) -> Record:
    row = till.db.execute_sql(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE journal = ? ORDER BY seq DESC LIMIT 1", (TICKET,)
    ).fetchone()
    return Record.from_row(row)


@pytest.mark.parametrize("forgery", ["altered amount", "another key"])
def test_a_forged_sale_raises_a_bad_signature_alert(
    till: Till, portal: Portal, broker: Broker, forgery: str
) -> None:
    sell(till, 3)
    genuine = last_ticket(till)
    fields = signed_fields(genuine)
    body = dict(fields["body"])
    line = dict(body["lines"][0])
    line["amount"] -= 100  # one euro less on the first line, the totals made to add up
    body["lines"] = [line, *body["lines"][1:]]
    body["total"] -= 100
    body["tenders"] = [{**body["tenders"][0], "amount": body["tenders"][0]["amount"] - 100}]
    forged = {**fields, "seq": genuine.seq + 1, "prev_sig": genuine.sig, "body": body, "total": body["total"]}
    if forgery == "another key":  # well signed, but by a key that is not the till's
        record = Record(**{**forged, "body": canonical.dumps(body), "sig": ""})
        forged["sig"] = base64.b64encode(Ed25519PrivateKey.generate().sign(record.message())).decode()
    forged["number"] = f"T01-{genuine.seq + 1:06d}"
    publish(broker.port, till, forged)
    wait_until(
        lambda: any(e[3].get("seq") == genuine.seq + 1 for e in portal.events()), what="forgery stored"
    )
    verdicts = {e[3]["seq"]: e[2] for e in portal.events() if e[1] == "sale"}
    assert verdicts[genuine.seq] == "ok"
    assert verdicts[genuine.seq + 1] == "bad_signature"  # kept, never lost, but marked
    assert [a for a in portal.alerts() if "TICKET" in a] == [
        f"caisse S001/T01 : événement n°{int(till.db.execute_sql('SELECT last_seq FROM outbox_state').fetchone()[0]) + 1}"
        f" (sale) : TICKET n°{genuine.seq + 1} : signature invalide (contenu ou montant modifié, ou autre clé)"
    ]


def test_a_till_rolled_back_with_its_anchor_raises_the_chain_and_link_alerts(
    tmp_path: Path, till: Till, portal: Portal, broker: Broker
) -> None:
    data_dir = till.data_dir
    sell(till, 3)
    till.stop()
    backup = tmp_path / "backup"
    shutil.copytree(data_dir, backup)  # the whole data directory: database, key and anchor
    again = Till.open(data_dir)
    again.start()
    sell(again, 3, seed=1)
    newest = heads(again.db.connection(), "T01")[TICKET]["seq"]
    again.stop()
    shutil.rmtree(data_dir)
    shutil.copytree(backup, data_dir)
    restored = Till.open(data_dir)
    warnings = restored.start()
    assert not any("restaur" in w.lower() for w in warnings)  # the anchor came back with it: unseen
    try:
        simulate_sales(restored, 1, seed=2)  # one sale, then the till goes online again
        ticket = heads(restored.db.connection(), "T01")[TICKET]["seq"]
        assert ticket < newest
        publisher = Publisher(restored)
        publisher.start()
        try:
            wait_until(lambda: drained(restored), what="the restored till's events sent")
        finally:
            publisher.stop()
    finally:
        restored.db.close()
    alerts = portal.alerts()
    assert (
        f"caisse S001/T01 : journal TICKET revenu du n°{newest} au n°{ticket} (restauration ou suppression sur la caisse ?)"
        in alerts
    )
    link = [a for a in alerts if f"TICKET n°{ticket} reçu alors que le n°{newest} l'est déjà" in a]
    assert len(link) == 1
    assert link[0].startswith("caisse S001/T01 : événement n°")
    assert link[0].endswith("chaîne rompue (caisse restaurée d'une copie ancienne ?)")
    verdicts = [r[0] for r in portal.query("SELECT verdict FROM uplink_conflict WHERE type = 'sale'")]
    assert verdicts == ["broken_link"]  # the restored till's sale: signed well, but forking the chain


# -- the ingest's rules without a broker, on both stores ------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:{tmp_path / 'portal.sqlite'}")
    else:
        opened = open_store(*request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


def ledger(tmp_path: Path, name: str) -> tuple[FiscalLedger, sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    opened = FiscalLedger("T01", create_key(tmp_path / f"{name}.pem"), lambda: datetime.now(UTC))
    opened.setup(conn)
    return opened, conn


def incoming(seq: int, payload: dict[str, Any], type: str = "jet") -> Incoming:
    return Incoming(str(uuid.uuid4()), "S001", "T01", seq, type, 1, outbox.utc_now(), json.dumps(payload))


def status_with_keys(conn: sqlite3.Connection) -> str:
    return json.dumps({"online": True, "fiscal_keys": fiscal_keys(conn, "T01")})


def verdicts(store: Store) -> list[str | None]:
    rows = store.conn.execute("SELECT seq, verdict FROM uplink_event ORDER BY seq").fetchall()  # type: ignore[attr-defined]
    return [row[1] for row in rows]


def test_old_events_are_kept_as_unverifiable_and_a_downgrade_is_reported(
    store: Store, tmp_path: Path
) -> None:
    till, conn = ledger(tmp_path, "till")
    first = till.record_event(conn, "START")
    old = {k: v for k, v in signed_fields(first).items() if k not in ("prev_sig", "tz_offset", "till")}
    store.store([incoming(1, old)], {})  # sent by a till before records travelled whole
    assert verdicts(store) == ["unverifiable"] and store.alerts == []
    second = till.record_event(conn, "STOP")
    store.store([incoming(2, signed_fields(second))], {("S001", "T01"): status_with_keys(conn)})
    assert verdicts(store) == ["unverifiable", "ok"]  # chained to the old event's signature
    third = till.record_event(conn, "START")
    stripped = {k: v for k, v in signed_fields(third).items() if k != "prev_sig"}
    store.store([incoming(3, stripped)], {})
    assert verdicts(store) == ["unverifiable", "ok", "unverifiable"]
    assert store.alerts == [
        "caisse S001/T01 : événement n°3 (jet) : JET n°3 reçu sans ses champs signés alors que la caisse les envoie"
    ]


def test_a_till_reinstalled_with_a_new_key_is_refused_once(store: Store, tmp_path: Path) -> None:
    _, conn = ledger(tmp_path, "first")
    store.store([], {("S001", "T01"): status_with_keys(conn)})
    other, other_conn = ledger(tmp_path, "second")  # same till id, a key no rotation introduced
    store.store([], {("S001", "T01"): status_with_keys(other_conn)})
    assert store.alerts == [
        f"caisse S001/T01 : clé {other.key.key_id} annoncée sans rotation signée par une clé de confiance "
        "(caisse réinstallée ?)"
    ]
    store.store([], {("S001", "T01"): status_with_keys(other_conn)})
    assert store.alerts == []  # said once
    record = other.record_event(other_conn, "START")
    store.store([incoming(1, signed_fields(record))], {})
    assert verdicts(store) == ["bad_signature"]
    assert store.alerts == [
        f"caisse S001/T01 : événement n°1 (jet) : JET n°1 : signé par une clé inconnue de la caisse ({other.key.key_id})"
    ]
