"""The outbox: events commit with their business act, gap-free, and leave only when acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till
from kiosk.uplink import outbox
from tests.support.broker import open_uplink_till


@pytest.fixture
def uplink_till(tmp_path: Path) -> Till:
    till = open_uplink_till(tmp_path / "data", 1883)
    till.start()
    return till


def test_a_sale_writes_its_event_with_the_ticket(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    before = outbox.backlog(conn).events
    simulate_sales(uplink_till, 2)
    events = outbox.pending(conn, 0, 10_000)
    sales = [e for e in events if e.type == "sale"]
    assert len(sales) == 2
    moves = [e for e in events if e.type == "stock_movement"]  # each sold line leaves the stock
    assert len(moves) >= 2
    assert outbox.backlog(conn).events == before + len(sales) + len(moves)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # gap-free
    assert '"number":"T01-000001"' in sales[0].payload


def test_a_sale_that_fails_leaves_no_event(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    before = outbox.pending(conn, 0, 10_000)

    def refuse(conn: object, sale: object) -> None:
        raise RuntimeError("stock ledger refused")

    uplink_till.checkout.listeners.append(refuse)
    with pytest.raises(RuntimeError):
        simulate_sales(uplink_till, 1)
    assert outbox.pending(conn, 0, 10_000) == before
    uplink_till.checkout.listeners.remove(refuse)
    simulate_sales(uplink_till, 1)
    after = outbox.pending(conn, 0, 10_000)
    assert [e.seq for e in after] == list(range(1, len(after) + 1))  # the failed sale left no hole


def test_closures_and_jet_events_go_to_the_outbox(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    types = {e.type for e in outbox.pending(conn, 0, 10_000)}
    assert "jet" in types  # START, at least
    uplink_till.ledger.record_event(conn, "TEST_EVENT", {"x": 1})
    last = outbox.pending(conn, 0, 10_000)[-1]
    assert last.type == "jet" and '"rtype":"TEST_EVENT"' in last.payload


def test_ack_removes_events_up_to_the_acknowledged_sequence(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    simulate_sales(uplink_till, 3)
    events = outbox.pending(conn, 0, 10_000)
    removed = outbox.acknowledge(conn, events[1].seq)
    assert removed == 2
    assert [e.seq for e in outbox.pending(conn)] == [e.seq for e in events[2:]]
    assert outbox.acked_seq(conn) == events[1].seq


def test_backlog_over_budget_warns_in_french(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    simulate_sales(uplink_till, 5)
    waiting = outbox.backlog(conn)
    assert waiting.warning(10_000_000) is None
    warning = waiting.warning(100)
    assert warning is not None and "en attente" in warning and "connexion réseau" in warning


def test_without_uplink_nothing_is_queued(till: Till) -> None:
    simulate_sales(till, 2)
    assert outbox.backlog(till.db.connection()).events == 0


def test_the_waiting_count_is_the_backlog(uplink_till: Till) -> None:
    conn = uplink_till.db.connection()
    simulate_sales(uplink_till, 3)
    assert outbox.waiting_count(conn) == outbox.backlog(conn).events > 0
    outbox.acknowledge(conn, outbox.pending(conn, 0, 10_000)[1].seq)
    assert outbox.waiting_count(conn) == outbox.backlog(conn).events
