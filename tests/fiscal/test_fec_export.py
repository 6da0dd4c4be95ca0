"""`kiosk fiscal fec`: the accountant's FEC for any period, checked against art. A47 A-1 / BOI-CF-IOR-60-40-20.

The file is read back here with a parser of the published layout (not fiscal.fec's own reader): name
SIRENFECAAAAMMJJ.txt, a header of the 18 mandatory columns in order, "|" between fields, ISO-8859-15, CRLF,
dates AAAAMMJJ, amounts with a decimal comma, each entry balanced; the amounts are the ones a cashier rang.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fiscal.fec import FecError, fec_filename, siren_of
from kiosk.demo.shop import init_demo
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, Tender
from kiosk.till import Till
from tests.support.clock import Clock

PARIS = ZoneInfo("Europe/Paris")
KIOSK = [sys.executable, "-m", "kiosk"]
# The 18 mandatory columns, in the order of art. A47 A-1 (BOI-CF-IOR-60-40-20 § 40), spelled as the law does.
SPEC_COLUMNS = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
]


def _kiosk(data_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    return subprocess.run([*KIOSK, *map(str, args)], capture_output=True, text=True, env=env, timeout=240)


@pytest.fixture
def shop(data_dir: Path) -> Iterator[tuple[Till, dict[str, int]]]:
    """27/11: a card sale (12,50 € at 20 %) and a mixed one (bread 3,45 € at 5,5 % + wine 21,00 € at
    20 %, card 10,00 € + cash 20,00 €, change 5,55 €); 30/11: the bread refunded in cash; 01/12: a sale."""
    clock = Clock(datetime(2026, 11, 27, 9, 0, tzinfo=PARIS))
    till = Till.open(data_dir, clock=clock)
    init_demo(till)
    staff = {member.name: member for member in till.staff.members()}
    cashier = till.staff.members()[-1]
    numbers: dict[str, int] = {}

    basket = Basket()
    basket.add_free_amount("Divers", 1250, 2000)
    numbers["card"] = till.checkout.complete(basket, [Tender("card", 1250)], 0, cashier).record.seq
    basket = Basket()
    basket.add_free_amount("Pain", 345, 550)
    basket.add_free_amount("Vin", 2100, 2000)
    mixed = till.checkout.complete(basket, [Tender("card", 1000), Tender("cash", 2000)], 555, cashier)
    numbers["mixed"] = mixed.record.seq
    clock.set(date(2026, 11, 30), 10)
    sale = CompletedSale.from_record(mixed.record)
    bread = next(line for line in till.refunds.refundable(sale) if line.left_amount == 345)
    back = till.refunds.refund(sale, {bread.index: Decimal(1)}, "cash", staff["Camille"], staff["Marc"])
    numbers["return"] = back.record.seq
    clock.set(date(2026, 12, 1), 10)
    basket = Basket()
    basket.add_free_amount("Décembre", 999, 2000)
    numbers["december"] = till.checkout.complete(basket, [Tender("cash", 999)], 0, cashier).record.seq
    yield till, numbers
    till.db.close()


def _read_spec(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The published layout, checked strictly: CRLF records, "|" fields, 18 per record, ISO-8859-15."""
    text = data.decode("iso-8859-15")
    assert text.endswith("\r\n"), "every record ends with CR LF"
    records = text[: -len("\r\n")].split("\r\n")
    assert all("\n" not in r and "\r" not in r for r in records)
    header = records[0].split("|")
    rows = []
    for record in records[1:]:
        fields = record.split("|")
        assert len(fields) == 18, record
        rows.append(dict(zip(SPEC_COLUMNS, fields, strict=True)))
    return header, rows


def _cents(text: str) -> int:
    assert re.fullmatch(r"\d+,\d{2}", text), f"{text!r}: decimal comma, no sign, no thousands separator"
    return int(text.replace(",", ""))


