"""The ingest's storage rules, on both stores: once by event id, in order per till, gaps reported."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.uplink.ingest import Incoming, Store, open_store, parse_event
from tests.support.broker import pg_url

__all__ = ["pg_url"]


def event(seq: int, till: str = "T01", base: int = 0, event_id: str | None = None) -> Incoming:
    return Incoming(
        event_id or str(uuid.uuid4()), "S001", till, seq, "sale", 1, "2026-11-25T10:00:00Z", "{}", base
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:{tmp_path / 'portal.sqlite'}")
    else:
        dsn, schema = request.getfixturevalue("pg_url")
        opened = open_store(dsn, schema)
    yield opened
    opened.close()


def stored(store: Store) -> list[tuple[str, int]]:
    conn = store.conn  # type: ignore[attr-defined]
    rows = conn.execute("SELECT till, seq FROM uplink_event ORDER BY till, seq").fetchall()
    return [(r[0], int(r[1])) for r in rows]


def test_resends_are_stored_once(store: Store) -> None:
    first = [event(1), event(2), event(3)]
    assert store.store(first, {}) == {("S001", "T01"): (3, False)}
    assert store.store([first[1], first[2], event(4)], {}) == {("S001", "T01"): (4, False)}
    assert stored(store) == [("T01", 1), ("T01", 2), ("T01", 3), ("T01", 4)]


def test_out_of_order_in_a_batch_is_sorted_and_a_gap_stops_the_till(store: Store) -> None:
    result = store.store([event(2), event(1), event(4, till="T01"), event(1, till="T02")], {})
    assert result == {("S001", "T01"): (2, True), ("S001", "T02"): (1, False)}
    assert stored(store) == [("T01", 1), ("T01", 2), ("T02", 1)]


def test_a_till_acknowledged_elsewhere_resumes_after_its_base(store: Store) -> None:
    assert store.store([event(41, base=40), event(42, base=40)], {}) == {("S001", "T01"): (42, False)}
    assert stored(store) == [("T01", 41), ("T01", 42)]


def test_statuses_are_kept_per_till(store: Store) -> None:
    store.store([], {("S001", "T01"): json.dumps({"online": True, "bdseq": 3})})
    store.store([], {("S001", "T01"): json.dumps({"online": False, "bdseq": 3})})
    conn = store.conn  # type: ignore[attr-defined]
    rows = conn.execute("SELECT till, status FROM uplink_status").fetchall()
    assert len(rows) == 1
    status = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1])
    assert status["online"] is False


def test_an_event_on_another_tills_topic_is_refused() -> None:
    raw = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "shop": "S001",
            "till": "T02",
            "seq": 1,
            "type": "sale",
            "v": 1,
            "at": "x",
            "payload": {},
        }
    ).encode()
    assert parse_event("till/S001/T01/events", raw) is None
    assert parse_event("till/S001/T02/events", raw) is not None
    assert parse_event("till/S001/T02/events", b"{not json") is None


def test_a_number_reused_with_another_id_is_kept_aside_not_lost(store: Store) -> None:
    original = event(1)
    store.store([original, event(2)], {})
    impostor = event(1)  # e.g. a till restored from an old copy numbering its events again
    assert store.store([impostor], {}) == {("S001", "T01"): (2, False)}
    conn = store.conn  # type: ignore[attr-defined]
    kept = conn.execute("SELECT event_id, seq FROM uplink_conflict").fetchall()
    assert [(str(r[0]), int(r[1])) for r in kept] == [(impostor.event_id, 1)]
    assert store.alerts == ["caisse S001/T01 : événement n°1 reçu avec un autre identifiant (mis de côté)"]
    store.store([original], {})  # a plain resend is no conflict
    assert store.alerts == []


def status(seq: int, sig: str) -> str:
    return json.dumps(
        {"online": True, "chain_head": {"key_id": "k", "journals": {"TICKET": {"seq": seq, "sig": sig}}}}
    )


def test_a_chain_head_that_goes_back_raises_an_alert(store: Store) -> None:
    key = ("S001", "T01")
    store.store([], {key: status(10, "s10")})
    store.store([], {key: status(12, "s12")})
    assert store.alerts == []
    store.store([], {key: json.dumps({"online": False, "bdseq": 1, "reason": "lost"})})  # a death: no head
    store.store([], {key: status(9, "s9")})  # restored from an older copy
    assert store.alerts == [
        "caisse S001/T01 : journal TICKET revenu du n°12 au n°9 (restauration ou suppression sur la caisse ?)"
    ]
    store.store([], {key: status(9, "other")})
    assert store.alerts == ["caisse S001/T01 : journal TICKET n°9 : signature différente de celle déjà reçue"]
    conn = store.conn  # type: ignore[attr-defined]
    assert conn.execute("SELECT COUNT(*) FROM uplink_alert").fetchone()[0] == 2
