"""The sale screen: code/search field, favourites grid, basket, totals with the VAT table."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Key
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    OptionList,
    Static,
    TabbedContent,
)
from textual.widgets.option_list import Option

from drivers.display import item_lines, total_lines
from drivers.scale import NoScale, ScaleError
from kiosk.catalogue.articles import ArticleView
from kiosk.catalogue.barcode import BarcodeError
from kiosk.common.money import AmountError, format_eur, format_qty, format_rate
from kiosk.receipts.render import vat_code
from kiosk.sale.basket import Basket, BasketError, BasketLine
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import (
    FreeAmountDialog,
    ManagerPinDialog,
    PrintJobsDialog,
    QuantityDialog,
    UnknownCodeDialog,
)
from kiosk.ui.menu import MENU
from kiosk.ui.screens.catalogue_menu import after_sale, choose_variant, refresh_stock_badge
from kiosk.ui.screens.menu import MenuEntry, MenuScreen
from kiosk.ui.screens.payment import PaymentOutcome, PaymentScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.reports import ReportsScreen
from kiosk.ui.widgets.favourites import favourite_panes
from kiosk.ui.widgets.keys import TouchKey

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class SaleScreen(Screen[None]):
    BINDINGS = [
        Binding("f1", "menu", "Menu", id="sale.menu", tooltip="Toutes les autres actions"),
        Binding(
            "f2", "focus_code", "Code/Recherche", id="sale.code", tooltip="Scanner ou chercher un article"
        ),
        Binding("f3", "focus_basket", "Panier", id="sale.basket", tooltip="Aller aux lignes du panier"),
        Binding("f4", "quantity", "Quantité", id="sale.qty", tooltip="Changer la quantité de la ligne"),
        Binding("f6", "free_amount", "Montant libre", id="sale.free", tooltip="Article hors catalogue"),
        Binding("f7", "printing", "Impressions", id="sale.print", tooltip="Relancer l'imprimante"),
        Binding("f5", "reports", "Rapports", id="sale.reports", tooltip="Rapport X, clôture Z (responsable)"),
        Binding("f9", "training", "Formation", id="sale.training", tooltip="Mode formation (responsable)"),
        Binding("f8", "delete_line", "Supprimer", id="sale.delete", tooltip="Supprimer la ligne choisie"),
        Binding("f12", "pay", "Encaisser", id="sale.pay", tooltip="Encaisser en espèces"),
        Binding(
            "f11", "no_sale", "Tiroir", id="sale.drawer", tooltip="Ouvrir le tiroir hors vente (responsable)"
        ),
        Binding("f10", "logout", "Déconnexion", id="sale.logout", tooltip="Changer d'utilisateur"),
        Binding("plus", "qty_step(1)", "+1", id="sale.plus", show=False),
        Binding("minus", "qty_step(-1)", "-1", id="sale.minus", show=False),
        Binding("delete", "delete_line", "Supprimer", id="sale.del", show=False),
    ]

    def __init__(self, member: StaffMember):
        super().__init__()
        self.member = member
        self.basket = Basket()
        self.selected_line: int | None = None

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        catalogue = self.kiosk.till.catalogue
        yield Header(show_clock=True)
        with Horizontal(id="sale"):
            with Vertical(id="sale-left"):
                yield Input(placeholder="Code-barres ou nom de l'article (F2)", id="code")
                yield OptionList(id="results")
                with TabbedContent(id="favourites"):
                    yield from favourite_panes(catalogue)
            with Vertical(id="sale-right"):
                yield DataTable(id="basket", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="line-buttons"):
                    yield TouchKey("−", id="qty-minus", classes="line-button")
                    yield TouchKey("+", id="qty-plus", classes="line-button")
                    yield TouchKey("Qté", id="qty-set", classes="line-button")
                    yield TouchKey("Suppr.", id="line-delete", classes="line-button", variant="error")
                    yield TouchKey("Libre", id="free-amount", classes="line-button")
                    yield TouchKey("Menu", id="menu", classes="line-button")
                yield Static("", id="vat-table")
                with Horizontal(id="total-bar"):
                    yield Static("TOTAL 0,00 €", id="total")
                    yield Button("Encaisser", id="pay", variant="success")
                yield Static("", id="message")
                yield Static("", id="customer-display")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#basket", DataTable)
        table.add_column("Article", key="label")
        table.add_column("Qté", key="qty")
        table.add_column("P.U.", key="unit")
        table.add_column("Montant", key="amount")
        table.add_column("TVA", key="vat")
        self.query_one("#results", OptionList).display = False
        self.refresh_basket()
        refresh_stock_badge(self)
        self.action_focus_code()

    # -- feedback --------------------------------------------------------------------------------
    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(Content(text))  # article names are text, never markup
        message.set_class(error, "error")
        if error:
            self.app.bell()

    # -- adding articles -------------------------------------------------------------------------
    def add_article(
        self, article: ArticleView, qty: Decimal = Decimal(1), unit_cents: int | None = None
    ) -> None:
        try:
            index = self.basket.add_article(article, qty, unit_cents)
        except AmountError as exc:
            self.say(str(exc), error=True)
            return
        self.selected_line = index
        self.refresh_basket(changed=index)
        line = self.basket.lines[index]
        self.say(f"{line.label} : {format_qty(line.qty)} × {format_eur(line.unit_cents)}")
        self.kiosk.show_on_display(*item_lines(line.label, format_eur(line.amount)))

    @on(Input.Submitted, "#code")
    def code_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        results = self.query_one("#results", OptionList)
        if not text:
            return
        if results.display and results.highlighted is not None and not text.isdigit():
            self._add_option(results.highlighted)
            return
        event.input.value = ""
        self.enter_code(text)

    def enter_code(self, code: str) -> None:
        """A code typed + Entrée, or read by a scanner: add the article, or say what to do."""
        try:
            match = self.kiosk.till.catalogue.resolve(code)
        except BarcodeError as exc:
            self.say(str(exc), error=True)
            return
        if match is None:
            self.unknown_code(code)
        elif match.weight is not None:  # a scale label: weighed already
            self.add_article(match.article, match.weight)
        elif match.price is not None:  # a label with the price of this piece
            self.add_article(match.article, unit_cents=match.price)
        else:
            self.add_article_checked(match.article)

    def unknown_code(self, code: str) -> None:
        self.say(f"Article inconnu : {code}", error=True)

        def chosen(choice: str | None) -> None:
            if choice == "search":
                field = self.query_one("#code", Input)
                field.value = ""
                field.focus()
                self.say("Tapez le nom ou la référence de l'article.")
            elif choice == "free":
                self.action_free_amount()

        self.app.push_screen(UnknownCodeDialog(code), chosen)

    @on(Input.Changed, "#code")
    def search(self, event: Input.Changed) -> None:
        text = event.value.strip()
        results = self.query_one("#results", OptionList)
        if len(text) < 2 or text.isdigit():
            if results.display:  # typing a barcode must not relayout the screen at each digit
                results.display = False
            return
        found = self.kiosk.till.catalogue.search(text, limit=20)
        results.clear_options()
        results.add_options(
            Option(
                Text(f"{a.name}  {format_eur(a.price_cents)}{'/kg' if a.sold_by_weight else ''}"),
                id=str(a.id),
            )
            for a in found
        )
        results.display = bool(found)
        if found:
            results.highlighted = 0

    def _add_option(self, index: int) -> None:
        results = self.query_one("#results", OptionList)
        option_id = results.get_option_at_index(index).id
        article = self.kiosk.till.catalogue.get(int(option_id or 0))
        field = self.query_one("#code", Input)
        field.value = ""
        results.display = False
        field.focus()
        if article is not None:
            self.add_article_checked(article)

    @on(OptionList.OptionSelected, "#results")
    def result_chosen(self, event: OptionList.OptionSelected) -> None:
        self._add_option(event.option_index)

    def add_article_checked(self, article: ArticleView) -> None:
        """Weighed articles are weighed on the scale (or their weight typed when there is none)."""
        if choose_variant(self, article):  # a model article: which size, which colour?
            return
        if not article.sold_by_weight:
            self.add_article(article)
        elif isinstance(self.kiosk.till.scale, NoScale):
            self.ask_weight(article)
        else:
            self.say(f"Pesée de {article.name}…")
            self.weigh(article)

    @work(thread=True, exclusive=True, group="scale")
    def weigh(self, article: ArticleView) -> None:
        """The scale answers in up to a few seconds (motion): never on the UI thread."""
        try:
            reading = self.kiosk.till.scale.read_weight()
        except ScaleError as exc:
            self.app.call_from_thread(self.weighing_failed, article, exc.message)
            return
        if reading.kg <= 0:
            self.app.call_from_thread(
                self.weighing_failed, article, "Poids nul : posez l'article sur la balance."
            )
            return
        self.app.call_from_thread(self.add_article, article, reading.kg)

    def weighing_failed(self, article: ArticleView, reason: str) -> None:
        self.say(f"{reason} Vous pouvez aussi saisir le poids.", error=True)
        self.ask_weight(article)

    def ask_weight(self, article: ArticleView) -> None:
        def weighed(qty: Decimal | None) -> None:
            if qty is not None:
                self.add_article(article, qty)

        self.app.push_screen(QuantityDialog(article.name, Decimal("0.5"), by_weight=True), weighed)

    def on_key(self, event: Key) -> None:
        """Down arrow from the code field goes into the search results."""
        results = self.query_one("#results", OptionList)
        if event.key == "down" and self.focused is self.query_one("#code", Input) and results.display:
            results.focus()
            event.stop()

    # -- basket ----------------------------------------------------------------------------------
    def _cells(self, line: BasketLine) -> tuple[Text, ...]:
        """Plain Text cells: an article named « Pack [x6] » is not markup, and the table skips parsing."""
        qty = f"{format_qty(line.qty)} kg" if line.sold_by_weight else format_qty(line.qty)
        cells = (line.label, qty, format_eur(line.unit_cents), format_eur(line.amount), vat_code(line.vat_bp))
        return tuple(Text(cell) for cell in cells)

    def refresh_basket(self, changed: int | None = None) -> None:
        """Redraw the basket; with `changed`, only that line (a scan must not redraw every row)."""
        table = self.query_one("#basket", DataTable)
        count = len(self.basket.lines)
        if changed is not None and changed == count - 1 and table.row_count == count - 1:
            table.add_row(*self._cells(self.basket.lines[changed]), key=str(changed))
        elif changed is not None and 0 <= changed < count == table.row_count:
            for column, value in zip(
                ("label", "qty", "unit", "amount", "vat"),
                self._cells(self.basket.lines[changed]),
                strict=True,
            ):
                table.update_cell(str(changed), column, value)
        else:
            table.clear()
            for index, line in enumerate(self.basket.lines):
                table.add_row(*self._cells(line), key=str(index))
        if self.basket.lines:
            if self.selected_line is None or self.selected_line >= len(self.basket.lines):
                self.selected_line = len(self.basket.lines) - 1
            table.move_cursor(row=self.selected_line)
        else:
            self.selected_line = None
        vat = "\n".join(
            # 44 columns: fits the basket side of an 80x24 screen
            f"{vat_code(v.rate_bp)} {format_rate(v.rate_bp):>6} HT {format_eur(v.ht, symbol=False):>8} "
            f"TVA {format_eur(v.tva, symbol=False):>7} TTC {format_eur(v.ttc, symbol=False):>8}"
            for v in self.basket.vat_lines()
        )
        self.query_one("#vat-table", Static).update(vat)
        self.query_one("#total", Static).update(f"TOTAL {format_eur(self.basket.total)}")

    @on(DataTable.RowHighlighted, "#basket")
    def line_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected_line = event.cursor_row

    def action_focus_code(self) -> None:
        self.query_one("#code", Input).focus()

    def action_focus_basket(self) -> None:
        self.query_one("#basket", DataTable).focus()

    def _selected(self) -> int | None:
        if self.selected_line is None or not self.basket.lines:
            self.say("Choisissez d'abord une ligne du panier.", error=True)
            return None
        return self.selected_line

    def action_qty_step(self, step: int) -> None:
        if self.focused is self.query_one("#code", Input):
            return
        index = self._selected()
        if index is None:
            return
        line = self.basket.lines[index]
        if line.qty + step <= 0:
            self.say("Quantité minimale 1 : pour retirer l'article, utilisez Supprimer.", error=True)
            return
        self._set_qty(index, line.qty + step)

    def _set_qty(self, index: int, qty: Decimal) -> None:
        try:
            self.basket.set_qty(index, qty)
        except (AmountError, BasketError) as exc:
            self.say(str(exc), error=True)
            return
        self.selected_line = index
        self.refresh_basket(changed=index)
        line = self.basket.lines[index]
        self.say(f"{line.label} : quantité {format_qty(line.qty)}")

    def action_quantity(self) -> None:
        index = self._selected()
        if index is None:
            return
        line = self.basket.lines[index]

        def chosen(qty: Decimal | None) -> None:
            if qty is not None:
                self._set_qty(index, qty)

        self.app.push_screen(QuantityDialog(line.label, line.qty, line.sold_by_weight), chosen)

    def action_delete_line(self) -> None:
        if self.focused is self.query_one("#code", Input) and self.query_one("#code", Input).value:
            return
        index = self._selected()
        if index is None:
            return
        removed = self.basket.remove(index)
        self.selected_line = min(index, len(self.basket.lines) - 1) if self.basket.lines else None
        self.refresh_basket()
        self.say(f"Ligne supprimée : {removed.label}")
        self.kiosk.show_on_display(*total_lines(format_eur(self.basket.total)))

    def action_free_amount(self) -> None:
        def chosen(result: tuple[str, int, int] | None) -> None:
            if result is None:
                return
            label, amount, vat_bp = result
            self.selected_line = self.basket.add_free_amount(label, amount, vat_bp)
            self.refresh_basket()
            self.say(f"Montant libre ajouté : {label} {format_eur(amount)}")

        self.app.push_screen(FreeAmountDialog(), chosen)

    # -- buttons ---------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        event.stop()
        if button_id.startswith("fav-"):
            article = self.kiosk.till.catalogue.get(int(button_id.removeprefix("fav-")))
            if article is not None:
                self.add_article_checked(article)
        elif button_id == "qty-plus":
            self._step_from_button(1)
        elif button_id == "qty-minus":
            self._step_from_button(-1)
        elif button_id == "qty-set":
            self.action_quantity()
        elif button_id == "line-delete":
            self.action_delete_line()
        elif button_id == "free-amount":
            self.action_free_amount()
        elif button_id == "pay":
            self.action_pay()
        elif button_id == "menu":
            self.action_menu()

    def action_menu(self) -> None:
        def chosen(entry: MenuEntry | None) -> None:
            if entry is not None:
                entry.run(self)

        self.app.push_screen(MenuScreen(MENU), chosen)

    def _step_from_button(self, step: int) -> None:
        index = self._selected()
        if index is not None and self.basket.lines[index].qty + step > 0:
            self._set_qty(index, self.basket.lines[index].qty + step)
        elif index is not None:
            self.say("Quantité minimale 1 : pour retirer l'article, utilisez Supprimer.", error=True)

    # -- payment ---------------------------------------------------------------------------------
    def action_pay(self) -> None:
        if self.basket.is_empty:
            self.say("Le panier est vide : ajoutez un article avant d'encaisser.", error=True)
            return

        def done(outcome: PaymentOutcome | None) -> None:
            if outcome is not None:
                self.basket.clear()
                self.selected_line = None
                self.refresh_basket()
                sale = outcome.sale
                after_sale(self, sale)
                self.say(f"Ticket {sale.number} enregistré : {format_eur(sale.total)}. Client suivant.")
                self.kiosk.after_sale.thanks()
                self.kiosk.collect_garbage()  # a quiet moment: the customer is leaving
                if outcome.receipt_text is not None:
                    self.app.push_screen(ReceiptScreen(outcome.receipt_text, sale.number))
            self.action_focus_code()

        self.kiosk.show_on_display(*total_lines(format_eur(self.basket.total)))
        self.app.push_screen(PaymentScreen(self.basket, self.member), done)

    def action_printing(self) -> None:
        """Resume the print queue; receipts cut short by a stop are decided one by one first."""
        uncertain = self.kiosk.till.print_queue.state().uncertain

        def decided(_: None) -> None:
            self.kiosk.drain_print_queue()

        if uncertain:
            self.app.push_screen(PrintJobsDialog(uncertain), decided)
        else:
            self.kiosk.drain_print_queue()
            self.say("Impression relancée.")

    def action_no_sale(self) -> None:
        """Opening the drawer outside a sale takes a manager's PIN and is journaled (NF525 JET)."""

        def authorised(manager: StaffMember | None) -> None:
            if manager is None:
                return
            self.kiosk.till.cash.drawer_without_sale(self.member.name, manager.name)
            self.kiosk.open_drawer()
            self.say(f"Tiroir ouvert hors vente, autorisé par {manager.name}.")

        self.app.push_screen(ManagerPinDialog(self.kiosk.till.staff, "Ouvrir le tiroir"), authorised)

    def action_reports(self) -> None:
        def authorised(manager: StaffMember | None) -> None:
            if manager is not None:
                self.app.push_screen(ReportsScreen(manager))

        self.app.push_screen(ManagerPinDialog(self.kiosk.till.staff, "Rapports et clôture"), authorised)

    def action_training(self) -> None:
        """Training mode: fictitious tickets in their own journal, never in the grand totals (NF525)."""
        checkout = self.kiosk.till.checkout
        if not self.basket.is_empty:
            self.say("Terminez ou videz le panier avant de changer de mode.", error=True)
            return
        turning_on = not checkout.training
        action = "Passer en mode formation" if turning_on else "Quitter le mode formation"

        def authorised(manager: StaffMember | None) -> None:
            if manager is None:
                return
            checkout.set_training(turning_on, self.member.name, manager.name)
            self.kiosk.set_class(turning_on, "-training")
            self.kiosk.update_sub_title()
            self.say("MODE FORMATION : tickets fictifs." if turning_on else "Retour aux ventes réelles.")

        self.app.push_screen(ManagerPinDialog(self.kiosk.till.staff, action), authorised)

    def action_logout(self) -> None:
        from kiosk.ui.screens.staff_admin import switch_user  # a sale in progress is parked, not lost

        switch_user(self)
