"""Till -> Mosquitto -> portal ingest (PostgreSQL), end to end, with outages on every side."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till
from kiosk.uplink import outbox
from kiosk.uplink.publisher import Publisher
from tests.support.broker import Broker, broker, open_uplink_till, pg_url, wait_until
from tests.support.portal import RunningIngest, drained

__all__ = ["broker", "pg_url"]


@pytest.fixture
def till_a(tmp_path: Path, broker: Broker) -> Iterator[Till]:
    till = open_uplink_till(tmp_path / "a", broker.port)
    till.start()
    yield till
    till.db.close()


def rows(pg_url: tuple[str, str], till: str = "T01") -> list[tuple[int, str, str, dict]]:
    dsn, schema = pg_url
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return list(
            conn.execute(
                "SELECT seq, event_id::text, type, payload FROM uplink_event WHERE till = %s ORDER BY received_at, seq",
                (till,),
            )
        )


def assert_exactly_once_in_order(pg_url: tuple[str, str], till: Till) -> list[tuple[int, str, str, dict]]:
    stored = rows(pg_url)
    last = till.db.execute_sql("SELECT last_seq FROM outbox_state").fetchone()[0]
    assert [r[0] for r in stored] == list(range(1, last + 1))  # each once, stored in sequence order
    assert len({r[1] for r in stored}) == len(stored)
    return stored


def test_a_sale_is_ingested_exactly_once(
    till_a: Till, ingest: RunningIngest, pg_url: tuple[str, str]
) -> None:
    publisher = Publisher(till_a)
    publisher.start()
    try:
        summary = simulate_sales(till_a, 3)
        wait_until(lambda: drained(till_a), what="outbox drained")
    finally:
        publisher.stop()
    stored = assert_exactly_once_in_order(pg_url, till_a)
    sales = [r[3] for r in stored if r[2] == "sale"]
    assert [s["number"] for s in sales] == ["T01-000001", "T01-000002", "T01-000003"]
    assert sum(s["body"]["total"] for s in sales) == summary.total


def test_broker_down_during_sales_then_back(
    till_a: Till, broker: Broker, ingest: RunningIngest, pg_url: tuple[str, str]
) -> None:
    publisher = Publisher(till_a)
    publisher.start()
    try:
        simulate_sales(till_a, 20)
        broker.stop()
        simulate_sales(till_a, 500, seed=1)  # the till sells on without the network
        assert outbox.backlog(till_a.db.connection()).events >= 500
        broker.start()
        simulate_sales(till_a, 20, seed=2)
        wait_until(lambda: drained(till_a), what="outbox drained after the outage")
        from tests.uplink.test_fleet import read_retained

        def reborn() -> bool:
            status = read_retained(broker.port, "till/S001/T01/status")
            return status is not None and status["online"] and status["bdseq"] >= 1  # a new birth

        wait_until(reborn, what="birth certificate after the reconnection")
    finally:
        publisher.stop()
    stored = assert_exactly_once_in_order(pg_url, till_a)
    numbers = [r[3]["number"] for r in stored if r[2] in ("sale", "return")]  # the mix refunds too
    assert numbers == [f"T01-{n:06d}" for n in range(1, 541)]


def test_ingest_process_killed_and_restarted_loses_and_doubles_nothing(
    tmp_path: Path, till_a: Till, broker: Broker, pg_url: tuple[str, str]
) -> None:
    """`kiosk portal ingest` killed (SIGKILL) while events flow, then started again."""
    config = tmp_path / "portal.toml"
    config.write_text(f'[uplink]\nhost = "127.0.0.1"\nport = {broker.port}\n', "utf-8")
    argv = [sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "portal"), "--config", str(config)]
    argv += ["portal", "ingest", "--db", pg_url[0], "--schema", pg_url[1], "--shop", "S001"]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        assert b"Portail" in proc.stdout.readline()  # connected to the database, subscribing
        return proc

    publisher = Publisher(till_a)
    publisher.start()
    proc = start()
    try:
        simulate_sales(till_a, 30)
        wait_until(lambda: drained(till_a), what="first sales stored")
        before = len(rows(pg_url))
        selling = threading.Thread(target=simulate_sales, args=(till_a, 150), kwargs={"seed": 1})
        selling.start()
        wait_until(lambda: len(rows(pg_url)) > before, what="events flowing")
        proc.kill()  # SIGKILL in the middle of the flow
        proc.wait(10)
        selling.join()
        simulate_sales(till_a, 20, seed=2)  # and more while no ingest runs
        assert outbox.backlog(till_a.db.connection()).events >= 20
        proc = start()
        wait_until(lambda: drained(till_a), what="outbox drained after the ingest restarted")
    finally:
        publisher.stop()
        proc.kill()
        proc.wait(10)
    stored = assert_exactly_once_in_order(pg_url, till_a)
    assert len([r for r in stored if r[2] in ("sale", "return")]) == 200


def test_status_is_retained_with_the_chain_head(
    till_a: Till, broker: Broker, ingest: RunningIngest, pg_url: tuple[str, str]
) -> None:
    from tests.uplink.test_fleet import read_retained

    publisher = Publisher(till_a)
    publisher.start()
    try:
        simulate_sales(till_a, 2)
        wait_until(lambda: drained(till_a), what="outbox drained")
        heads = till_a.ledger.head(till_a.db.connection(), "TICKET")
        assert heads is not None

        def current() -> bool:
            status = read_retained(broker.port, "till/S001/T01/status")
            return status is not None and (status.get("last_ticket") or {}).get("seq") == 2

        wait_until(current, what="status with the last ticket")
        status = read_retained(broker.port, "till/S001/T01/status")
        assert status is not None and status["online"] is True
        ticket_head = status["chain_head"]["journals"]["TICKET"]
        assert (ticket_head["seq"], ticket_head["sig"]) == (heads.seq, heads.sig)
        assert status["chain_head"]["key_id"] == till_a.ledger.key.key_id
        assert status["public_key"] == till_a.ledger.key.public_pem  # to check the published signatures
        assert status["last_ticket"]["number"] == "T01-000002"
        assert status["outbox"]["depth"] == 0 and status["disk_free"] > 0
    finally:
        publisher.stop()
    stopped = read_retained(broker.port, "till/S001/T01/status")
    assert stopped is not None and stopped["online"] is False and stopped["reason"] == "stopped"
    assert stopped["chain_head"]["journals"]["TICKET"]["sig"] == heads.sig

    def anchored_by_the_portal() -> bool:  # the ingest keeps every till's last chain head (NF525)
        with psycopg.connect(pg_url[0]) as conn:
            conn.execute(f'SET search_path TO "{pg_url[1]}"')
            row = conn.execute("SELECT chain_head FROM uplink_status WHERE till = 'T01'").fetchone()
        return row is not None and row[0]["journals"]["TICKET"] == {
            k: heads_dict[k] for k in ("seq", "sig", "ts_utc")
        }

    heads_dict = {"seq": heads.seq, "sig": heads.sig, "ts_utc": heads.ts_utc}
    wait_until(anchored_by_the_portal, what="the chain head stored by the portal")


def test_a_stock_movement_on_one_till_is_applied_once_on_the_other(
    tmp_path: Path, till_a: Till, broker: Broker, ingest: RunningIngest
) -> None:
    from kiosk.uplink.inbound import Inbound

    till_b = open_uplink_till(tmp_path / "b", broker.port, till="T02")
    till_b.start()
    applied: list[tuple[str, str, int]] = []
    inbound_b = Inbound(
        {
            "stock_movement": lambda conn, event: applied.append(
                (event["id"], event["from"], event["payload"]["qty"])
            )
        }
    )
    inbound_a = Inbound({"stock_movement": lambda conn, event: applied.append(("on A", "", 0))})
    pub_a, pub_b = Publisher(till_a, inbound=inbound_a), Publisher(till_b, inbound=inbound_b)
    pub_b.start()
    wait_until(lambda: drained(till_b), what="till B known to the portal")
    pub_a.start()
    try:
        conn = till_a.db.connection()
        with till_a.db.atomic():
            event = outbox.emit(conn, "stock_movement", {"ref": "BOUL-001", "qty": -2})
        wait_until(lambda: applied, what="movement applied on B")
        # the same event delivered again (a resend, a second worker...) changes nothing
        ingest.ingest.client.publish(  # type: ignore[union-attr]
            "till/S001/T02/inbound",
            json.dumps(
                {"id": event.event_id, "type": "stock_movement", "from": "T01", "payload": {"qty": -2}}
            ),
            qos=1,
        ).wait_for_publish(5)
        simulate_sales(till_a, 1)
        wait_until(lambda: drained(till_a), what="A drained")
        marker = {"id": "marker", "type": "stock_movement", "from": "T01", "payload": {"qty": 0}}
        ingest.ingest.client.publish("till/S001/T02/inbound", json.dumps(marker), qos=1)  # type: ignore[union-attr]
        wait_until(lambda: len(applied) >= 2, what="marker applied on B")
    finally:
        pub_a.stop()
        pub_b.stop()
    assert applied == [(event.event_id, "T01", -2), ("marker", "T01", 0)]
    rows_b = till_b.db.execute_sql("SELECT event_id FROM inbound_applied ORDER BY applied_at").fetchall()
    assert [r[0] for r in rows_b] == [event.event_id, "marker"]
    till_b.db.close()


def test_without_a_broker_the_till_sells_and_warns_when_the_backlog_outgrows_its_budget(
    tmp_path: Path,
) -> None:
    from tests.support.broker import free_port

    till = open_uplink_till(tmp_path / "t", free_port(), extra="backlog_budget_mb = 1\n")  # nobody listens
    till.start()
    warnings: list[str] = []
    publisher = Publisher(till, on_warning=warnings.append)
    publisher.start()
    try:
        summary = simulate_sales(till, 5)  # never waits on the network
        assert summary.tickets == 5 and not publisher.connected.is_set()
        conn = till.db.connection()
        with till.db.atomic():
            for _ in range(3):
                outbox.emit(conn, "receipt_email", {"pdf": "x" * 400_000})
        wait_until(lambda: warnings, what="the backlog warning")
    finally:
        publisher.stop()
    assert "Envoi vers le portail en retard" in warnings[0] and "budget 1 Mo" in warnings[0]
    till.db.close()


def test_a_handler_that_fails_does_not_stop_the_uplink(
    till_a: Till, broker: Broker, ingest: RunningIngest
) -> None:
    from kiosk.uplink.inbound import Inbound

    applied: list[str] = []

    def boom(conn: object, event: dict) -> None:
        raise RuntimeError("bug in a handler")

    publisher = Publisher(
        till_a, inbound=Inbound({"boom": boom, "ok": lambda conn, event: applied.append(event["id"])})
    )
    publisher.start()
    try:
        wait_until(publisher.connected.is_set, what="connected")
        client = ingest.ingest.client  # type: ignore[union-attr]
        client.publish("till/S001/T01/inbound", json.dumps({"id": "e1", "type": "boom"}), qos=1)
        client.publish("till/S001/T01/inbound", json.dumps({"id": "e2", "type": "ok"}), qos=1)
        wait_until(lambda: applied, what="the next event applied")
        simulate_sales(till_a, 1)
        wait_until(lambda: drained(till_a), what="sales still sent")
    finally:
        publisher.stop()
    assert applied == ["e2"]
    done = till_a.db.execute_sql("SELECT event_id FROM inbound_applied").fetchall()
    assert [r[0] for r in done] == ["e2"]  # the failed one was rolled back, not marked as applied


def test_the_portal_database_connection_lost_then_back(
    till_a: Till, ingest: RunningIngest, pg_url: tuple[str, str]
) -> None:
    """The ingest's PostgreSQL connection breaks: that batch is not acked, the store reconnects, the
    tills' resends fill the hole; still exactly once."""
    publisher = Publisher(till_a)
    publisher.start()
    try:
        simulate_sales(till_a, 10)
        wait_until(lambda: drained(till_a), what="first sales stored")
        assert ingest.ingest is not None
        ingest.ingest.store.conn.close()  # type: ignore[attr-defined]  # as when PostgreSQL restarts
        simulate_sales(till_a, 40, seed=1)
        wait_until(lambda: drained(till_a), what="outbox drained after the reconnection")
    finally:
        publisher.stop()
    stored = assert_exactly_once_in_order(pg_url, till_a)
    assert len([r for r in stored if r[2] in ("sale", "return")]) == 50
