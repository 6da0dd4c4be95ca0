"""Staff, cash control and parked sales driven through the real UI with Pilot (keyboard and touch)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.store import Article
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.menu import MENU
from kiosk.ui.screens.cash import AmountDialog, CashCountScreen
from kiosk.ui.screens.login import LoginScreen
from kiosk.ui.screens.parked import ParkDialog, ParkedListScreen
from kiosk.ui.screens.reports import ReportsScreen
from kiosk.ui.screens.sale import SaleScreen
from kiosk.ui.screens.staff_admin import HistoryScreen, PinDialog, UserDialog, UsersScreen
from tests.support.ui import basket_rows, drawer_pulses, scannable

CAMILLE = ("tab", "tab", "enter", *"333333", "enter")
MARC = ("tab", "enter", *"222222", "enter")


async def menu(pilot: Pilot, entry_id: str) -> None:
    """F1, then arrows down to the entry, Entrée."""
    await pilot.press("f1")
    index = [entry.id for entry in MENU].index(entry_id)
    await pilot.press(*["down"] * index, "enter")
    await pilot.pause()


def message(app: KioskApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def test_park_and_resume_across_a_restart(till: Till, data_dir: Path) -> None:
    bread, wine = scannable(till, 550), scannable(till, 2000)
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*CAMILLE)
        await pilot.press(*bread.barcode, "enter", *wine.barcode, "enter", *wine.barcode, "enter")
        await menu(pilot, "park")
        assert isinstance(app.screen, ParkDialog)
        await pilot.press(*"Mme Martin", "enter")
        assert isinstance(app.screen, SaleScreen)
        assert basket_rows(app) == [] and "Mme Martin" in message(app)
    till.db.close()
    # meanwhile the wine's price changes and the bread is archived
    again = Till.open(data_dir)
    Article.update(price_cents=wine.price_cents + 100).where(Article.id == wine.id).execute()
    Article.update(archived=True).where(Article.id == bread.id).execute()
    app = KioskApp(again)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*MARC)
        await menu(pilot, "parked")
        assert isinstance(app.screen, ParkedListScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, SaleScreen)
        assert [(r[0], r[1]) for r in basket_rows(app)] == [(wine.name, "2")]
        text = message(app)
        assert "nouveau prix" in text and "n'est plus au catalogue" in text
        assert again.parked.all() == []
    again.db.close()


async def test_switching_user_parks_the_sale_and_touch_resumes_it(till: Till) -> None:
    bread = scannable(till, 550)
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*CAMILLE)
        await pilot.press(*bread.barcode, "enter")
        await pilot.press("f10")  # F10 and Menu → « Changer d'utilisateur » both park the sale in progress
        assert isinstance(app.screen, LoginScreen)
        [parked] = till.parked.all()
        assert parked.name.startswith("Camille ") and parked.cashier == "Camille"
        await pilot.press(*MARC)
        await pilot.click("#menu")
        await pilot.pause()
        index = [entry.id for entry in MENU].index("parked")
        await pilot.press(*["down"] * index, "enter")
        assert isinstance(app.screen, ParkedListScreen)
        await pilot.click("#parked-list", offset=(4, 1))
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        assert [r[0] for r in basket_rows(app)] == [bread.name]


async def test_cash_count_difference_on_the_z(till: Till) -> None:
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*MARC)
        await menu(pilot, "float")
        assert isinstance(app.screen, AmountDialog)
        await pilot.press(*"100", "enter")
        assert till.cash.float_of(till.cash.today()) == 10000
        await app.workers.wait_for_complete()
        assert drawer_pulses(till) == 1
        # a cash-out of 5 € (responsible's PIN, reason), then the count: 2 × 20 € + 2 × 20 € by touch = 80 €
        await menu(pilot, "cash-move")
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        assert isinstance(app.screen, AmountDialog)
        await pilot.press(*"5", "enter", *"Timbres", "enter")
        assert isinstance(app.screen, SaleScreen)
        assert "Sortie d'espèces de 5,00 €" in message(app)
        await app.workers.wait_for_complete()
        assert drawer_pulses(till) == 2  # the drawer opens for the cash taken out
        await menu(pilot, "cash-count")
        assert isinstance(app.screen, CashCountScreen)
        await pilot.press("enter", "enter", "enter", "enter", "2")  # down to the 20 € notes
        await pilot.click("#plus-2000")
        await pilot.click("#plus-2000")
        assert "80,00 €" in str(app.screen.query_one("#count-total", Static).render())
        await pilot.press("f12")
        assert isinstance(app.screen, SaleScreen)
        assert "écart -15,00 €" in message(app)
        await pilot.press("f5")
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        assert isinstance(app.screen, ReportsScreen)
        await pilot.press("f5")
        await pilot.pause()
        text = str(app.screen.query_one("#report-text", Static).render())
        assert "RAPPORT Z" in text and "Contrôle des espèces" in text
        assert "Espèces attendues" in text and "95,00 €" in text
        assert "Écart" in text and "-15,00 €" in text
        await app.workers.wait_for_complete()
        assert b"Contr\x93le des esp\x8aces" in till.printer.last_bytes  # type: ignore[attr-defined]
    [difference] = [r for (r,) in till.db.execute_sql("SELECT difference FROM cash_count")]
    assert difference == -1500


async def test_float_asked_at_the_first_login_of_the_day(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES.replace("float_at_login = false", ""), "utf-8")
    till = Till.open(data)
    init_demo(till)
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*CAMILLE)
        assert isinstance(app.screen, AmountDialog)
        await pilot.press("ctrl+a", *"150,50", "enter")
        assert isinstance(app.screen, SaleScreen)
        assert till.cash.float_of(till.cash.today()) == 15050
        await pilot.press("f10", *CAMILLE)
        assert isinstance(app.screen, SaleScreen)  # once a day
    till.db.close()


async def test_manager_creates_cashier_not_manager_in_the_ui(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*MARC)
        await menu(pilot, "users")
        assert isinstance(app.screen, UsersScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, UserDialog)
        await pilot.press(*"Léa", "enter", *"444444", "enter")
        assert isinstance(app.screen, UsersScreen)
        names = [str(r[0]) for r in (app.screen.query_one(DataTable).get_row_at(i) for i in range(4))]
        assert "Léa" in names
        await pilot.press("f2", *"Paul")
        await pilot.click("#role-manager")
        await pilot.click("#user-pin")
        await pilot.press(*"555555", "enter")
        assert isinstance(app.screen, UserDialog)
        assert "Marc ne peut pas gérer les gestionnaires" in str(
            app.screen.query_one("#user-error", Static).render()
        )
        await pilot.press("escape", "escape")
    assert [m.name for m in till.staff.members()] == ["Alice", "Marc", "Camille", "Léa"]


async def test_cashier_needs_a_responsible_for_users_and_changes_own_pin(till: Till) -> None:
    camille = next(m for m in till.staff.members() if m.name == "Camille")
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*CAMILLE)
        await menu(pilot, "users")
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.press("escape")
        await menu(pilot, "my-pin")
        assert isinstance(app.screen, PinDialog)
        await pilot.press(*"000000", "enter", *"246810", "enter", *"246810", "enter")
        assert "incorrect" in str(app.screen.query_one("#pin-error", Static).render())
        await pilot.press(*"333333", "enter", *"246810", "enter", *"246810", "enter")
        assert isinstance(app.screen, SaleScreen)
        assert "code PIN est changé" in message(app)
    assert till.staff.authenticate(camille.id, "246810") == camille


async def test_my_sales_shows_only_my_tickets(till: Till) -> None:
    bread = scannable(till, 550)
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        for login in (CAMILLE, MARC):
            await pilot.press(*login)
            await pilot.press(*bread.barcode, "enter", "f12", "enter", "f10")
            assert isinstance(app.screen, SaleScreen)
            await pilot.press("f10")
        assert (
            till.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal = 'TICKET'").fetchone()[0]
            == 2
        )
        await pilot.press(*CAMILLE)
        await menu(pilot, "history")
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[2]) == "Camille"
        await pilot.press("escape", "f10", *MARC)
        await menu(pilot, "history")
        assert app.screen.query_one(DataTable).row_count == 2
        summary = str(app.screen.query_one("#history-total", Static).render())
        assert "Camille : 1 ticket(s)" in summary and "Marc : 1 ticket(s)" in summary


async def test_abandon_a_parked_sale_asks_twice(till: Till) -> None:
    bread = scannable(till, 550)
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*CAMILLE)
        for name in ("Table 1", "Table 2"):
            await pilot.press(*bread.barcode, "enter")
            await menu(pilot, "park")
            await pilot.press(*name, "enter")
        await menu(pilot, "parked")
        assert isinstance(app.screen, ParkedListScreen)
        await pilot.press("delete")
        assert "Appuyez encore" in str(app.screen.query_one("#parked-message", Static).render())
        assert len(till.parked.all()) == 2
        await pilot.press("delete")
        assert [t.name for t in till.parked.all()] == ["Table 2"]
        await pilot.press("escape")
        assert isinstance(app.screen, SaleScreen) and basket_rows(app) == []
    [abandoned] = [
        r for (r,) in till.db.execute_sql("SELECT body FROM fiscal_record WHERE rtype = 'TICKET_ABANDONED'")
    ]
    assert json.loads(abandoned)["details"]["name"] == "Table 1"


async def test_float_by_touch_with_the_keypad(till: Till) -> None:
    camille = next(m for m in till.staff.members() if m.name == "Camille")
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.click(f"#user-{camille.id}")
        for digit in "333333":
            await pilot.click(f"#pin-{digit}")
        await pilot.click("#pin-ok")
        await pilot.click("#menu")
        await pilot.press(*["down"] * [entry.id for entry in MENU].index("float"), "enter")
        assert isinstance(app.screen, AmountDialog)
        for key in ("#kp-8", "#kp-5", "#kp-comma", "#kp-2", "#kp-0", "#kp-0", "#kp-back"):
            await pilot.click(key)
        await pilot.click("#amount-ok")
        assert isinstance(app.screen, SaleScreen)
    assert till.cash.float_of(till.cash.today()) == 8520
