"""Stock for a manager: the stock list with its alerts and valuation, a movement (« Mouvement ») with its
reason, the alert threshold, and the inventory count (scan, review, post the differences)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, RadioButton, RadioSet, Select, Static

from kiosk.catalogue.barcode import BarcodeError
from kiosk.catalogue.stock import (
    KINDS,
    MANUAL_KINDS,
    InventoryCount,
    StockError,
    StockLine,
    format_stock,
    parse_stock_qty,
)
from kiosk.common.money import format_eur
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

STOCK_CSS = """
.stock-screen { width: 98%; max-width: 120; height: 96%; }
.stock-screen DataTable { height: 1fr; }
#movement { width: 70; }
#movement RadioSet { width: 100%; }
#stock-filters { height: auto; }
#stock-filters Select { width: 40; }
"""


MAX_ROWS = 500


class MovementDialog(ModalScreen[tuple[str, Decimal, str] | None]):
    """« Mouvement » for one article: kind, quantity added (12) or taken away (-3), reason."""

    CSS = STOCK_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="movement.cancel")]

    def __init__(self, line: StockLine):
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="movement"):
            yield Label(
                Content(f"Mouvement : {self.line.name} (stock {format_stock(self.line.balance_milli)})"),
                classes="section-title",
            )
            with RadioSet(id="movement-kind"):
                for kind in MANUAL_KINDS:
                    yield RadioButton(KINDS[kind], value=kind == "reception", id=f"kind-{kind}")
            yield Input(placeholder="Quantité : 12 ajoutés, -3 retirés", id="movement-qty")
            yield Input(placeholder="Raison (livraison, casse, erreur de comptage…)", id="movement-reason")
            yield Static("", id="movement-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Enregistrer", id="movement-ok", variant="success")
                yield Button("Annuler", id="movement-cancel")

    def on_mount(self) -> None:
        self.query_one("#movement-qty", Input).focus()

    @property
    def kind(self) -> str:
        pressed = self.query_one("#movement-kind", RadioSet).pressed_button
        return (pressed.id or "kind-reception").removeprefix("kind-") if pressed else "reception"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "movement-qty":
            self.query_one("#movement-reason", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "movement-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        try:
            qty = parse_stock_qty(self.query_one("#movement-qty", Input).value)
        except StockError as exc:
            self.query_one("#movement-error", Static).update(Content(str(exc)))
            return
        self.dismiss((self.kind, qty, self.query_one("#movement-reason", Input).value))


class ThresholdDialog(ModalScreen[str | None]):
    CSS = STOCK_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="threshold.cancel")]

    def __init__(self, line: StockLine):
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        current = format_stock(self.line.threshold_milli) if self.line.threshold_milli is not None else ""
        with Vertical(classes="dialog", id="movement"):
            yield Label(Content(f"Seuil d'alerte : {self.line.name}"), classes="section-title")
            yield Input(current, placeholder="vide : pas d'alerte", id="threshold-qty")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Mettre à jour", id="threshold-ok", variant="success")
                yield Button("Annuler", id="threshold-cancel")

    def on_mount(self) -> None:
        self.query_one("#threshold-qty", Input).focus()

    def on_input_submitted(self) -> None:
        self.dismiss(self.query_one("#threshold-qty", Input).value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(
            self.query_one("#threshold-qty", Input).value if event.button.id == "threshold-ok" else None
        )


class StockScreen(ModalScreen[None]):
    """Every article's stock (or only those at their threshold), movements, thresholds, valuation."""

    CSS = STOCK_CSS
    BINDINGS = [
        Binding("f2", "movement", "Mouvement", id="stock.move", tooltip="Ajouter ou retirer du stock"),
        Binding("f3", "threshold", "Seuil", id="stock.threshold", tooltip="Seuil d'alerte de l'article"),
        Binding(
            "f4", "toggle_alerts", "Alertes", id="stock.alerts", tooltip="Seulement les articles en alerte"
        ),
        Binding("escape", "dismiss(None)", "Fermer", id="stock.close"),
    ]

    def __init__(self, manager: StaffMember, alerts_only: bool = False):
        super().__init__()
        self.manager = manager
        self.alerts_only = alerts_only
        self.lines: list[StockLine] = []

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog stock-screen", id="stock"):
            yield Label("Stock", classes="section-title")
            with Horizontal(id="stock-filters"):
                yield Select(
                    [(c.name, c.key) for c in self.kiosk.till.catalogue.categories()],
                    prompt="Toutes les catégories",
                    id="stock-category",
                )
                yield Checkbox("Seulement les articles en alerte (F4)", self.alerts_only, id="alerts-only")
            yield DataTable(id="stock-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="valuation")
            yield Static("", id="stock-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Mouvement (F2)", id="stock-move", variant="primary")
                yield Button("Seuil d'alerte (F3)", id="stock-threshold")
                yield Button("Fermer", id="stock-close")

    def on_mount(self) -> None:
        table = self.query_one("#stock-table", DataTable)
        for label, key in (
            ("Réf.", "ref"),
            ("Article", "name"),
            ("Catégorie", "cat"),
            ("Stock", "qty"),
            ("Seuil", "thr"),
            ("", "alert"),
        ):
            table.add_column(label, key=key)
        self.refresh_table()
        table.focus()

    def refresh_table(self) -> None:
        stock = self.kiosk.till.stock
        category = self.query_one("#stock-category", Select).value
        key = category if isinstance(category, str) else None  # Select.NULL: all categories
        self.lines = stock.lines(category=key, only_alerts=self.alerts_only, limit=MAX_ROWS + 1)
        if len(self.lines) > MAX_ROWS:  # a 100,000-article catalogue: one category at a time
            self.lines = self.lines[:MAX_ROWS]
            self.say(
                f"Plus de {MAX_ROWS} articles : choisissez une catégorie (ou les alertes) pour tout voir."
            )
        table = self.query_one("#stock-table", DataTable)
        row = table.cursor_row
        table.clear()
        for line in self.lines:
            table.add_row(
                Text(line.reference),
                Text(line.name),
                Text(line.category),
                Text(format_stock(line.balance_milli), justify="right"),
                Text(format_stock(line.threshold_milli) if line.threshold_milli is not None else ""),
                Text("ALERTE", style="bold red") if line.alert else Text(""),
                key=str(line.article_id),
            )
        if self.lines:
            table.move_cursor(row=min(row, len(self.lines) - 1))
        value = stock.valuation()
        cost = f" ; au prix d'achat : {format_eur(value.cost_cents)}" if value.cost_cents else ""
        missing = (
            f" ({value.without_cost} sans prix d'achat)" if value.without_cost and value.cost_cents else ""
        )
        self.query_one("#valuation", Static).update(
            f"Valorisation au prix de vente : {format_eur(value.sale_cents)}{cost}{missing} — "
            f"{stock.alert_count()} article(s) en alerte"
        )

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#stock-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")
        if error:
            self.app.bell()

    def selected(self) -> StockLine | None:
        table = self.query_one("#stock-table", DataTable)
        if not self.lines:
            self.say("Aucun article dans la liste.", error=True)
            return None
        return self.lines[min(table.cursor_row, len(self.lines) - 1)]

    def action_toggle_alerts(self) -> None:
        box = self.query_one("#alerts-only", Checkbox)
        box.value = not box.value

    @on(Checkbox.Changed, "#alerts-only")
    def alerts_toggled(self, event: Checkbox.Changed) -> None:
        self.alerts_only = event.value
        self.refresh_table()

    @on(DataTable.RowSelected, "#stock-table")
    def row_chosen(self) -> None:
        """Entrée or a touch on an article: « Mouvement »."""
        self.action_movement()

    @on(Select.Changed, "#stock-category")
    def category_chosen(self) -> None:
        self.refresh_table()

    def action_movement(self) -> None:
        line = self.selected()
        if line is None:
            return

        def chosen(result: tuple[str, Decimal, str] | None) -> None:
            if result is None:
                return
            kind, qty, reason = result
            try:
                movement = self.kiosk.till.stock.move(self.manager, line.article_id, qty, kind, reason)
            except (StockError, PermissionDenied) as exc:
                self.say(str(exc), error=True)
                return
            self.refresh_table()
            balance = self.kiosk.till.stock.balance(line.article_id)
            self.say(
                f"{movement.label} {format_stock(movement.qty_milli)} : {line.name}, stock {format_stock(balance)}."
            )

        self.app.push_screen(MovementDialog(line), chosen)

    def action_threshold(self) -> None:
        line = self.selected()
        if line is None:
            return

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                qty = parse_stock_qty(text, signed=False) if text.strip() else None
                self.kiosk.till.stock.set_threshold(self.manager, line.article_id, qty)
            except (StockError, PermissionDenied) as exc:
                self.say(str(exc), error=True)
                return
            self.refresh_table()
            self.say(f"Seuil d'alerte de {line.name} : {text.strip() or 'aucun'}.")

        self.app.push_screen(ThresholdDialog(line), chosen)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "stock-move":
            self.action_movement()
        elif event.button.id == "stock-threshold":
            self.action_threshold()
        else:
            self.dismiss(None)


class InventoryScreen(ModalScreen[None]):
    """Inventory count: scan (or type) each article found on the shelves, correct a count if needed,
    then post: only the differences with the stock become movements."""

    CSS = STOCK_CSS
    BINDINGS = [
        Binding("f4", "set_count", "Quantité", id="inventory.qty", tooltip="Corriger la quantité comptée"),
        Binding("f12", "post", "Valider", id="inventory.post", tooltip="Enregistrer les écarts"),
        Binding("escape", "leave", "Fermer", id="inventory.close"),
    ]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager
        self.count: InventoryCount | None = None
        self.confirming = False

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog stock-screen", id="inventory"):
            yield Label("Inventaire : scannez chaque article compté", classes="section-title")
            yield Input(placeholder="Code-barres ou référence, puis Entrée", id="inventory-code")
            yield DataTable(id="inventory-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="inventory-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Quantité (F4)", id="inventory-qty")
                yield Button("Valider l'inventaire (F12)", id="inventory-post", variant="success")
                yield Button("Fermer", id="inventory-close")

    def on_mount(self) -> None:
        self.count = InventoryCount(self.kiosk.till.stock)
        table = self.query_one("#inventory-table", DataTable)
        for label, key in (
            ("Réf.", "ref"),
            ("Article", "name"),
            ("Attendu", "exp"),
            ("Compté", "cnt"),
            ("Écart", "diff"),
        ):
            table.add_column(label, key=key)
        self.query_one("#inventory-code", Input).focus()

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#inventory-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")
        if error:
            self.app.bell()

    def refresh_table(self, article_id: int | None = None) -> None:
        """Redraw the count; with `article_id`, only its row (a scan must not redraw a long count)."""
        assert self.count is not None
        table = self.query_one("#inventory-table", DataTable)
        if article_id is None:
            table.clear()
        lines = [self.count.lines[article_id]] if article_id is not None else list(self.count.lines.values())
        for line in lines:
            diff = line.difference_milli
            cells = (
                Text(line.reference),
                Text(line.name),
                Text(format_stock(line.expected_milli), justify="right"),
                Text(format_stock(line.counted_milli), justify="right"),
                Text(
                    ("+" if diff > 0 else "") + format_stock(diff),
                    style="bold" if diff else "",
                    justify="right",
                ),
            )
            key = str(line.article_id)
            if key in table.rows:
                for column, cell in zip(("ref", "name", "exp", "cnt", "diff"), cells, strict=True):
                    table.update_cell(key, column, cell)
            else:
                table.add_row(*cells, key=key)
        if article_id is not None:
            table.move_cursor(row=table.get_row_index(str(article_id)))

    @on(Input.Submitted, "#inventory-code")
    def code_submitted(self, event: Input.Submitted) -> None:
        code = event.value.strip()
        event.input.value = ""
        if code:
            self.enter_code(code)

    def enter_code(self, code: str) -> None:
        assert self.count is not None
        self.confirming = False
        try:
            match = self.kiosk.till.catalogue.resolve(code)
        except BarcodeError as exc:
            self.say(str(exc), error=True)
            return
        if match is None:
            self.say(f"Article inconnu : {code}. Vérifiez le code ou créez l'article.", error=True)
            return
        article = match.article
        qty = match.weight if match.weight is not None else Decimal(1)  # a scale label counts its weight
        line = self.count.add(article.id, article.reference, article.name, qty)
        self.refresh_table(article.id)
        self.say(f"{article.name} : {format_stock(line.counted_milli)} compté(s).")

    def action_set_count(self) -> None:
        assert self.count is not None
        table = self.query_one("#inventory-table", DataTable)
        if not self.count.lines:
            self.say("Scannez d'abord un article.", error=True)
            return
        line = list(self.count.lines.values())[table.cursor_row]
        self.app.push_screen(
            CountDialog(line.name, format_stock(line.counted_milli)),
            lambda text: self._counted(line.article_id, text),
        )

    def _counted(self, article_id: int, text: str | None) -> None:
        assert self.count is not None
        if text is None:
            return
        try:
            self.count.set(article_id, parse_stock_qty(text, signed=False))
        except StockError as exc:
            self.say(str(exc), error=True)
            return
        self.refresh_table(article_id)
        self.query_one("#inventory-code", Input).focus()

    def action_post(self) -> None:
        """First press: review the differences; second press: post them."""
        assert self.count is not None
        differences = self.count.differences()
        if not self.count.lines:
            self.say("Rien de compté : scannez les articles, puis validez.", error=True)
            return
        if not self.confirming:
            self.confirming = True
            self.say(
                f"{len(differences)} écart(s) sur {len(self.count.lines)} article(s) compté(s) ; "
                "les articles non comptés ne changent pas. Validez de nouveau (F12) pour enregistrer."
            )
            return
        try:
            written = self.count.post(self.manager)
        except PermissionDenied as exc:
            self.say(str(exc), error=True)
            return
        self.confirming = False
        self.refresh_table()
        self.say(f"Inventaire enregistré : {written} mouvement(s) d'inventaire.")

    def action_leave(self) -> None:
        if self.count is not None and self.count.lines and not self.confirming:
            self.confirming = True
            self.say(
                "Comptage non validé : Fermer (Échap) de nouveau l'abandonne, F12 l'enregistre.", error=True
            )
            return
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "inventory-qty":
            self.action_set_count()
        elif event.button.id == "inventory-post":
            self.action_post()
        else:
            self.action_leave()


class CountDialog(ModalScreen[str | None]):
    CSS = STOCK_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="count.cancel")]

    def __init__(self, name: str, current: str):
        super().__init__()
        self.article_name = name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="movement"):
            yield Label(Content(f"Quantité comptée : {self.article_name}"), classes="section-title")
            yield Input(self.current, id="count-qty")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="count-ok", variant="success")
                yield Button("Annuler", id="count-cancel")

    def on_mount(self) -> None:
        self.query_one("#count-qty", Input).focus()

    def on_input_submitted(self) -> None:
        self.dismiss(self.query_one("#count-qty", Input).value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.query_one("#count-qty", Input).value if event.button.id == "count-ok" else None)
