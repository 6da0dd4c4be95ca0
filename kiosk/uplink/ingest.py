"""The reference portal ingest: stores every till event exactly once, in order per till, then acks.

Events arrive on `till/{shop}/+/events` (QoS 1, persistent session). A worker stores them in batches, in
one database transaction per batch: per till, only the next sequence number is accepted (earlier ones are
duplicates, already stored; a later one means something is missing, reported as a gap so that the till
resends); the event id is the primary key. The cumulative ack is published after the commit, so a crash
between the two only causes a resend, which the order check and the key turn into a no-op.

Each fiscal event (sale, return, closure, archive, JET) is verified on arrival, signature and chain
link (`kiosk.uplink.portal_check`), its verdict stored with it; the till's keys come from its status,
read before the batch's events. Problems go to `uplink_alert`, beside the chain-head regressions.

PostgreSQL in production (psycopg; several workers may share the load: the per-till row lock keeps the
order); SQLite for the demo.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from kiosk.uplink import topics
from kiosk.uplink.portal_check import KnownKey, TillState
from kiosk.uplink.settings import UplinkSettings

log = logging.getLogger(__name__)

BATCH = 2000
RELAYED = ("stock_movement", "loyalty_line")  # applied by the shop's other tills (kiosk.uplink.inbound)
SESSION_EXPIRY_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Incoming:
    event_id: str
    shop: str
    till: str
    seq: int
    type: str
    schema: int
    created_at: str
    payload: str  # the payload's JSON text
    base: int = 0  # the till's last acknowledged sequence when it sent this event


def parse_event(topic: str, raw: bytes) -> Incoming | None:
    """An event as published by a till; None when malformed or not on its own till's topic."""
    where = topics.parse(topic)
    try:
        data = json.loads(raw)
        event = Incoming(
            str(data["id"]),
            str(data["shop"]),
            str(data["till"]),
            int(data["seq"]),
            str(data["type"]),
            int(data["v"]),
            str(data["at"]),
            json.dumps(data["payload"], separators=(",", ":"), ensure_ascii=False),
            int(data.get("base", 0)),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if where is None or (where[0], where[1]) != (event.shop, event.till) or not 0 <= event.base < event.seq:
        return None
    return event


class Store(Protocol):
    accepted: list[Incoming]  # the events the last `store()` call inserted
    alerts: list[str]  # what the last `store()` call found wrong (French)

    def tills(self, shop: str) -> list[str]: ...

    def store(
        self, events: list[Incoming], statuses: dict[tuple[str, str], str]
    ) -> dict[tuple[str, str], tuple[int, bool]]: ...

    def close(self) -> None: ...


def _accept(last: int, events: Iterable[Incoming]) -> tuple[list[Incoming], int, bool]:
    """The events that extend a till's sequence after `last`; (accepted, new last, gap seen).

    The till's acknowledged base moves `last` forward: those events were stored by a portal already
    (this one before its database was restored, or the previous portal)."""
    events = sorted(events, key=lambda e: e.seq)
    base = max(e.base for e in events)
    if base > last:
        log.warning(
            "ingest: %s/%s reprend après l'événement %s (déjà accusé)", events[0].shop, events[0].till, base
        )
        last = base
    accepted: list[Incoming] = []
    for event in events:
        if event.seq <= last:
            continue  # already stored (a resend)
        if event.seq != last + 1:
            return accepted, last, True
        accepted.append(event)
        last = event.seq
    return accepted, last, False


def _groups(events: list[Incoming]) -> dict[tuple[str, str], list[Incoming]]:
    groups: dict[tuple[str, str], list[Incoming]] = {}
    for event in events:
        groups.setdefault((event.shop, event.till), []).append(event)
    return groups


def chain_regression(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """What a till's newly published chain head undoes of the previous one (French; NF525 remote anchor):
    a journal whose head went back, or the same record number with another signature."""
    if not old or not new:
        return []
    problems = []
    before, after = old.get("journals") or {}, new.get("journals") or {}
    for journal, head in sorted(before.items()):
        now = after.get(journal)
        if now is None or int(now["seq"]) < int(head["seq"]):
            problems.append(
                f"journal {journal} revenu du n°{head['seq']} au n°{now['seq'] if now else 0} "
                "(restauration ou suppression sur la caisse ?)"
            )
        elif int(now["seq"]) == int(head["seq"]) and now.get("sig") != head.get("sig"):
            problems.append(f"journal {journal} n°{head['seq']} : signature différente de celle déjà reçue")
    return problems


class SqlStore:
    """The ingest's tables and rules, for PostgreSQL and SQLite (the dialects differ in a few words)."""

    ph = "?"
    jsonb = ""
    lock = ""
    now = "CURRENT_TIMESTAMP"
    conn: Any

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS uplink_event ("
        " event_id {uuid} PRIMARY KEY, shop text NOT NULL, till text NOT NULL, seq bigint NOT NULL,"
        " type text NOT NULL, schema integer NOT NULL, payload {json} NOT NULL, created_at text NOT NULL,"
        " received_at {ts} NOT NULL DEFAULT {now}, verdict text, UNIQUE (shop, till, seq))",
        "CREATE TABLE IF NOT EXISTS uplink_till ("
        " shop text NOT NULL, till text NOT NULL, last_seq bigint NOT NULL, PRIMARY KEY (shop, till))",
        # the last status of each till, and the last chain head it published (a death has none)
        "CREATE TABLE IF NOT EXISTS uplink_status ("
        " shop text NOT NULL, till text NOT NULL, status {json} NOT NULL, chain_head {json},"
        " updated_at {ts} NOT NULL DEFAULT {now}, PRIMARY KEY (shop, till))",
        # an event whose (till, seq) was already stored under another id: kept for a human, never lost
        "CREATE TABLE IF NOT EXISTS uplink_conflict ("
        " event_id {uuid} PRIMARY KEY, shop text NOT NULL, till text NOT NULL, seq bigint NOT NULL,"
        " type text NOT NULL, payload {json} NOT NULL, received_at {ts} NOT NULL DEFAULT {now}, verdict text)",
        "CREATE TABLE IF NOT EXISTS uplink_alert ("
        " shop text NOT NULL, till text NOT NULL, message text NOT NULL, at {ts} NOT NULL DEFAULT {now})",
        # each till's public keys (kiosk.uplink.portal_check: first use, rotations, refused)
        "CREATE TABLE IF NOT EXISTS uplink_key ("
        " shop text NOT NULL, till text NOT NULL, key_id text NOT NULL, public_pem text NOT NULL,"
        " trust text NOT NULL, introduced_by text, valid_from text NOT NULL,"
        " received_at {ts} NOT NULL DEFAULT {now}, PRIMARY KEY (shop, till, key_id))",
        # the last record received of each fiscal journal of each till: the next one must chain to it
        "CREATE TABLE IF NOT EXISTS uplink_chain ("
        " shop text NOT NULL, till text NOT NULL, journal text NOT NULL, seq bigint NOT NULL,"
        " sig text NOT NULL, verified integer NOT NULL, PRIMARY KEY (shop, till, journal))",
    )
    # columns added after the first portals were installed: (table, column, type)
    ADDED = (("uplink_event", "verdict", "text"), ("uplink_conflict", "verdict", "text"))

    def _create(self, uuid: str, json_type: str, ts: str) -> None:
        for statement in self.SCHEMA:
            self.conn.execute(statement.format(uuid=uuid, json=json_type, ts=ts, now=self.now))
        for table, column, kind in self.ADDED:
            if column not in self._columns(table):
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self.accepted: list[Incoming] = []
        self.alerts: list[str] = []

    def _sql(self, text: str) -> str:
        return text.replace("?", self.ph).replace("::json", self.jsonb)

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def tills(self, shop: str) -> list[str]:
        rows = self.conn.execute(
            self._sql("SELECT till FROM uplink_till WHERE shop = ? ORDER BY till"), (shop,)
        )
        found = [str(row[0]) for row in rows.fetchall()]
        self._commit()
        return found

    def store(
        self, events: list[Incoming], statuses: dict[tuple[str, str], str]
    ) -> dict[tuple[str, str], tuple[int, bool]]:
        """One transaction: the events that extend each till's sequence, conflicts, statuses."""
        results = {}
        self.accepted, self.alerts = [], []
        sql = self._sql
        groups = _groups(events)
        self._begin()
        try:
            cur = self.conn.cursor()
            # every till of the batch locked in one order (several workers), its keys and heads read
            states = {key: self._state(cur, *key) for key in sorted(set(groups) | set(statuses))}
            for (shop, till), status in statuses.items():  # first: a status brings the till's keys
                self._status(cur, shop, till, status, states[(shop, till)][0])
            for (shop, till), group in sorted(groups.items()):
                state, previous = states[(shop, till)]
                accepted, last, gap = _accept(previous, group)
                self._conflicts(cur, state, [e for e in group if e.seq <= previous])
                self.accepted.extend(accepted)
                if accepted:
                    cur.executemany(
                        sql(
                            "INSERT INTO uplink_event"
                            " (event_id, shop, till, seq, type, schema, payload, created_at, verdict)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?::json, ?, ?) ON CONFLICT DO NOTHING"
                        ),
                        [
                            (
                                e.event_id,
                                e.shop,
                                e.till,
                                e.seq,
                                e.type,
                                e.schema,
                                e.payload,
                                e.created_at,
                                self._check(cur, state, e),
                            )
                            for e in accepted
                        ],
                    )
                    cur.execute(
                        sql("UPDATE uplink_till SET last_seq = ? WHERE shop = ? AND till = ?"),
                        (last, shop, till),
                    )
                results[(shop, till)] = (last, gap)
            for state, _ in states.values():
                self._save(cur, state)
        except BaseException:
            self._rollback()
            raise
        self._commit()
        for alert in self.alerts:
            log.warning("ingest: %s", alert)
        return results

    def _conflicts(self, cur: Any, state: TillState, resent: list[Incoming]) -> None:
        """Resends must carry the id already stored for their number; anything else is kept aside
        (and its record checked: a till restored from an old copy signs numbers the portal has)."""
        if not resent:
            return
        shop, till = state.shop, state.till
        marks = ", ".join(self.ph for _ in resent)
        cur.execute(
            self._sql("SELECT seq, event_id FROM uplink_event WHERE shop = ? AND till = ? AND seq IN (")
            + marks
            + ")",
            (shop, till, *(e.seq for e in resent)),
        )
        known = {int(seq): str(event_id) for seq, event_id in cur.fetchall()}
        for event in resent:
            if event.seq in known and known[event.seq] != event.event_id:
                self._alert(
                    cur, shop, till, f"événement n°{event.seq} reçu avec un autre identifiant (mis de côté)"
                )
                cur.execute(
                    self._sql(
                        "INSERT INTO uplink_conflict (event_id, shop, till, seq, type, payload, verdict)"
                        " VALUES (?, ?, ?, ?, ?, ?::json, ?) ON CONFLICT DO NOTHING"
                    ),
                    (
                        event.event_id,
                        shop,
                        till,
                        event.seq,
                        event.type,
                        event.payload,
                        self._check(cur, state, event),
                    ),
                )

    def _state(self, cur: Any, shop: str, till: str) -> tuple[TillState, int]:
        """Lock the till's row, read its last sequence, its keys and its journal heads."""
        sql = self._sql
        cur.execute(
            sql("INSERT INTO uplink_till (shop, till, last_seq) VALUES (?, ?, 0) ON CONFLICT DO NOTHING"),
            (shop, till),
        )
        cur.execute(
            sql("SELECT last_seq FROM uplink_till WHERE shop = ? AND till = ?") + self.lock, (shop, till)
        )
        previous = int(cur.fetchone()[0])
        state = TillState(shop, till)
        cur.execute(
            sql(
                "SELECT key_id, public_pem, trust, introduced_by, valid_from FROM uplink_key"
                " WHERE shop = ? AND till = ?"
            ),
            (shop, till),
        )
        for row in cur.fetchall():
            state.keys[row[0]] = KnownKey(*(str(v) if v is not None else None for v in row))  # type: ignore[arg-type]
        cur.execute(
            sql("SELECT journal, seq, sig, verified FROM uplink_chain WHERE shop = ? AND till = ?"),
            (shop, till),
        )
        for journal, seq, sig, verified in cur.fetchall():
            state.chain[str(journal)] = (int(seq), str(sig), bool(verified))
        return state, previous

    def _check(self, cur: Any, state: TillState, event: Incoming) -> str | None:
        """The event's verdict (stored with it); each problem becomes an alert."""
        verdict, problems = state.check(json.loads(event.payload))
        for problem in problems:
            self._alert(cur, state.shop, state.till, f"événement n°{event.seq} ({event.type}) : {problem}")
        return verdict

    def _save(self, cur: Any, state: TillState) -> None:
        sql = self._sql
        if state.new_keys:
            cur.executemany(
                sql(
                    "INSERT INTO uplink_key (shop, till, key_id, public_pem, trust, introduced_by, valid_from)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                [
                    (state.shop, state.till, k.key_id, k.public_pem, k.trust, k.introduced_by, k.valid_from)
                    for k in state.new_keys
                ],
            )
        if state.moved:
            cur.executemany(
                sql(
                    "INSERT INTO uplink_chain (shop, till, journal, seq, sig, verified) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (shop, till, journal) DO UPDATE SET seq = excluded.seq, sig = excluded.sig,"
                    " verified = excluded.verified"
                ),
                [
                    (state.shop, state.till, journal, *state.chain[journal][:2], int(state.chain[journal][2]))
                    for journal in sorted(state.moved)
                ],
            )

    def _status(self, cur: Any, shop: str, till: str, text: str, state: TillState) -> None:
        status = json.loads(text)
        head = status.get("chain_head") if isinstance(status, dict) else None
        if isinstance(status, dict):
            for problem in state.learn_status(status.get("fiscal_keys")):
                self._alert(cur, shop, till, problem)
        cur.execute(
            self._sql("SELECT chain_head FROM uplink_status WHERE shop = ? AND till = ?"), (shop, till)
        )
        row = cur.fetchone()
        previous = row[0] if row else None
        if isinstance(previous, str):
            previous = json.loads(previous)
        for problem in chain_regression(previous, head):
            self._alert(cur, shop, till, problem)
        cur.execute(
            self._sql(
                "INSERT INTO uplink_status (shop, till, status, chain_head) VALUES (?, ?, ?::json, ?::json)"
                " ON CONFLICT (shop, till) DO UPDATE SET status = excluded.status,"
                " chain_head = COALESCE(excluded.chain_head, uplink_status.chain_head), updated_at = "
            )
            + self.now,
            (shop, till, text, json.dumps(head) if head else None),
        )

    def _alert(self, cur: Any, shop: str, till: str, message: str) -> None:
        text = f"caisse {shop}/{till} : {message}"
        cur.execute(
            self._sql("INSERT INTO uplink_alert (shop, till, message) VALUES (?, ?, ?)"), (shop, till, text)
        )
        self.alerts.append(text)

    def _columns(self, table: str) -> set[str]:
        raise NotImplementedError

    def close(self) -> None:
        self.conn.close()


class PostgresStore(SqlStore):
    ph = "%s"
    jsonb = "::jsonb"
    lock = " FOR UPDATE"  # several ingest workers: one till's events are stored by one at a time
    now = "now()"

    def __init__(self, dsn: str, schema: str | None = None):
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)
        if schema:
            self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.conn.execute(f'SET search_path TO "{schema}"')
        self._create("uuid", "jsonb", "timestamptz")
        self.conn.autocommit = False

    def _columns(self, table: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = %s AND table_schema = current_schema()",
            (table,),
        )
        return {str(row[0]) for row in rows.fetchall()}

    def _begin(self) -> None:
        pass  # psycopg opens the transaction with the first statement

    def _commit(self) -> None:
        self.conn.commit()

    def _rollback(self) -> None:
        self.conn.rollback()


class SqliteStore(SqlStore):
    """The demo portal's store: same tables and rules in one SQLite file."""

    def __init__(self, path: str):
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode = wal")
        self._create("text", "text", "text")

    def _columns(self, table: str) -> set[str]:
        return {str(row[1]) for row in self.conn.execute(f"PRAGMA table_info({table})").fetchall()}

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")


def open_store(url: str, schema: str | None = None) -> Store:
    """postgresql://... (PostgreSQL) or sqlite:PATH (demo)."""
    if url.startswith("sqlite:"):
        return SqliteStore(url.removeprefix("sqlite:").removeprefix("//"))
    return PostgresStore(url, schema)


class Ingest:
    """Subscribes to a shop's tills (or all: shop "+"), stores, acks. `run()` blocks until `stop()`."""

    def __init__(
        self,
        settings: UplinkSettings,
        store: Store,
        shop: str = "+",
        client_id: str | None = None,
        *,
        share: str | None = None,
        relay: tuple[str, ...] = RELAYED,
        reopen: Callable[[], Store] | None = None,
    ):
        self.settings = settings
        self.store = store
        self.reopen = reopen  # a new store after a database error (PostgreSQL restarted...)
        self.shop = shop
        self.share = share
        self.relay = relay
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self.stored = 0
        name = client_id or f"portal-ingest-{shop if shop != '+' else 'all'}"
        self.client = settings.client(name, persistent=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda client, userdata, message: self._queue.put(
            (message.topic, bytes(message.payload))
        )

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("ingest: connexion refusée (%s)", reason)
            return
        base = f"{topics.ROOT}/{self.shop}/+"
        events = f"$share/{self.share}/{base}/events" if self.share else f"{base}/events"
        client.subscribe([(events, 1), (f"{base}/status", 1)])
        self.ready.set()

    def run(self) -> None:
        self.settings.start(self.client, SESSION_EXPIRY_S)
        try:
            while not self._stop.is_set():
                try:
                    self.drain(timeout=0.2)
                except Exception:  # nothing of that batch was acked: the tills send it again
                    log.exception("ingest: erreur de la base du portail, nouvel essai dans une seconde")
                    self._stop.wait(1)
                    self._reconnect()
        finally:
            self.client.loop_stop()
            self.client.disconnect()

    def stop(self) -> None:
        self._stop.set()

    def _reconnect(self) -> None:
        if self.reopen is None:
            return
        try:
            self.store.close()
        except Exception:
            log.debug("ingest: fermeture de l'ancienne connexion impossible", exc_info=True)
        try:
            self.store = self.reopen()
        except Exception:
            log.exception("ingest: base du portail toujours inaccessible")

    def drain(self, timeout: float) -> int:
        """Store one batch of what arrived (waiting up to `timeout` for the first message), then ack."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return 0
        messages = [first]
        while len(messages) < BATCH:
            try:
                messages.append(self._queue.get_nowait())
            except queue.Empty:
                break
        events, statuses = [], {}
        for topic, raw in messages:
            where = topics.parse(topic)
            if where is None:
                continue
            if where[2] == "status":
                try:
                    json.loads(raw)
                except ValueError:
                    continue
                statuses[(where[0], where[1])] = raw.decode("utf-8", "replace")
                continue
            event = parse_event(topic, raw)
            if event is None:
                log.warning("ingest: événement illisible sur %s ignoré", topic)
                continue
            events.append(event)
        results = self.store.store(events, statuses)
        for (shop, till), (last, gap) in results.items():
            payload = json.dumps({"seq": last, "gap": gap}).encode()
            self.client.publish(topics.ack(shop, till), payload, qos=1)
        self.stored += len(events)
        self._relay(self.store.accepted)
        return len(messages)

    def _relay(self, accepted: list[Incoming]) -> None:
        """Stock movements and loyalty lines go to the other tills of the shop (applied once by id)."""
        for event in accepted:
            if event.type not in self.relay:
                continue
            message = json.dumps(
                {
                    "id": event.event_id,
                    "shop": event.shop,
                    "from": event.till,
                    "seq": event.seq,
                    "type": event.type,
                    "v": event.schema,
                    "at": event.created_at,
                    "payload": json.loads(event.payload),
                }
            ).encode()
            for till in self.store.tills(event.shop):
                if till != event.till:
                    self.client.publish(topics.inbound(event.shop, till), message, qos=1)
