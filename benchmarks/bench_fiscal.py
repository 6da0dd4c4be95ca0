"""Fiscal journals at scale: full verification of 1,000,000 tickets, X/Z reports over a year, a month's archive.

    .venv/bin/python benchmarks/bench_fiscal.py [--tickets 1000000] [--year-tickets 300000] [--workers N]
                                                [--sequential] [--gen-budget 240]

(a) `--tickets` signed tickets, 1,000 a day, every day closed at 07:30 the next morning (and its month and
    year when it ends them, as the checkout's `close_pending` does at the first sale of a day), then a full
    `fiscal.verify.verify_path()` (keys, signatures, chaining, order, time, ticket contents, grand totals,
    closures recomputed from the tickets) shared between worker processes (one per CPU). Target: ≥ 20,000
    tickets/s. Floor: Ed25519 verification alone, the bulk of the work. `--sequential` also verifies the
    journal in one process (the speed-up; about twice as long as the parallel run).
(b) a year of data: `--year-tickets` tickets over the 365 days of 2025, closed the same way (365 days, 12
    months, the year). X report of a day, Z report of a day, a month and the year: each ≤ 200 ms (worst of
    5 runs). X reports of a month and of the year are printed for information (live sums of the tickets).
(c) `fiscal.archive.build_archive()` for one month of (b): target seconds (≤ 10 s).

Tickets are generated in bulk: realistic bodies (demo catalogue articles, VAT breakdown, cash or card,
1 % returns) serialised once, the grand totals spliced in, each record signed with the till key over
`canonical.signed_message()` and chained, one transaction per day; closures go through `fiscal.closures`.
Generation time is printed, not a target; `--gen-budget` stops a generation at the end of the day that
overruns it (the figures then say how many tickets were made). Everything lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fiscal import canonical
from fiscal.archive import build_archive
from fiscal.archive_check import verify_archive
from fiscal.closures import DAY, MONTH, YEAR, close_day, close_month, close_year, month_bounds
from fiscal.journal import COLUMNS, TICKET, FiscalLedger, transaction
from fiscal.keys import SigningKey, load_or_create_key
from fiscal.reports import x_report, z_report
from fiscal.timeutil import stamp
from fiscal.verify import Report, available_cpus, verify_path
from kiosk.common.money import line_total, vat_breakdown
from kiosk.demo.catalogue_data import ARTICLES

TILL = "T01"
TZ = ZoneInfo("Europe/Paris")
PER_DAY = 1_000
TARGET_VERIFY = 20_000  # tickets/s
TARGET_REPORT_MS = 200
TARGET_ARCHIVE_S = 10
REPORT_RUNS = 5
DATA_YEAR = 2025
INSERT = f"INSERT INTO fiscal_record ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
CASHIERS = ({"id": 1, "name": "Alice"}, {"id": 2, "name": "Marc"}, {"id": 3, "name": "Camille"})


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Clock:
    """The till's clock, moved by the generator."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Template:
    """A ticket body serialised canonically once, with a hole for its grand totals."""

    kind: str
    total: int
    before_gt: str
    after_gt: str

    def text(self, perpetual: int, absolute: int) -> str:
        return f'{self.before_gt}{{"absolute":{absolute},"perpetual":{perpetual}}}{self.after_gt}'


def _template(body: dict[str, object]) -> Template:
    mark = "\0gt\0"
    text = canonical.dumps(body | {"gt": mark})
    before, after = text.split(json.dumps(mark, ensure_ascii=False))
    template = Template(str(body["kind"]), int(str(body["total"])), before, after)
    sample = body | {"gt": {"perpetual": -12, "absolute": 345}}
    assert template.text(-12, 345) == canonical.dumps(sample), "the splice must be the canonical text"
    return template


