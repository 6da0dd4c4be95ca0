"""Excel catalogue import at scale: a 100,000-row workbook, dry run then import, and the export.

    .venv/bin/python benchmarks/bench_catalogue_import.py [--rows 100000]

The workbook is written once (write-only mode, not timed) with the messiness of real files: barcodes as
numbers (leading zeros lost), prices as text with € and decimal commas, VAT spelled 5,5 / 20 % / 0,2,
columns in another order, an extra column, one row in 1,000 with a wrong check digit. Timed: the dry run
(`plan_import`: read-only openpyxl + validation + comparison with the catalogue), then `apply_import` of
that plan in one transaction (FTS index kept by the triggers), then a second dry run of the same file
(all unchanged) and the export. Peak RSS growth is printed: the reader streams (read-only mode).
Target: dry run + import ≤ 30 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from stdnum import ean

SCRATCH = tempfile.TemporaryDirectory(prefix="bench-import-")
tempfile.tempdir = SCRATCH.name

from kiosk.catalogue.excel import apply_import, export_catalogue, plan_import  # noqa: E402
from kiosk.demo.shop import open_demo_till  # noqa: E402

TARGET_S = 30.0
CATEGORIES = ("Épicerie salée", "Épicerie sucrée", "Boissons", "Droguerie", "Papeterie", "Jouets")
VATS = ("5,5", "20 %", "0,2", "10%", "5,5 %")


def write_workbook(path: Path, rows: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Articles")
    sheet.append(["Prix TTC", "Désignation", "Code-barres", "Référence", "Famille", "TVA", "Commentaire"])
    for i in range(rows):
        stem = f"0{i:011d}"  # GTIN-13 starting with 0: Excel stores it as a number without its zero
        code = stem + ean.calc_check_digit(stem)
        if i % 1000 == 999:
            code = code[:-1] + str((int(code[-1]) + 1) % 10)
        cents = 50 + (i * 37) % 5000
        sheet.append(
            [
                f"{cents // 100},{cents % 100:02d} €" if i % 2 else Decimal(cents) / 100,
                f"Article {i} {CATEGORIES[i % len(CATEGORIES)].lower()}",
                int(code),
                f"B-{i:06d}",
                CATEGORIES[i % len(CATEGORIES)],
                VATS[i % len(VATS)],
                "",
            ]
        )
    book.save(path)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    base = Path(SCRATCH.name)
    book = base / "catalogue.xlsx"
    started = time.perf_counter()
    write_workbook(book, args.rows)
    print(
        f"workbook: {args.rows} rows, {book.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s"
    )
    till = open_demo_till(base / "data")
    rss_before = rss_mb()

    started = time.perf_counter()
    plan = plan_import(till.db, book, "add")
    dry = time.perf_counter() - started
    print(
        f"dry run:  {dry:6.2f} s  ({len(plan.create)} to create, {len(plan.rejected)} rejected, "
        f"{len(plan.new_categories)} new categories)"
    )
    started = time.perf_counter()
    result = apply_import(till.db, plan)
    write = time.perf_counter() - started
    print(f"import:   {write:6.2f} s  ({result.created} created, one transaction)")
    total = dry + write
    verdict = "PASS" if total <= TARGET_S else "MISS"
    print(f"dry run + import: {total:.2f} s (target ≤ {TARGET_S:.0f} s) {verdict}")
    print(f"peak RSS growth during dry run + import: {rss_mb() - rss_before:.0f} MB")

    started = time.perf_counter()
    again = plan_import(till.db, book, "add")
    print(
        f"dry run of the same file again: {time.perf_counter() - started:.2f} s ({again.unchanged} unchanged)"
    )
    started = time.perf_counter()
    count = export_catalogue(till.db, base / "export.xlsx")
    print(f"export:   {time.perf_counter() - started:6.2f} s  ({count} articles)")
    till.db.close()
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
