"""Catalogue and stock screens driven through the real UI with Pilot: Excel import (dry run, then
confirm), inventory count, the stock badge after a sale, article editing and the product sheet."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from stdnum import ean
from textual.widgets import Button, DataTable, Input, OptionList, Static

from kiosk.store import Article
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.menu import MENU
from kiosk.ui.screens.catalogue_file import CatalogueFileScreen
from kiosk.ui.screens.catalogue_screens import ArticleForm, CatalogueScreen, ProductSheet
from kiosk.ui.screens.sale import SaleScreen
from kiosk.ui.screens.stock_screens import InventoryScreen
from tests.support.ui import basket_rows, scannable

NEW_CODE = "376055500001" + ean.calc_check_digit("376055500001")
OTHER_CODE = "376055500002" + ean.calc_check_digit("376055500002")


def text_of(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_menu_entry(pilot, app: KioskApp, entry_id: str, pin: str | None = "222222") -> None:  # type: ignore[no-untyped-def]
    index = [entry.id for entry in MENU].index(entry_id)
    await pilot.press("f1")
    menu = app.screen.query_one("#menu-options", OptionList)
    assert menu.highlighted == 0
    await pilot.press(*["down"] * index, "enter")
    if pin is not None:
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.press("tab", "enter", *pin, "enter")  # Marc, the manager, is the second button


async def login(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("tab", "tab", "enter", *"333333", "enter")


async def test_excel_import_from_the_till_previews_then_imports(till: Till) -> None:
    book = Workbook()
    book.active.append(["Libellé", "Prix TTC", "TVA", "Code-barres", "Catégorie"])
    book.active.append(["Savon au lait d'ânesse", "4,90 €", "20 %", int(NEW_CODE), "Hygiène-droguerie"])
    book.active.append(["Savon sans prix", "", "20 %", OTHER_CODE, "Hygiène-droguerie"])
    book.save(till.data_dir / "nouveautes.xlsx")
    before = Article.select().count()
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue_file")
        assert isinstance(app.screen, CatalogueFileScreen)
        assert app.screen.query_one("#import-confirm", Button).disabled
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        summary = text_of(app, "#import-summary")
        assert "Articles créés : 1" in summary and "Lignes refusées : 1" in summary
        assert "ligne 3, colonne « Prix TTC » : prix manquant" in summary
        assert Article.select().count() == before  # the preview wrote nothing
        await pilot.press("f12")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Import terminé : 1 créés" in text_of(app, "#import-summary")
        assert Article.select().count() == before + 1
        await pilot.press("escape")
        assert isinstance(app.screen, SaleScreen)
        await pilot.press(*NEW_CODE, "enter")
        assert basket_rows(app)[0][0] == "Savon au lait d'ânesse"


async def test_import_needs_a_preview_and_a_file(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue_file")
        assert "Aucun fichier Excel" in text_of(app, "#import-summary")
        await pilot.press("f12")
        assert "Faites d'abord l'aperçu" in text_of(app, "#import-error")
        await pilot.click("#export")
        await app.workers.wait_for_complete()  # written by a worker thread
        await pilot.pause()
        assert "articles exportés" in text_of(app, "#import-summary")
        assert len(app.screen.query_one("#file-list", OptionList).options) == 1  # the export, re-importable


async def test_inventory_count_by_scanning(till: Till) -> None:
    article = scannable(till, 550)
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    till.stock.move(marc, article.id, Decimal(5), "reception", "livraison")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "inventory")
        assert isinstance(app.screen, InventoryScreen)
        for _ in range(2):
            await pilot.press(*str(article.barcode), "enter")
        app.scanners.scan(str(article.barcode))  # type: ignore[attr-defined]  # the USB scanner, read directly
        for _ in range(200):  # the reader thread hands the scan over to the UI thread
            await pilot.pause(0.02)
            if "3 compté" in text_of(app, "#inventory-message"):
                break
        table = app.screen.query_one("#inventory-table", DataTable)
        assert [str(c) for c in table.get_row_at(0)][2:] == ["5", "3", "-2"]
        await pilot.press("f12")
        assert "1 écart(s) sur 1 article(s)" in text_of(app, "#inventory-message")
        assert till.stock.balance(article.id) == 5000  # reviewed, not posted yet
        await pilot.press("f12")
        assert "Inventaire enregistré : 1 mouvement" in text_of(app, "#inventory-message")
        assert till.stock.balance(article.id) == 3000
        assert till.stock.history(article.id)[0].user == "Marc"


async def test_sale_decrements_stock_and_shows_the_alert_badge(till: Till) -> None:
    article = scannable(till, 2000)
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    till.stock.move(marc, article.id, Decimal(3), "reception", "")
    till.stock.set_threshold(marc, article.id, Decimal(1))
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        assert str(app.screen.query_one("#menu", Button).label) == "Menu"
        await pilot.press(*str(article.barcode), "enter", *str(article.barcode), "enter")
        await pilot.press("f12", *str(-(-2 * article.price_cents // 100) + 1), "enter")
        await app.workers.wait_for_complete()
        for _ in range(3):  # change shown, then the next customer
            if not isinstance(app.screen, SaleScreen):
                await pilot.press("enter")
        assert isinstance(app.screen, SaleScreen)
        assert till.stock.balance(article.id) == 1000
        assert str(app.screen.query_one("#menu", Button).label) == "Menu ⚠1"
        # the stock screen lists it in the alerts
        await open_menu_entry(pilot, app, "stock")
        await pilot.press("f4")
        await pilot.pause()  # the checkbox's Changed message refreshes the table
        table = app.screen.query_one("#stock-table", DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[1]) == article.name


async def test_product_sheet_from_search_and_article_edit(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await pilot.press(*"creme fraiche")
        results = app.screen.query_one("#results", OptionList)
        assert "Crème fraîche épaisse 20 cl" in str(results.get_option_at_index(0).prompt)
        await open_menu_entry(pilot, app, "product_sheet", pin=None)
        assert isinstance(app.screen, ProductSheet)
        assert "Référence :" in text_of(app, "#sheet-text") and "Stock : 0" in text_of(app, "#sheet-text")
        await pilot.press("escape")
        await pilot.press(*["backspace"] * 13)

        await open_menu_entry(pilot, app, "catalogue")
        assert isinstance(app.screen, CatalogueScreen)
        await pilot.press(*"creme fraiche", "enter")
        await pilot.press("f3")
        assert isinstance(app.screen, ArticleForm)
        price = app.screen.query_one("#art-price", Input)
        assert price.value == "1,85"
        price.value = "abc"
        await pilot.press("f12")
        assert "Prix TTC illisible « abc »" in text_of(app, "#article-error")
        price.value = "2,05"
        await pilot.press("f12")
        assert isinstance(app.screen, CatalogueScreen)
        assert Article.get(Article.name == "Crème fraîche épaisse 20 cl").price_cents == 205
        # never sold: deleted; the list says so
        await pilot.press("f8")
        assert "supprimé" in text_of(app, "#catalogue-message")
        assert not Article.select().where(Article.name == "Crème fraîche épaisse 20 cl").exists()


async def test_a_cashier_pin_does_not_open_the_catalogue(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue", pin="333333")
        assert isinstance(app.screen, ManagerPinDialog)
        assert str(app.screen.query_one("#manager-error", Static).render()) != ""


def test_menu_has_the_catalogue_entries() -> None:
    assert {"catalogue", "catalogue_file", "stock", "inventory", "product_sheet"} <= {e.id for e in MENU}
    assert Path  # noqa: B018


async def test_variants_created_in_the_catalogue_and_chosen_at_the_sale(till: Till) -> None:
    from kiosk.catalogue.articles import ArticleDraft, CatalogueEditor
    from kiosk.ui.screens.catalogue_screens import VariantDialog, VariantsScreen

    marc = next(m for m in till.staff.members() if m.name == "Marc")
    CatalogueEditor(till.db).save_article(
        marc, ArticleDraft("Tablier de cuisine", "TAB", "hygiene", "", "20", "20")
    )
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue")
        await pilot.press(*"tablier", "enter", "f5")
        assert isinstance(app.screen, VariantsScreen)
        await pilot.press(*"S, M", "enter", *"Rouge, Vert", "enter", *"1,50", "enter", *NEW_CODE, "enter")
        assert "4 déclinaison(s) ajoutée(s)" in text_of(app, "#variants-message")
        assert app.screen.query_one("#variants-table", DataTable).row_count == 4
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, SaleScreen)
        # picking the model asks which variant
        await pilot.press(*"tablier", "enter")
        assert isinstance(app.screen, VariantDialog)
        await pilot.press("down", "enter")
        assert isinstance(app.screen, SaleScreen)
        # scanning a variant's barcode sells it at once
        await pilot.press(*NEW_CODE, "enter")
        rows = basket_rows(app)
        assert [(r[0], r[2]) for r in rows] == [
            ("Tablier de cuisine S Vert", "21,50 €"),
            ("Tablier de cuisine S Rouge", "21,50 €"),
        ]


async def test_stock_movement_and_threshold_from_the_stock_screen(till: Till) -> None:
    from textual.widgets import Select

    from kiosk.ui.screens.stock_screens import MovementDialog, StockScreen

    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "stock")
        assert isinstance(app.screen, StockScreen)
        app.screen.query_one("#stock-category", Select).value = "cremerie"
        await pilot.pause()
        table = app.screen.query_one("#stock-table", DataTable)
        first = str(table.get_row_at(0)[1])
        assert {str(table.get_row_at(i)[2]) for i in range(table.row_count)} == {"Crèmerie-fromages"}
        table.focus()
        await pilot.press("enter")  # Entrée (or a touch) on the article: « Mouvement »
        assert isinstance(app.screen, MovementDialog)
        await pilot.press(*"12", "enter", *"livraison", "enter")
        assert isinstance(app.screen, StockScreen)
        assert f"Réception 12 : {first}, stock 12." in text_of(app, "#stock-message")
        await pilot.press("f3", *"20", "enter")
        assert str(table.get_row_at(0)[5]) == "ALERTE"
        await pilot.press("f4")
        assert table.row_count == 1
        article_id = int(str(table.coordinate_to_cell_key((0, 0)).row_key.value))
        [movement] = till.stock.history(article_id)
        assert (movement.kind, movement.qty_milli, movement.reason, movement.user) == (
            "reception",
            12000,
            "livraison",
            "Marc",
        )
        await pilot.press("escape")
        assert str(app.screen.query_one("#menu", Button).label) == "Menu ⚠1"


async def test_favourite_keys_follow_the_catalogue(till: Till) -> None:
    from kiosk.catalogue.articles import ArticleDraft, CatalogueEditor

    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue")
        new_id = CatalogueEditor(till.db).save_article(
            marc, ArticleDraft("Bouquet du jour", "BOUQ", "livres", "", "20", "9,90", favourite=True)
        )
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        from textual.widgets import TabbedContent

        tabs = app.screen.query_one("#favourites", TabbedContent)
        tabs.active = "cat-livres"
        await pilot.pause()
        await pilot.click(f"#fav-{new_id}")
        assert basket_rows(app)[0][0] == "Bouquet du jour"


async def test_new_article_with_the_keyboard(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await open_menu_entry(pilot, app, "catalogue")
        await pilot.press("f2")
        assert isinstance(app.screen, ArticleForm)
        await pilot.press(*"Panier en osier", "tab", *"OSIER-1", "tab", "enter", "down", "enter")
        await pilot.press("tab", *OTHER_CODE, "tab", "tab", *"24,90", "tab", *"11", "tab", *"2")
        await pilot.press("f12")
        assert isinstance(app.screen, CatalogueScreen)
        assert "Article enregistré : Panier en osier" in text_of(app, "#catalogue-message")
        article = Article.get(Article.reference == "OSIER-1")
        first_category = till.catalogue.categories()[0].key
        assert (article.price_cents, article.cost_cents, article.vat_bp, article.category.key) == (
            2490,
            1100,
            2000,
            first_category,
        )
        assert till.catalogue.by_code(OTHER_CODE).name == "Panier en osier"  # type: ignore[union-attr]
        assert till.stock.line(article.id).threshold_milli == 2000  # type: ignore[union-attr]


async def test_every_button_fits_the_80x24_till_screen(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        for entry in ("catalogue_file", "stock", "inventory", "catalogue"):
            await open_menu_entry(pilot, app, entry)
            buttons = list(app.screen.query(Button))
            assert buttons and all(
                b.region.width and b.region.right <= 80 and b.region.bottom <= 24 for b in buttons
            ), [(b.id, b.region) for b in buttons]
            await pilot.press("escape")
            if not isinstance(app.screen, SaleScreen):  # the inventory asks before leaving
                await pilot.press("escape")
            assert isinstance(app.screen, SaleScreen)
