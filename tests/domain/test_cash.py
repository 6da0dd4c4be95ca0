"""Cash control: float, cash in/out by a responsible, the count by denomination and its difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peewee import IntegrityError

from kiosk.common.money import format_eur
from kiosk.demo.shop import SIMULATED_DEVICES
from kiosk.sale.basket import Basket
from kiosk.sale.cash import CashError
from kiosk.sale.checkout import Tender, cash_payment
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.till import Till


def member(till: Till, name: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.name == name)


def sell(till: Till, who: StaffMember, given: int | None = None, card: bool = False) -> int:
    basket = Basket()
    basket.add_article(till.catalogue.active_articles()[0])
    if card:
        till.checkout.complete(basket, [Tender("card", basket.total)], 0, who)
    else:
        tenders, change = cash_payment(basket.total, given or basket.total)
        till.checkout.complete(basket, tenders, change, who)
    return basket.total


def test_expected_cash_and_a_short_count(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    assert till.cash.needs_float()
    till.cash.declare_float(camille, 15000)
    assert not till.cash.needs_float()
    price = sell(till, camille, given=10000)  # change given back: only the price stays in the drawer
    sell(till, camille, card=True)
    till.cash.move(camille, "IN", 2000, "Apport de monnaie", authorised_by=marc)
    till.cash.move(camille, "OUT", 500, "Timbres", authorised_by=marc)
    expected = till.cash.expected(till.cash.today())
    assert (expected.float, expected.sales, expected.cash_in, expected.cash_out) == (15000, price, 2000, 500)
    assert expected.expected == 15000 + price + 2000 - 500
    count = till.cash.record_count(camille, {5000: 3, 200: 2, 1: 3})  # 150 + 4 + 0,03
    assert count.counted == 15403
    assert count.difference == 15403 - expected.expected
    assert till.cash.last_count(till.cash.today()) == count
    details = [
        json.loads(b)["details"]
        for (b,) in till.db.execute_sql("SELECT body FROM fiscal_record WHERE rtype = 'CASH_COUNT'")
    ]
    assert details[-1]["difference"] == count.difference and details[-1]["counted"] == 15403


def test_cash_out_needs_a_responsible_and_a_reason(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    till.cash.declare_float(camille, 5000)
    with pytest.raises(PermissionDenied, match="Camille ne peut pas faire des entrées et sorties"):
        till.cash.move(camille, "OUT", 1000, "Timbres", authorised_by=camille)
    denied = till.db.execute_sql(
        "SELECT body FROM fiscal_record WHERE rtype = 'PERMISSION_DENIED'"
    ).fetchall()
    assert json.loads(denied[-1][0])["details"] == {
        "user": "Camille",
        "permission": "cash_control",
        "act": "cash_out",
    }
    with pytest.raises(CashError, match="motif"):
        till.cash.move(camille, "OUT", 1000, "  ", authorised_by=marc)
    with pytest.raises(CashError, match="ne devrait contenir que 50,00 €"):
        till.cash.move(camille, "OUT", 6000, "Banque", authorised_by=marc)
    assert till.cash.expected(till.cash.today()).cash_out == 0


def test_float_corrected_only_by_a_responsible(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    till.cash.declare_float(camille, 10000)
    with pytest.raises(PermissionDenied, match="déjà déclaré"):
        till.cash.declare_float(camille, 20000)
    till.cash.declare_float(camille, 12000, authorised_by=marc)
    assert till.cash.float_of(till.cash.today()) == 12000


def test_counts_and_movements_are_append_only(till: Till) -> None:
    camille = member(till, "Camille")
    till.cash.declare_float(camille, 10000)
    till.cash.record_count(camille, {5000: 2})
    for table in ("cash_count", "cash_movement"):
        with pytest.raises(IntegrityError, match="append-only"):
            till.db.execute_sql(f"UPDATE {table} SET day = 'x'")
        with pytest.raises(IntegrityError, match="append-only"):
            till.db.execute_sql(f"DELETE FROM {table}")


def test_bad_count_changes_nothing(till: Till) -> None:
    camille = member(till, "Camille")
    with pytest.raises(CashError, match="Pièce de 2 €"):
        till.cash.record_count(camille, {200: -1})
    assert till.cash.last_count(till.cash.today()) is None


def test_kiosk_report_z_shows_the_count(tmp_path: Path) -> None:
    from tests.cli.test_cli import run

    data = tmp_path / "shop"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES)
    assert run(data, "demo", "init").returncode == 0
    till = Till.open(data)
    camille = member(till, "Camille")
    till.cash.declare_float(camille, 10000)
    price = sell(till, camille)
    till.cash.record_count(camille, {5000: 2})  # the sale's cash is missing
    today = till.clock().date().isoformat()
    till.db.close()
    closed = run(data, "fiscal", "close", "day")
    assert closed.returncode == 0, closed.stderr
    report = run(data, "report", "z", "--date", today)
    assert report.returncode == 0, report.stderr
    for out in (closed.stdout, report.stdout):
        assert "Contrôle des espèces" in out
        [gap] = [line for line in out.splitlines() if line.startswith("  Écart")]
        assert gap.endswith(f"-{format_eur(price)}") and len(gap) == 42
        assert "Compté par Camille" in out
