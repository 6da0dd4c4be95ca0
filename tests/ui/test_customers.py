"""Customers at the till, through the UI: enrol from the directory, open the sheet, set up a programme."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.screens.customers import (
    CustomerFormScreen,
    CustomerPickerScreen,
    CustomerSheetScreen,
    ProgrammeScreen,
)


async def menu(app: KioskApp, pilot: Pilot[None], entry: str) -> None:
    """F1, then the menu entry `entry` (by its id, whatever its place in the list)."""
    await pilot.press("f1")
    options = app.screen.query_one("#menu-options", OptionList)
    options.highlighted = options.get_option_index(entry)
    await pilot.press("enter")
    await pilot.pause()


async def test_cashier_enrols_a_customer_then_opens_the_sheet(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "customers")
        assert isinstance(app.screen, CustomerPickerScreen)
        await pilot.press(*"0612345678")
        await pilot.press("f2")
        assert isinstance(app.screen, CustomerFormScreen)
        await pilot.press("tab", *"Hélène", "tab", *"Durand", "tab", *"helene@", "tab", *"14/07/1980")
        await pilot.click("#form-consent")
        await pilot.click("#form-ok")
        error = str(app.screen.query_one("#form-error", Static).render())
        assert "e-mail" in error  # nothing saved until the address is right
        assert till.customers.search("Durand") == []
        app.screen.query_one("#form-email").value = "helene@exemple.fr"  # type: ignore[attr-defined]
        await pilot.click("#form-address")
        await pilot.press(*"2 rue Neuve", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomerPickerScreen)
        [customer] = till.customers.search("helene")
        assert customer.phone == "+33612345678"
        await pilot.press("escape")
        await menu(app, pilot, "customers")
        await pilot.press(*"durand", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomerSheetScreen)
        text = str(app.screen.query_one("#sheet-text", Static).render())
        assert "Hélène Durand" in text and "06 12 34 56 78" in text and "Aucune visite" in text


async def test_manager_sets_up_a_band_programme_from_the_till(till: Till) -> None:
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "loyalty")
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ProgrammeScreen)
        await pilot.click("#kind-band")
        app.screen.query_one("#prog-name").value = "Cagnotte du marché"  # type: ignore[attr-defined]
        app.screen.query_one("#prog-a").value = "10"  # type: ignore[attr-defined]
        app.screen.query_one("#prog-b").value = "12"  # type: ignore[attr-defined]
        await pilot.click("#prog-ok")
        assert "inférieur à la tranche" in str(app.screen.query_one("#prog-error", Static).render())
        assert till.loyalty.programme() is None
        app.screen.query_one("#prog-b").value = "1"  # type: ignore[attr-defined]
        await pilot.pause(0.3)  # a button ignores a second click during its 0.2 s press effect
        await pilot.click("#prog-ok")
        await pilot.pause()
        current = str(app.screen.query_one("#programme-current", Static).render())
        assert "Cagnotte du marché" in current and "1,00 € par tranche de 10,00 €" in current
        await pilot.click("#prog-suspend")
        assert till.loyalty.programme().state == "suspended"  # type: ignore[union-attr]
