"""Device paths without the UI: scanner key events → sale line, and a 40-line receipt → ESC/POS bytes.

    .venv/bin/python benchmarks/bench_devices.py [--scans 2000] [--rounds 5] [--renders 200]

(a) Scanner. EAN-13 codes of the demo catalogue are turned into the evdev events an AZERTY ("fr")
keyboard-wedge scanner sends (`drivers.scanner.scan_events`: Shift around every digit, a SYN_REPORT
after every key event, Enter at the end) and fed to a `ScanDecoder`: alone, then with
`Catalogue.by_code()` + `Basket.add_article()` on the demo till for every code read (a new basket
every 40 scans, so lines accumulate as at the till). Floors: the same loop over the same events doing
nothing, and calling a no-op method per event. Each figure is the median of `--rounds` passes.
Target: decoder + look-up + basket line ≤ 1 ms per scan (mean); a scanner takes 20-100 ms to type a code.

(b) Receipt. A 40-line basket (40 different unit articles) is rung up through the real path,
`till.checkout.complete()` paid in cash, then `kiosk.receipt.sale_receipt()` + `till.render()` (ESC/POS
bytes and the on-screen preview) is timed `--renders` times; then `till.render()` alone, the bytes alone
(`drivers.printer.render`), and the bytes with a 576 x 160 logo (cached after its first print, and
converted afresh). Target: sale_receipt + till.render p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

# python-escpos (imported by kiosk.till) makes a directory in TMPDIR at import, even when
# ESCPOS_CAPABILITIES_PICKLE_DIR is set: keep it, and all our data, in one scratch directory removed at exit.
SCRATCH = tempfile.TemporaryDirectory(prefix="bench-devices-")
tempfile.tempdir = SCRATCH.name

from drivers.printer import Logo, render  # noqa: E402
from drivers.scanner import ScanDecoder, scan_events  # noqa: E402
from kiosk.catalogue.articles import ArticleView  # noqa: E402
from kiosk.demo.shop import open_demo_till  # noqa: E402
from kiosk.receipts.render import sale_receipt  # noqa: E402
from kiosk.sale.basket import Basket  # noqa: E402
from kiosk.sale.checkout import cash_payment  # noqa: E402
from kiosk.till import Till  # noqa: E402

TARGET_SCAN_MS = 1.0
TARGET_RECEIPT_P95_MS = 50.0
BASKET_LINES = 40
WARMUP = 10
LOGO_SIZE = (576, 160)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- (a) scanner ----------------------------------------------------------------------------------------


def ean13_codes(till: Till) -> list[str]:
    """The demo's EAN-13 barcodes of unit articles, each checked to sell an article."""
    rows = till.db.connection().execute("SELECT code FROM barcode ORDER BY code").fetchall()
    codes = [code for (code,) in rows if len(code) == 13 and code.isdigit()]
    sold = [
        code for code in codes if (article := till.catalogue.by_code(code)) and not article.sold_by_weight
    ]
    assert len(sold) >= BASKET_LINES, f"the demo catalogue should have {BASKET_LINES} EAN-13 unit articles"
    return sold


class NoOp:
    def feed(self, event: object) -> None:
        return None


def bench_scanner(till: Till, scans: int, rounds: int) -> None:
    codes = ean13_codes(till)
    chosen = [codes[i % len(codes)] for i in range(scans)]
    events = []
    for i, code in enumerate(chosen):
        events += scan_events(code, layout="fr", start=1_700_000_000 + i)  # fixed clock: same every run
    per_scan = len(events) / scans
    catalogue = till.catalogue

    def floor_loop() -> int:
        for _event in events:
            pass
        return 0

    def floor_call() -> int:
        sink = NoOp()
        for event in events:
            sink.feed(event)
        return 0

    def decoder_only() -> int:
        decoder = ScanDecoder("fr")
        read = 0
        for event in events:
            result = decoder.feed(event)
            if result is not None and result.code is not None:
                read += 1
        return read

    def decoder_and_line() -> int:
        decoder = ScanDecoder("fr")
        basket = Basket()
        read = 0
        for event in events:
            result = decoder.feed(event)
            if result is None or result.code is None:
                continue
            article = catalogue.by_code(result.code)
            assert article is not None
            basket.add_article(article)
            read += 1
            if read % BASKET_LINES == 0:
                basket = Basket()
        return read

    def best_of(run: Callable[[], int], expect: int) -> float:
        """Median seconds of `rounds` passes (after one warm-up pass)."""
        assert run() == expect
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            read = run()
            times.append(time.perf_counter() - t0)
            assert read == expect, f"{read} codes read, {expect} expected"
        return statistics.median(times)

    results = {
        "floor: loop over the events, nothing done": best_of(floor_loop, 0),
        "floor: loop + one no-op method call per event": best_of(floor_call, 0),
        "ScanDecoder.feed alone": best_of(decoder_only, scans),
        "ScanDecoder.feed + Catalogue.by_code + Basket.add_article": best_of(decoder_and_line, scans),
    }
    print(
        f"scanner: {scans} EAN-13 scans, AZERTY, {len(events):,} evdev events ({per_scan:.0f} per scan), "
        f"median of {rounds} passes"
    )
    for name, seconds in results.items():
        print(
            f"{name}: {len(events) / seconds:,.0f} events/s, {scans / seconds:,.0f} scans/s, "
            f"{seconds / scans * 1e6:.1f} µs/scan"
        )
    full = results["ScanDecoder.feed + Catalogue.by_code + Basket.add_article"] / scans * 1000
    decoder = results["ScanDecoder.feed alone"] / scans * 1000
    print(
        f"scan -> sale line: {full:.3f} ms/scan ({full - decoder:.3f} ms look-up + basket)  "
        f"target <= {TARGET_SCAN_MS:.1f} ms  {verdict(full <= TARGET_SCAN_MS)}"
    )


