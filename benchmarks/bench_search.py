"""Search as the cashier types, on a 100,000-article catalogue: `Catalogue.search()` per keystroke.

    .venv/bin/python benchmarks/bench_search.py [--articles 100000] [--words 300]

The catalogue of bench_scan.py (demo shop + 100,000 generated articles with names like « Confiture
abricot Maison Arnaud 370 g » and EAN-13 barcodes). Each typed query is the prefix after every keystroke
(from the second character, as the sale screen searches) of: a word of a random article's name typed
without accents and in lower case ("confiture", "cereales"), two words ("confiture abr"), a reference
("GEN-0123"), and a barcode prefix (digits: the barcode-prefix search). Timed: one `search(limit=20)`,
which includes loading the articles shown. Target: p99 ≤ 20 ms per keystroke.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import unicodedata

from bench_scan import SCRATCH, build_till, percentile

TARGET_P99_MS = 20.0


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def keystrokes(text: str) -> list[str]:
    return [text[:n] for n in range(2, len(text) + 1)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    from pathlib import Path

    till, sample, insert_s = build_till(Path(SCRATCH.name) / "data", args.articles, args.words, rng)
    print(f"catalogue: {args.articles} generated articles inserted in {insert_s:.1f} s")
    catalogue = till.catalogue
    kinds: dict[str, list[str]] = {"word": [], "two words": [], "reference": [], "barcode prefix": []}
    for barcode, name in sample:
        words = plain(name).split()
        kinds["word"] += keystrokes(rng.choice(words[:2]))
        kinds["two words"] += keystrokes(f"{words[0]} {words[1][:3]}")[len(words[0]) :]
        kinds["reference"] += keystrokes(f"GEN-0{rng.randrange(10000):04d}")[3:]
        kinds["barcode prefix"] += keystrokes(barcode[: rng.randrange(4, 14)])[2:]
    for query in ("creme", "cereales", "eponge"):
        assert catalogue.search(query), f"no result for {query}"
    all_times: list[float] = []
    for kind, queries in kinds.items():
        times = []
        found = 0
        for query in queries:
            started = time.perf_counter()
            results = catalogue.search(query, limit=20)
            times.append((time.perf_counter() - started) * 1000)
            found += bool(results)
        all_times += times
        print(
            f"{kind:<15} {len(queries):5d} keystrokes  p50 {percentile(times, 50):6.2f} ms  "
            f"p99 {percentile(times, 99):6.2f} ms  max {max(times):6.2f} ms  ({found} with results)"
        )
    p99 = percentile(all_times, 99)
    verdict = "PASS" if p99 <= TARGET_P99_MS else "MISS"
    print(f"all keystrokes: p99 {p99:.2f} ms (target ≤ {TARGET_P99_MS:.0f} ms) {verdict}")
    till.db.close()
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
