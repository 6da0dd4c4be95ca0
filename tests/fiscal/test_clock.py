"""A clock set back: nothing is signed until a manager confirms the time; the confirmation is journaled
and the verifier accepts the earlier timestamps it covers, and only those."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fiscal.journal import ClockWentBack
from fiscal.verify import verify_database
from kiosk.demo.shop import open_demo_till
from kiosk.demo.simulation import SimClock, simulate_sales
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import cash_payment
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.screens.sale import SaleScreen
from tests.support.ui import tickets

PARIS = ZoneInfo("Europe/Paris")


def _verify(till: Till) -> list[str]:
    report = verify_database(sqlite3.connect(till.data_dir / "kiosk.sqlite"))
    return [p.line() for p in report.problems]


@pytest.fixture
def set_back(tmp_path: Path) -> tuple[Path, SimClock]:
    clock = SimClock(datetime(2026, 11, 20, 10, 0, tzinfo=PARIS))
    till = open_demo_till(tmp_path / "data", clock=clock)
    till.start()
    simulate_sales(till, 3, seed=1)
    till.stop()
    clock.now -= timedelta(hours=5)  # the clock is now earlier than every record
    return tmp_path / "data", clock


def test_nothing_is_signed_before_confirmation(set_back: tuple[Path, SimClock]) -> None:
    data_dir, clock = set_back
    till = Till.open(data_dir, clock=clock)
    warnings = till.start()
    assert any("responsable doit les confirmer" in w for w in warnings)
    basket = Basket()
    basket.add_free_amount("Divers", 500, 2000)
    tenders, change = cash_payment(500, 500)
    with pytest.raises(ClockWentBack, match="confirmer la date et l'heure"):
        till.checkout.complete(basket, tenders, change, till.staff.members()[-1])
    assert _verify(till) == []


async def test_manager_confirms_at_start_then_the_sale_goes_through(set_back: tuple[Path, SimClock]) -> None:
    data_dir, clock = set_back
    till = Till.open(data_dir, clock=clock)
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, ManagerPinDialog)
        assert "plus tôt que le dernier enregistrement" in str(app.screen.query_one("#manager-note").render())
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        assert isinstance(app.screen, SaleScreen)
        await pilot.press(*"BOUL-001", "enter", "f12", "enter", "f10")
    assert len(tickets(till)) == 4
    events = [
        r[0] for r in till.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal='JET' ORDER BY seq")
    ]
    assert events[-3:] == ["CLOCK_BACK", "START", "LOGIN"]
    assert _verify(till) == []


def test_an_unconfirmed_earlier_timestamp_is_still_reported(set_back: tuple[Path, SimClock]) -> None:
    data_dir, clock = set_back
    till = Till.open(data_dir, clock=clock)
    till.start()
    conn = till.db.connection()
    with till.db.atomic():
        till.ledger.append(conn, "JET", "TEST", {"event": "TEST"}, allow_clock_back=True)
    assert any("horodatage antérieur" in p for p in _verify(till))


def test_start_closes_the_days_left_open(tmp_path: Path) -> None:
    clock = SimClock(datetime(2026, 11, 20, 10, 0, tzinfo=PARIS))
    till = open_demo_till(tmp_path / "data", clock=clock)
    simulate_sales(till, 2, seed=1)
    till.db.close()
    clock.now += timedelta(days=3)  # the shop was closed for three days
    again = Till.open(tmp_path / "data", clock=clock)
    again.start()
    periods = again.db.execute_sql(
        "SELECT json_extract(body, '$.period') FROM fiscal_record WHERE journal = 'CLOSURE'"
    ).fetchall()
    assert [p[0] for p in periods] == ["2026-11-20"]
    again.db.close()