# --- (b) receipt ----------------------------------------------------------------------------------------


def timed(run: Callable[[], object], n: int) -> list[float]:
    for _ in range(WARMUP):
        run()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def figures(name: str, times: list[float]) -> str:
    return f"{name}: median {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms"


def make_logo(path: Path) -> None:
    """A black-and-white shop sign with a grey band (dithered), as a PNG."""
    image = Image.new("L", LOGO_SIZE, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, LOGO_SIZE[0] - 5, LOGO_SIZE[1] - 5), outline=0, width=6)
    draw.ellipse((40, 30, 140, 130), fill=0)
    draw.rectangle((170, 60, 530, 100), fill=128)
    draw.text((180, 120), "EPICERIE DU MARCHE", fill=0)
    image.save(path)


def bench_receipt(till: Till, renders: int, tmp: Path) -> None:
    unit = [a for a in till.catalogue.active_articles() if not a.sold_by_weight]
    articles: list[ArticleView] = unit[:BASKET_LINES]
    assert len(articles) == BASKET_LINES, f"the demo catalogue should have {BASKET_LINES} unit articles"
    basket = Basket()
    for article in articles:
        basket.add_article(article)
    assert len(basket.lines) == BASKET_LINES
    tenders, change = cash_payment(basket.total, -(-basket.total // 5000) * 5000)
    cashier = till.staff.members()[-1]
    sale = till.checkout.complete(basket, tenders, change, cashier)
    profile = till.printer.profile
    doc = sale_receipt(till.config, sale)
    receipt = till.render(doc)

    full = timed(lambda: till.render(sale_receipt(till.config, sale)), renders)
    render_only = timed(lambda: till.render(doc), renders)
    bytes_only = timed(lambda: render(doc, profile), renders)

    logo_path = tmp / "logo.png"
    make_logo(logo_path)
    with_logo = [Logo(str(logo_path)), *doc]
    logo_bytes = render(with_logo, profile)
    assert b"\x1dv0" in logo_bytes, "the logo should print"
    cached_logo = timed(lambda: render(with_logo, profile), renders)
    fresh_paths = []
    for i in range(20 + WARMUP):  # the cache holds 8 logos: each new file is converted afresh
        fresh = tmp / f"logo-{i}.png"
        fresh.write_bytes(logo_path.read_bytes())
        fresh_paths.append(fresh)
    fresh_docs = iter([Logo(str(path)), *doc] for path in fresh_paths)
    fresh_logo = timed(lambda: render(next(fresh_docs), profile), 20)

    print(
        f"receipt: {BASKET_LINES}-line sale {sale.number} ({len(doc)} blocks), profile {profile.name}, "
        f"{len(receipt.data):,} bytes, {receipt.text.count(chr(10)) + 1} preview lines, {renders} runs"
    )
    ok = percentile(full, 95) <= TARGET_RECEIPT_P95_MS
    print(
        figures("sale_receipt + till.render (bytes + preview)", full)
        + f"  target p95 <= {TARGET_RECEIPT_P95_MS:.0f} ms  {verdict(ok)}"
    )
    print(figures("till.render alone (bytes + preview)", render_only))
    print(figures("drivers.printer.render alone (bytes)", bytes_only))
    print(
        figures(
            f"render with a {LOGO_SIZE[0]}x{LOGO_SIZE[1]} logo scaled to {profile.dots} dots, cached "
            f"({len(logo_bytes):,} bytes)",
            cached_logo,
        )
    )
    print(figures("render with the logo converted afresh (PNG -> 1 bit -> GS v 0), 20 runs", fresh_logo))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=2000, help="scans per pass (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes per scanner figure (default 5)")
    parser.add_argument("--renders", type=int, default=200, help="timed receipt renders (default 200)")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        till = open_demo_till(Path(tmp) / "data")
        try:
            bench_scanner(till, args.scans, args.rounds)
            bench_receipt(till, args.renders, Path(tmp))
        finally:
            till.db.close()
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
