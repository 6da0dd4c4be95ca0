"""Checkout commit latency: `till.checkout.complete()` for a 5-line basket vs. a bare SQLite + Ed25519 floor.

    .venv/bin/python benchmarks/bench_checkout.py [--n 300] [--profile]

Each checkout is one signed, chained ticket in one BEGIN IMMEDIATE transaction on a WAL database with
synchronous=FULL (fsync at commit), followed by the tail anchor file. The floor is the least any design
can do for the same durability: stdlib sqlite3, same pragmas, same temporary filesystem, one transaction
inserting a ticket row + 5 line rows of similar size, plus one Ed25519 signature. Checkout and floor
iterations are interleaved so both see the same disk conditions. Target: median checkout ≤ 2 × floor.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# python-escpos (imported by kiosk.till) makes a directory in TMPDIR at import, even when
# ESCPOS_CAPABILITIES_PICKLE_DIR is set: keep it, and all our data, in one scratch directory removed at exit.
SCRATCH = tempfile.TemporaryDirectory(prefix="bench-checkout-")
tempfile.tempdir = SCRATCH.name

from fiscal.journal import heads  # noqa: E402
from fiscal.schema import ensure_schema  # noqa: E402
from kiosk.catalogue.articles import ArticleView  # noqa: E402
from kiosk.demo.shop import open_demo_till  # noqa: E402
from kiosk.sale.basket import Basket  # noqa: E402
from kiosk.sale.checkout import cash_payment  # noqa: E402

TARGET_RATIO = 2.0
LINES = 5
WARMUP = 10


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class Floor:
    """Bare stdlib sqlite3, WAL + synchronous=FULL, one ticket row + 5 line rows + one Ed25519 signature."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(
            """
            CREATE TABLE ticket (id INTEGER PRIMARY KEY, till TEXT NOT NULL, seq INTEGER NOT NULL,
                ts_utc TEXT NOT NULL, total INTEGER NOT NULL, body TEXT NOT NULL, prev_sig TEXT NOT NULL,
                sig TEXT NOT NULL, UNIQUE (till, seq));
            CREATE TABLE line (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES ticket(id),
                ref TEXT NOT NULL, label TEXT NOT NULL, qty TEXT NOT NULL, unit INTEGER NOT NULL,
                vat INTEGER NOT NULL, amount INTEGER NOT NULL);
            """
        )
        self.key = Ed25519PrivateKey.generate()
        self.seq = 0
        self.prev_sig = ""

    def commit(self, lines: list[dict[str, object]], total: int) -> None:
        self.seq += 1
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        body = json.dumps(
            {"kind": "SALE", "lines": lines, "total": total, "tenders": [{"type": "cash", "amount": total}]},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        message = json.dumps([1, "T01", self.seq, ts, total, body, self.prev_sig]).encode()
        sig = base64.b64encode(self.key.sign(message)).decode("ascii")
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "INSERT INTO ticket (till, seq, ts_utc, total, body, prev_sig, sig) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("T01", self.seq, ts, total, body, self.prev_sig, sig),
        )
        conn.executemany(
            "INSERT INTO line (ticket_id, ref, label, qty, unit, vat, amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (cur.lastrowid, ln["ref"], ln["label"], ln["qty"], ln["unit"], ln["vat"], ln["amount"])
                for ln in lines
            ],
        )
        conn.execute("COMMIT")
        self.prev_sig = sig


