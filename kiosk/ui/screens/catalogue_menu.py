"""The catalogue and stock entries of the sale screen's menu (F1), and the stock alert badge.

Managing the catalogue and the stock takes a manager's PIN (the services check the role again); the
product sheet is open to everyone. The badge on the Menu key shows how many articles reached their alert
threshold; a sale that makes one reach it says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, TabbedContent

from kiosk.catalogue.articles import ArticleView
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.screens.catalogue_file import CatalogueFileScreen
from kiosk.ui.screens.catalogue_screens import CatalogueScreen, ProductSheet, VariantDialog
from kiosk.ui.screens.stock_screens import InventoryScreen, StockScreen
from kiosk.ui.widgets.favourites import favourite_panes

if TYPE_CHECKING:
    from kiosk.sale.checkout import CompletedSale
    from kiosk.ui.screens.sale import SaleScreen


def refresh_stock_badge(screen: SaleScreen) -> int:
    """« Menu ⚠ 3 » on the sale screen's Menu key while 3 articles are at their alert threshold."""
    count = screen.kiosk.till.stock.alert_count()
    buttons = screen.query("#menu")
    if buttons:
        button = buttons.first(Button)
        button.label = f"Menu ⚠{count}" if count else "Menu"
        button.tooltip = f"{count} article(s) au seuil d'alerte : Menu > Stock" if count else None
        button.set_class(bool(count), "-stock-alert")
    return count


def after_sale(screen: SaleScreen, sale: CompletedSale) -> None:
    """Say which articles of this sale just reached their alert threshold, and update the badge."""
    refs = {line.get("ref") for line in sale.body.get("lines", [])}
    reached = [line for line in screen.kiosk.till.stock.alerts() if line.reference in refs]
    if reached:
        names = ", ".join(line.name for line in reached[:3]) + (" …" if len(reached) > 3 else "")
        screen.app.notify(f"Stock au seuil d'alerte : {names}", severity="warning", timeout=8)
    refresh_stock_badge(screen)


def choose_variant(screen: SaleScreen, article: ArticleView) -> bool:
    """When `article` has variants, ask which one and add it; True when the choice is asked."""
    variants = screen.kiosk.till.catalogue.variants(article.id)
    if not variants:
        return False

    def chosen(variant: ArticleView | None) -> None:
        if variant is not None:
            screen.add_article_checked(variant)

    screen.app.push_screen(VariantDialog(article.name, variants), chosen)
    return True


def _as_manager(screen: SaleScreen, action: str, then: Callable[[StaffMember], None]) -> None:
    def authorised(manager: StaffMember | None) -> None:
        if manager is not None:
            then(manager)

    screen.app.push_screen(ManagerPinDialog(screen.kiosk.till.staff, action), authorised)


def _favourite_ids(screen: SaleScreen) -> list[tuple[str, int, str, int]]:
    favourites = screen.kiosk.till.catalogue.favourites()
    return [(key, a.id, a.name, a.price_cents) for key, articles in favourites.items() for a in articles]


async def rebuild_favourites(screen: SaleScreen) -> None:
    """The favourite keys as the catalogue now has them (after an edit or an import)."""
    panes = favourite_panes(screen.kiosk.till.catalogue)
    old = screen.query("#favourites")
    if old:
        await old.first().remove()
    tabs = TabbedContent(id="favourites")
    await screen.query_one("#sale-left").mount(tabs)
    for pane in panes:
        await tabs.add_pane(pane)


def _open(screen: SaleScreen, action: str, make: Callable[[StaffMember], ModalScreen[None]]) -> None:
    def then(manager: StaffMember) -> None:
        before = _favourite_ids(screen)

        async def closed(_: None) -> None:
            refresh_stock_badge(screen)
            if _favourite_ids(screen) != before:
                await rebuild_favourites(screen)

        screen.app.push_screen(make(manager), closed)

    _as_manager(screen, action, then)


def catalogue(screen: SaleScreen) -> None:
    _open(screen, "Gérer le catalogue", CatalogueScreen)


def catalogue_file(screen: SaleScreen) -> None:
    _open(screen, "Importer ou exporter le catalogue", CatalogueFileScreen)


def stock(screen: SaleScreen) -> None:
    _open(screen, "Gérer le stock", StockScreen)


def inventory(screen: SaleScreen) -> None:
    _open(screen, "Inventaire", InventoryScreen)


def product_sheet(screen: SaleScreen) -> None:
    """The sheet of the article highlighted in the search results, else of the basket's selected line."""
    results = screen.query_one("#results", OptionList)
    article_id: int | None = None
    if results.display and results.highlighted is not None:
        article_id = int(results.get_option_at_index(results.highlighted).id or 0)
    elif screen.selected_line is not None and screen.basket.lines:
        article_id = screen.basket.lines[screen.selected_line].article_id
    if not article_id:
        screen.say(
            "Cherchez l'article ou choisissez sa ligne dans le panier, puis Menu > Fiche article.", error=True
        )
        return
    screen.app.push_screen(ProductSheet(article_id))