def ticket_pool(rng: random.Random, size: int) -> list[Template]:
    """Bodies shaped like kiosk.sale.checkout.ticket_body(): 1 to 7 lines of the demo catalogue."""
    pool = []
    for _ in range(size):
        cashier = rng.choice(CASHIERS)
        if rng.randrange(100) == 0:  # a refund in cash: a negative ticket
            amount = rng.randint(100, 3000)
            rate = rng.choice((550, 1000, 2000))
            vat = vat_breakdown({rate: -amount})[0]
            body: dict[str, object] = {
                "kind": "RETURN",
                "cashier": cashier,
                "lines": [
                    {
                        "ref": "LIBRE",
                        "label": "Retour",
                        "qty": "1",
                        "unit": -amount,
                        "vat": rate,
                        "amount": -amount,
                    }
                ],
                "vat": [{"rate": rate, "ht": vat.ht, "tva": vat.tva, "ttc": vat.ttc}],
                "total": -amount,
                "tenders": [{"type": "cash", "amount": -amount}],
                "change": 0,
            }
            pool.append(_template(body))
            continue
        lines = []
        by_rate: dict[int, int] = {}
        for _ in range(rng.choice((1, 1, 2, 3, 4, 5, 7))):
            article = rng.choice(ARTICLES)
            if article.sold_by_weight:
                qty = Decimal(rng.randint(80, 1500)) / 1000
            else:
                qty = Decimal(rng.choice((1, 1, 1, 2, 3)))
            amount = line_total(article.price_cents, qty)
            lines.append(
                {
                    "ref": article.reference,
                    "label": article.name,
                    "qty": str(qty),
                    "unit": article.price_cents,
                    "vat": article.vat_bp,
                    "amount": amount,
                    "weight": article.sold_by_weight,
                }
            )
            by_rate[article.vat_bp] = by_rate.get(article.vat_bp, 0) + amount
        total = sum(by_rate.values())
        if rng.randrange(10) < 4:
            tenders, change = [{"type": "card", "amount": total}], 0
        else:
            given = total if rng.randrange(3) == 0 else -(-total // 500) * 500
            tenders, change = [{"type": "cash", "amount": given}], given - total
        body = {
            "kind": "SALE",
            "cashier": cashier,
            "lines": lines,
            "vat": [
                {"rate": v.rate_bp, "ht": v.ht, "tva": v.tva, "ttc": v.ttc} for v in vat_breakdown(by_rate)
            ],
            "total": total,
            "tenders": tenders,
            "change": change,
        }
        pool.append(_template(body))
    return pool


@dataclass
class Journal:
    path: Path
    key: SigningKey
    ledger: FiscalLedger
    first_day: date
    days: int = 0
    tickets: int = 0
    closures: int = 0
    seconds: float = 0.0
    cut_short: bool = False


def close_morning_after(ledger: FiscalLedger, conn: sqlite3.Connection, clock: Clock, day: date) -> int:
    """At 07:30 the next morning, close `day`, and its month and year when it ends them: the closures
    `close_pending` makes at the first sale of a day, asked for one by one (`close_pending` looks for
    unclosed days among all the tickets, which would make the generation quadratic)."""
    clock.now = datetime.combine(day + timedelta(days=1), clock_time(7, 30), TZ)
    with transaction(conn):
        close_day(ledger, conn, day)
        made = 1
        if (day + timedelta(days=1)).month != day.month:
            close_month(ledger, conn, day.year, day.month)
            made += 1
            if day.month == 12:
                close_year(ledger, conn, day.year)
                made += 1
    return made


def generate(directory: Path, tickets: int, first_day: date, days: int, seed: int, budget: float) -> Journal:
    """`tickets` tickets spread over `days` days from `first_day` (08:00 to 19:00), each day closed at
    07:30 the next morning, in a new till database under `directory`."""
    directory.mkdir(parents=True)
    key, _ = load_or_create_key(directory / "till-key.pem")
    clock = Clock(datetime.combine(first_day, clock_time(7, 30), TZ))
    ledger = FiscalLedger(TILL, key, clock)
    journal = Journal(directory / "till.sqlite", key, ledger, first_day)
    conn = sqlite3.connect(journal.path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # a scratch database: durability is not what is measured here
    ledger.setup(conn)
    pool = ticket_pool(random.Random(seed), 2_000)
    rng = random.Random(seed + 1)
    seq, prev_sig, perpetual, absolute = 0, "", 0, 0
    started = time.perf_counter()
    for index in range(days):
        if time.perf_counter() - started > budget:
            journal.cut_short = True
            break
        day = first_day + timedelta(days=index)
        if index:
            journal.closures += close_morning_after(ledger, conn, clock, day - timedelta(days=1))
        count = tickets // days + (1 if index < tickets % days else 0)
        when = datetime.combine(day, clock_time(8), TZ)
        step = timedelta(hours=11) / max(count, 1)
        rows = []
        for _ in range(count):
            template = pool[rng.randrange(len(pool))]
            seq += 1
            perpetual += template.total
            absolute += abs(template.total)
            ts_utc, tz_offset, day_text = stamp(when)
            fields = {
                "till": TILL,
                "journal": TICKET,
                "seq": seq,
                "rtype": template.kind,
                "ts_utc": ts_utc,
                "tz_offset": tz_offset,
                "day": day_text,
                "total": template.total,
                "body": template.text(perpetual, absolute),
                "prev_sig": prev_sig,
                "key_id": key.key_id,
            }
            prev_sig = key.sign(canonical.signed_message(**fields))  # type: ignore[arg-type]
            rows.append((*fields.values(), prev_sig))
            when += step
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        journal.days += 1
        journal.tickets += count
    if journal.days:
        journal.closures += close_morning_after(
            ledger, conn, clock, first_day + timedelta(days=journal.days - 1)
        )
    journal.seconds = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return journal


def timed_verify(journal: Journal, workers: int) -> tuple[float, Report]:
    started = time.perf_counter()
    report = verify_path(journal.path, workers=workers)
    elapsed = time.perf_counter() - started
    if not report.ok:
        for problem in report.problems[:10]:
            print(f"  unexpected problem: {problem.line()}")
        raise SystemExit(f"the generated journal does not verify ({len(report.problems)} problems)")
    return elapsed, report


def signature_floor(samples: int = 4_000) -> float:
    """Ed25519 verifications per second, one core, nothing else (cryptography / OpenSSL)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    messages = [f"record {i}".encode() * 8 for i in range(samples)]
    signatures = [base64.b64encode(private.sign(m)).decode() for m in messages]
    started = time.perf_counter()
    for message, signature in zip(messages, signatures, strict=True):
        public.verify(base64.b64decode(signature), message)
    return samples / (time.perf_counter() - started)


def worst_ms(action: object, runs: int = REPORT_RUNS) -> tuple[float, float]:
    """(median, max) in ms of `runs` calls of `action` (the first one included)."""
    assert callable(action)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2], max(times)


def bench_verify(tmp: Path, args: argparse.Namespace, workers: int) -> None:
    days = max(1, -(-args.tickets // PER_DAY))
    journal = generate(tmp / "million", args.tickets, date(2023, 1, 2), days, seed=1, budget=args.gen_budget)
    size_mb = journal.path.stat().st_size / 1e6
    cut = " (cut short by --gen-budget)" if journal.cut_short else ""
    print(
        f"(a) generated {journal.tickets:,} signed tickets over {journal.days} days + {journal.closures} closures "
        f"in {journal.seconds:.1f} s ({journal.tickets / journal.seconds:,.0f} tickets/s, {size_mb:,.0f} MB){cut}"
    )
    floor = signature_floor()
    print(
        f"floor: Ed25519 verify alone, 1 core: {floor:,.0f} signatures/s "
        f"(ceiling with {workers} workers, nothing else done: {floor * workers:,.0f}/s)"
    )
    parallel_s, report = timed_verify(journal, workers)
    tickets = report.journals.get(TICKET, 0)
    rate = tickets / parallel_s
    print(
        f"full verification, parallel ({workers} workers): {tickets:,} tickets ({report.records:,} records) "
        f"in {parallel_s:.1f} s = {rate:,.0f} tickets/s  target >= {TARGET_VERIFY:,}/s  "
        f"{verdict(rate >= TARGET_VERIFY)}"
    )
    if args.sequential:
        sequential_s, _ = timed_verify(journal, 1)
        print(
            f"full verification, sequential (1 process): {sequential_s:.1f} s = {tickets / sequential_s:,.0f} "
            f"tickets/s (info; parallel speed-up {sequential_s / parallel_s:.2f}x)"
        )
    for name in ("till.sqlite", "till.sqlite-wal", "till.sqlite-shm"):
        (journal.path.parent / name).unlink(missing_ok=True)


def bench_year(tmp: Path, args: argparse.Namespace) -> None:
    first = date(DATA_YEAR, 1, 1)
    days = (date(DATA_YEAR + 1, 1, 1) - first).days
    journal = generate(tmp / "year", args.year_tickets, first, days, seed=2, budget=args.gen_budget)
    cut = " (cut short by --gen-budget)" if journal.cut_short else ""
    print(
        f"(b) generated a year: {journal.tickets:,} tickets over {journal.days} days + {journal.closures} "
        f"closures in {journal.seconds:.1f} s{cut}"
    )
    conn = sqlite3.connect(f"{journal.path.absolute().as_uri()}?mode=ro", uri=True)
    ledger = journal.ledger
    mid = first + timedelta(days=min(journal.days, days) // 2)
    month = f"{mid.year:04d}-{mid.month:02d}"
    day_tickets = x_report(ledger, conn, mid).totals["tickets"]
    checks = [
        (f"x_report, day {mid} ({day_tickets} tickets)", lambda: x_report(ledger, conn, mid)),
        (f"z_report, day {mid}", lambda: z_report(ledger, conn, mid, DAY)),
        (f"z_report, month {month}", lambda: z_report(ledger, conn, month, MONTH)),
        (f"z_report, year {DATA_YEAR}", lambda: z_report(ledger, conn, f"{DATA_YEAR}", YEAR)),
    ]
    for label, action in checks:
        try:
            median, worst = worst_ms(action)
        except Exception as exc:  # e.g. no closure when the generation was cut short
            print(f"{label}: failed ({exc})  target <= {TARGET_REPORT_MS} ms  MISS")
            continue
        print(
            f"{label}: median {median:.1f} ms, worst of {REPORT_RUNS} {worst:.1f} ms  "
            f"target <= {TARGET_REPORT_MS} ms  {verdict(worst <= TARGET_REPORT_MS)}"
        )
    start, end = month_bounds(mid.year, mid.month)
    month_x, _ = worst_ms(lambda: x_report(ledger, conn, start, end), runs=3)
    print(
        f"x_report, month {month} (live, {x_report(ledger, conn, start, end).totals['tickets']:,} tickets): "
        f"median {month_x:.0f} ms (info)"
    )
    started = time.perf_counter()
    year_x = x_report(ledger, conn, first, date(DATA_YEAR, 12, 31))
    print(
        f"x_report, year {DATA_YEAR} (live, {year_x.totals['tickets']:,} tickets): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms (info)"
    )

    out = tmp / "archives"
    out.mkdir()
    started = time.perf_counter()
    rw = sqlite3.connect(journal.path)
    info = build_archive(
        rw, journal.key, TILL, month, out, siren="823456785", when=datetime(DATA_YEAR + 1, 1, 2, 9, tzinfo=TZ)
    )
    archive_s = time.perf_counter() - started
    rw.close()
    print(
        f"(c) build_archive, month {month}: {sum(info.records.values()):,} records, {info.size / 1e6:.1f} MB "
        f"in {archive_s:.1f} s  target <= {TARGET_ARCHIVE_S} s  {verdict(archive_s <= TARGET_ARCHIVE_S)}"
    )
    started = time.perf_counter()
    checked = verify_archive(info.path)
    print(
        f"verify_archive, month {month}: {time.perf_counter() - started:.1f} s "
        f"({'intègre' if checked.ok else f'{len(checked.problems)} problems'}) (info)"
    )
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tickets", type=int, default=1_000_000, help="tickets to verify (default 1,000,000)"
    )
    parser.add_argument(
        "--year-tickets", type=int, default=300_000, help="tickets in the year (default 300,000)"
    )
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="also verify the --tickets journal in one process, for the speed-up (about twice the parallel "
        "time)",
    )
    parser.add_argument(
        "--gen-budget", type=float, default=240, help="seconds allowed to each generation (default 240)"
    )
    args = parser.parse_args()
    workers = args.workers or available_cpus()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-fiscal-") as tmp:
        bench_verify(Path(tmp), args, workers)
        bench_year(Path(tmp), args)
    print(f"total wall time {time.perf_counter() - started:.0f} s on {available_cpus()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