def heads_cost(path: Path, records: int) -> float:
    """ms per `fiscal.journal.heads()` (run by anchor_heads after every checkout) on a journal of `records`.

    Synthetic unsigned rows in a throw-away database: only the query's cost is measured, not a chain.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    ensure_schema(conn)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO fiscal_record (till, journal, seq, rtype, ts_utc, tz_offset, day, total, body, prev_sig, "
        "key_id, sig) VALUES ('T01', ?, ?, 'SALE', '2025-01-01T08:00:00.000000Z', 60, '2025-01-01', 100, "
        "'{}', '', 'k', 's')",
        (("JET" if i % 10 == 0 else "TICKET", i) for i in range(1, records + 1)),
    )
    conn.execute("COMMIT")
    heads(conn, "T01")
    t0 = time.perf_counter()
    for _ in range(20):
        heads(conn, "T01")
    elapsed = (time.perf_counter() - t0) / 20 * 1000
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="timed checkouts (default 300)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the checkouts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-checkout-") as tmp:
        till = open_demo_till(Path(tmp) / "data")
        by_category: dict[str, ArticleView] = {}
        for article in till.catalogue.active_articles():
            if not article.sold_by_weight:
                by_category.setdefault(article.category, article)
        articles = list(by_category.values())[:LINES]  # 5 unit articles from 5 categories (mixed VAT)
        assert len(articles) == LINES, "the demo catalogue should have unit articles in 5 categories"
        cashier = next(m for m in till.staff.members() if m.role == "cashier")
        floor = Floor(Path(tmp) / "floor.sqlite")

        def basket() -> Basket:
            b = Basket()
            for article in articles:
                b.add_article(article)
            return b

        floor_lines: list[dict[str, object]] = [
            {
                "ref": ln.reference,
                "label": ln.label,
                "qty": str(ln.qty),
                "unit": ln.unit_cents,
                "vat": ln.vat_bp,
                "amount": ln.amount,
                "weight": ln.sold_by_weight,
            }
            for ln in basket().lines
        ]
        floor_total = sum(int(str(ln["amount"])) for ln in floor_lines)

        def checkout_once() -> float:
            b = basket()
            tenders, change = cash_payment(b.total, -(-b.total // 5000) * 5000)
            t0 = time.perf_counter()
            till.checkout.complete(b, tenders, change, cashier)
            return time.perf_counter() - t0

        def floor_once() -> float:
            t0 = time.perf_counter()
            floor.commit(floor_lines, floor_total)
            return time.perf_counter() - t0

        for _ in range(WARMUP):
            checkout_once()
            floor_once()
        checkout_ms: list[float] = []
        floor_ms: list[float] = []
        started = time.perf_counter()
        for _ in range(args.n):
            checkout_ms.append(checkout_once() * 1000)
            floor_ms.append(floor_once() * 1000)
        wall = time.perf_counter() - started

        profiler = None
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(100):
                checkout_once()
            profiler.disable()

        big_journal = 100_000
        heads_ms = heads_cost(Path(tmp) / "heads.sqlite", big_journal)
        records = till.db.connection().execute("SELECT COUNT(*) FROM fiscal_record").fetchone()[0]
        settings = [
            "/".join(str(conn.execute(f"PRAGMA {p}").fetchone()[0]) for p in ("journal_mode", "synchronous"))
            for conn in (till.db.connection(), floor.conn)
        ]
        till.db.close()
        floor.conn.close()

    c_med, f_med = percentile(checkout_ms, 50), percentile(floor_ms, 50)
    ratio = c_med / f_med
    tenth = max(1, args.n // 10)
    first, last = checkout_ms[:tenth], checkout_ms[-tenth:]
    print(f"checkout runs: {args.n} timed (+{WARMUP} warm-up) x {LINES} lines, {wall:.1f} s wall")
    print(f"checkout.complete median: {c_med:.2f} ms")
    print(f"checkout.complete p95: {percentile(checkout_ms, 95):.2f} ms")
    print(f"checkout.complete max: {max(checkout_ms):.2f} ms")
    print(
        f"checkout.complete median, first {tenth} vs last {tenth}: "
        f"{percentile(first, 50):.2f} ms -> {percentile(last, 50):.2f} ms ({records} fiscal records at the end)"
    )
    print(f"floor (sqlite3 WAL+FULL, 1 tx: ticket + {LINES} lines, 1 Ed25519 sig) median: {f_med:.2f} ms")
    print(f"floor p95: {percentile(floor_ms, 95):.2f} ms")
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"ratio checkout/floor (median): {ratio:.2f}x  target <= {TARGET_RATIO:.1f}x  {verdict}")
    print(
        f"fiscal.journal.heads() (anchor_heads, once per checkout) with {big_journal:,} records: "
        f"{heads_ms:.2f} ms (info: must stay flat as the journal grows)"
    )
    print(f"journal_mode/synchronous (2 = FULL): checkout {settings[0]}, floor {settings[1]}")
    if profiler is not None:
        print("--- cProfile of 100 more checkouts (cumulative) ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