def test_period_with_sales_change_and_a_refund(shop: tuple[Till, dict[str, int]], tmp_path: Path) -> None:
    till, numbers = shop
    out = tmp_path / "comptable"
    result = _kiosk(
        till.data_dir, "fiscal", "fec", "--from", "27/11/2026", "--to", "30/11/2026", "--out", out
    )
    assert result.returncode == 0, result.stderr
    path = out / "823456785FEC20261130.txt"  # SIREN of the demo SIRET 82345678500018, closing day
    assert [p.name for p in out.iterdir()] == [path.name]
    assert "3 écriture(s)" in result.stdout and "27/11/2026 au 30/11/2026" in result.stdout
    data = path.read_bytes()
    header, rows = _read_spec(data)
    assert header == SPEC_COLUMNS
    for row in rows:
        for column in ("EcritureDate", "PieceDate", "ValidDate"):
            assert re.fullmatch(r"\d{8}", row[column]) and datetime.strptime(row[column], "%Y%m%d")
        assert row["JournalCode"] == "VE" and row["JournalLib"] == "Ventes"
        assert row["Montantdevise"] == row["Idevise"] == row["CompAuxNum"] == row["EcritureLet"] == ""
    entries: dict[str, list[tuple[str, str, int, int, str]]] = {}
    for row in rows:
        line = (
            row["CompteNum"],
            row["EcritureDate"],
            _cents(row["Debit"]),
            _cents(row["Credit"]),
            row["PieceRef"],
        )
        entries.setdefault(row["EcritureNum"], []).append(line)
    for number, lines in entries.items():
        assert sum(d for _, _, d, _, _ in lines) == sum(c for _, _, _, c, _ in lines), number
    card, mixed, back = (str(numbers[k]) for k in ("card", "mixed", "return"))
    assert str(numbers["december"]) not in entries  # 01/12 is outside the period
    # HT = TTC / (1 + rate) rounded half up, per rate; TVA = TTC - HT.
    assert sorted(entries[card]) == sorted(
        [
            ("511500", "20261127", 1250, 0, f"T01-{int(card):06d}"),
            ("707200", "20261127", 0, 1042, f"T01-{int(card):06d}"),
            ("445714", "20261127", 0, 208, f"T01-{int(card):06d}"),
        ]
    )
    piece = f"T01-{int(mixed):06d}"
    assert sorted(entries[mixed]) == sorted(
        [
            ("511500", "20261127", 1000, 0, piece),
            ("531000", "20261127", 1445, 0, piece),  # cash net of the change given back
            ("707055", "20261127", 0, 327, piece),
            ("445712", "20261127", 0, 18, piece),
            ("707200", "20261127", 0, 1750, piece),
            ("445714", "20261127", 0, 350, piece),
        ]
    )
    piece = f"T01-{int(back):06d}"
    assert sorted(entries[back]) == sorted(  # the refund: sale and VAT debited, cash credited
        [
            ("707055", "20261130", 327, 0, piece),
            ("445712", "20261130", 18, 0, piece),
            ("531000", "20261130", 0, 345, piece),
        ]
    )
    labels = {row["EcritureNum"]: row["EcritureLib"] for row in rows}
    assert labels[back] == f"Retour ticket n°{back}" and labels[card] == f"Vente ticket n°{card}"
    assert f"Retour ticket n\xb0{back}".encode("latin-1") in data  # "°" as ISO-8859-15 (0xB0), not UTF-8
    assert "Cartes bancaires à encaisser".encode("iso-8859-15") in data
    # The accountant's file and the archive's FEC of the same days are the same bytes.
    month = _kiosk(till.data_dir, "fiscal", "fec", "--from", "2026-11-01", "--to", "2026-11-30", "--out", out)
    assert month.returncode == 0, month.stderr
    info = till.archive("2026-11", tmp_path / "novembre.zip")
    with zipfile.ZipFile(info.path) as archive:
        assert archive.read("823456785FEC20261130.txt") == path.read_bytes() == data


def test_empty_period_is_the_header_alone(shop: tuple[Till, dict[str, int]], tmp_path: Path) -> None:
    till, _ = shop
    result = _kiosk(
        till.data_dir, "fiscal", "fec", "--from", "01/01/2026", "--to", "31/01/2026", "--out", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "0 écriture(s)" in result.stdout
    data = (tmp_path / "823456785FEC20260131.txt").read_bytes()
    assert data == ("|".join(SPEC_COLUMNS) + "\r\n").encode("ascii")


def test_dates_are_checked_in_french(shop: tuple[Till, dict[str, int]], tmp_path: Path) -> None:
    till, _ = shop
    bad = _kiosk(
        till.data_dir, "fiscal", "fec", "--from", "31/02/2026", "--to", "28/02/2026", "--out", tmp_path
    )
    assert bad.returncode == 2 and "date '31/02/2026' illisible : attendu JJ/MM/AAAA" in bad.stderr
    backwards = _kiosk(till.data_dir, "fiscal", "fec", "--from", "02/12/2026", "--to", "01/12/2026")
    assert backwards.returncode == 1
    assert "la fin (01/12/2026) précède le début (02/12/2026)" in backwards.stderr
    assert list(tmp_path.glob("*FEC*")) == []


def test_file_name_from_siret() -> None:
    assert fec_filename("82345678500018", date(2026, 12, 31)) == "823456785FEC20261231.txt"
    assert fec_filename("823 456 785", date(2027, 2, 28)) == "823456785FEC20270228.txt"
    assert siren_of("82345678500018") == "823456785"
    for bad in ("8234567850001", "ABCDEFGHI", ""):
        with pytest.raises(FecError, match="14 ou 9 chiffres attendus"):
            siren_of(bad)
