"""Catalogue management for a manager: articles (create, edit, delete or archive), categories with their
colour and flags, and the product sheet (also shown to a cashier from the sale screen)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from kiosk.catalogue.articles import (
    CATEGORY_FLAGS,
    ArticleDraft,
    ArticleSheet,
    ArticleView,
    CatalogueEditError,
    CatalogueEditor,
    VariantView,
)
from kiosk.catalogue.stock import format_stock
from kiosk.common.money import format_eur, format_rate
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

CATALOGUE_CSS = """
.catalogue-screen { width: 98%; max-width: 120; height: 96%; }
.catalogue-screen DataTable { height: 1fr; }
#article-form, #category-form { width: 90%; max-width: 90; }
#article-form Input, #article-form Select { width: 1fr; }
.form-row { height: auto; }
.form-row Input { width: 1fr; }
#catalogue-filters { height: auto; }
#catalogue-filters Input { width: 1fr; }
#catalogue-filters Checkbox { width: auto; }
.form-label { width: 16; padding-top: 1; }
#sheet { width: 70; }
#sheet-scroll { height: auto; max-height: 24; }
"""
VAT_CHOICES = [(format_rate(bp), str(bp)) for bp in (550, 1000, 2000, 210)]


def _cents_text(cents: int | None) -> str:
    return "" if cents is None else format_eur(cents, symbol=False).replace(" ", "")


class ArticleForm(ModalScreen[int | None]):
    """Create or edit an article; dismisses with its id once saved."""

    CSS = CATALOGUE_CSS
    BINDINGS = [
        Binding("f12", "save", "Enregistrer", id="article.save"),
        Binding("escape", "dismiss(None)", "Annuler", id="article.cancel"),
    ]

    def __init__(self, manager: StaffMember, sheet: ArticleSheet | None = None):
        super().__init__()
        self.manager = manager
        self.sheet = sheet

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        sheet = self.sheet
        article = sheet.article if sheet else None
        categories = [(c.name, c.key) for c in self.kiosk.till.catalogue.categories()]

        def row(label: str, widget: Input | Select[str]) -> Horizontal:
            return Horizontal(Label(label, classes="form-label"), widget, classes="form-row")

        with Vertical(classes="dialog", id="article-form"):
            yield Label("Modifier l'article" if article else "Nouvel article", classes="section-title")
            with VerticalScroll():
                yield row("Libellé", Input(article.name if article else "", id="art-name"))
                yield row("Référence", Input(article.reference if article else "", id="art-reference"))
                yield row(
                    "Catégorie",
                    Select(categories, id="art-category"),
                )
                yield row("Codes-barres", Input(";".join(sheet.barcodes) if sheet else "", id="art-barcodes"))
                yield row(
                    "TVA",
                    Select(
                        VAT_CHOICES,
                        value=str(article.vat_bp) if article else "2000",
                        id="art-vat",
                        allow_blank=False,
                    ),
                )
                yield row(
                    "Prix TTC", Input(_cents_text(article.price_cents) if article else "", id="art-price")
                )
                yield row(
                    "Prix d'achat", Input(_cents_text(sheet.cost_cents) if sheet else "", id="art-cost")
                )
                threshold = sheet.threshold_milli if sheet else None
                yield row(
                    "Seuil d'alerte",
                    Input(format_stock(threshold) if threshold is not None else "", id="art-threshold"),
                )
                yield row(
                    "Image",
                    Input(
                        sheet.image if sheet else "",
                        placeholder="fichier dans images/, ex. tablier.png",
                        id="art-image",
                    ),
                )
                with Horizontal(classes="form-row"):
                    yield Checkbox(
                        "Vendu au poids", article.sold_by_weight if article else False, id="art-weight"
                    )
                    yield Checkbox("Favori", sheet.favourite if sheet else False, id="art-favourite")
            yield Static("", id="article-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Enregistrer (F12)", id="article-save", variant="success")
                yield Button("Annuler", id="article-cancel")

    def on_mount(self) -> None:
        if self.sheet is not None:
            self.query_one("#art-category", Select).value = self.sheet.article.category
        self.query_one("#art-name", Input).focus()

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def action_save(self) -> None:
        category = self.query_one("#art-category", Select).value
        draft = ArticleDraft(
            name=self.value("art-name"),
            reference=self.value("art-reference"),
            category=category if isinstance(category, str) else "",
            barcodes=self.value("art-barcodes"),
            vat=format_rate(int(str(self.query_one("#art-vat", Select).value))),
            price=self.value("art-price"),
            cost=self.value("art-cost"),
            sold_by_weight=self.query_one("#art-weight", Checkbox).value,
            favourite=self.query_one("#art-favourite", Checkbox).value,
            threshold=self.value("art-threshold"),
            image=self.value("art-image"),
        )
        editor = CatalogueEditor(self.kiosk.till.db)
        try:
            article_id = editor.save_article(
                self.manager, draft, self.sheet.article.id if self.sheet else None
            )
        except (CatalogueEditError, PermissionDenied) as exc:
            self.query_one("#article-error", Static).update(Content(str(exc)))
            self.app.bell()
            return
        self.dismiss(article_id)

    def on_input_submitted(self) -> None:
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "article-save":
            self.action_save()
        else:
            self.dismiss(None)


class CategoryForm(ModalScreen[str | None]):
    CSS = CATALOGUE_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="category.cancel")]

    def __init__(self, manager: StaffMember, key: str | None = None):
        super().__init__()
        self.manager = manager
        self.key = key

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        current = next((c for c in self.kiosk.till.catalogue.categories() if c.key == self.key), None)
        flags = CatalogueEditor(self.kiosk.till.db).category_flags(self.key) if self.key else set()
        with Vertical(classes="dialog", id="category-form"):
            yield Label("Modifier la catégorie" if current else "Nouvelle catégorie", classes="section-title")
            yield Input(current.name if current else "", placeholder="Nom", id="cat-name")
            yield Input(
                current.color if current else "#888888", placeholder="Couleur #RRVVBB", id="cat-color"
            )
            keys = [c.key for c in self.kiosk.till.catalogue.categories()]
            position = str(keys.index(self.key) + 1) if current and self.key else ""
            yield Input(position, placeholder="Ordre (1 = première)", id="cat-position", restrict=r"\d*")
            image = CatalogueEditor(self.kiosk.till.db).category_image(self.key) if self.key else ""
            yield Input(image, placeholder="Image (fichier dans images/)", id="cat-image")
            for flag, label in CATEGORY_FLAGS.items():
                yield Checkbox(label, flag in flags, id=f"flag-{flag}")
            yield Static("", id="category-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Enregistrer", id="category-save", variant="success")
                if current:
                    yield Button("Supprimer", id="category-delete", variant="error")
                yield Button("Annuler", id="category-cancel")

    def on_mount(self) -> None:
        self.query_one("#cat-name", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        editor = CatalogueEditor(self.kiosk.till.db)
        try:
            if event.button.id == "category-save":
                flags = [f for f in CATEGORY_FLAGS if self.query_one(f"#flag-{f}", Checkbox).value]
                key = editor.save_category(
                    self.manager,
                    self.query_one("#cat-name", Input).value,
                    self.query_one("#cat-color", Input).value,
                    flags,
                    self.key,
                    self.query_one("#cat-image", Input).value,
                )
                position = self.query_one("#cat-position", Input).value
                if position:
                    editor.move_category(self.manager, key, int(position))
                self.dismiss(key)
            elif event.button.id == "category-delete" and self.key:
                editor.remove_category(self.manager, self.key)
                self.dismiss("")
            else:
                self.dismiss(None)
        except (CatalogueEditError, PermissionDenied) as exc:
            self.query_one("#category-error", Static).update(Content(str(exc)))
            self.app.bell()


class ProductSheet(ModalScreen[None]):
    """Everything about one article: prices, VAT, barcodes, category, stock and its last movements."""

    CSS = CATALOGUE_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Fermer", id="sheet.close")]

    def __init__(self, article_id: int):
        super().__init__()
        self.article_id = article_id

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        till = self.kiosk.till
        sheet = CatalogueEditor(till.db).sheet(self.article_id)
        with Vertical(classes="dialog", id="sheet"):
            if sheet is None:
                yield Label("Article introuvable", classes="section-title")
            else:
                a = sheet.article
                unit = "/kg" if a.sold_by_weight else ""
                lines = [
                    f"Référence : {a.reference}",
                    f"Catégorie : {sheet.category_name}",
                    f"Prix TTC : {format_eur(a.price_cents)}{unit}   TVA {format_rate(a.vat_bp)}",
                    f"Prix d'achat : {format_eur(sheet.cost_cents) if sheet.cost_cents is not None else '—'}",
                    f"Codes-barres : {', '.join(sheet.barcodes) or '—'}",
                    f"Image : {sheet.image or '—'}",
                    f"Vendu {'au poids' if a.sold_by_weight else 'à l’unité'}"
                    + (" — favori" if sheet.favourite else "")
                    + (" — ARCHIVÉ" if sheet.archived else ""),
                    f"Stock : {format_stock(sheet.stock_milli)}"
                    + (
                        f"   seuil d'alerte {format_stock(sheet.threshold_milli)}"
                        + ("  ALERTE" if sheet.stock_milli <= sheet.threshold_milli else "")
                        if sheet.threshold_milli is not None
                        else ""
                    ),
                    "",
                    "Derniers mouvements :",
                ]
                variants = CatalogueEditor(till.db).variants(self.article_id)
                if variants:
                    lines[-2:-1] = (
                        ["", "Déclinaisons :"]
                        + [
                            f"  {v.label:<20} {format_eur(v.price_cents):>10}  stock {format_stock(v.stock_milli)}"
                            for v in variants
                        ]
                        + [""]
                    )
                for m in till.stock.history(self.article_id, limit=8):
                    lines.append(
                        f"  {m.created_utc[8:10]}/{m.created_utc[5:7]} {m.label:<14} {format_stock(m.qty_milli):>7} {m.reason}"
                    )
                yield Label(Content(a.name), classes="section-title")
                with VerticalScroll(id="sheet-scroll"):
                    yield Static(Content("\n".join(lines)), id="sheet-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Fermer", id="sheet-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


class CatalogueScreen(ModalScreen[None]):
    """Articles (searchable list) and categories, for a manager."""

    CSS = CATALOGUE_CSS
    BINDINGS = [
        Binding("f2", "new_article", "Nouvel article", id="catalogue.new"),
        Binding("f3", "edit_article", "Modifier", id="catalogue.edit"),
        Binding("f8", "remove_article", "Supprimer", id="catalogue.remove"),
        Binding("f4", "categories", "Catégories", id="catalogue.categories"),
        Binding("f5", "variants", "Déclinaisons", id="catalogue.variants"),
        Binding("escape", "dismiss(None)", "Fermer", id="catalogue.close"),
    ]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager
        self.sheets: list[ArticleSheet] = []
        self.showing_categories = False

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    @property
    def editor(self) -> CatalogueEditor:
        return CatalogueEditor(self.kiosk.till.db)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog catalogue-screen", id="catalogue"):
            yield Label("Catalogue", classes="section-title")
            with Horizontal(id="catalogue-filters"):
                yield Input(placeholder="Chercher : nom, référence ou code-barres", id="catalogue-search")
                yield Checkbox("Archivés", id="show-archived", tooltip="Montrer aussi les articles archivés")
            yield DataTable(id="catalogue-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="catalogue-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Nouveau (F2)", id="article-new", variant="success")
                yield Button("Modifier (F3)", id="article-edit", variant="primary")
                yield Button("Supprimer (F8)", id="article-remove", variant="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Déclinaisons (F5)", id="show-variants")
                yield Button("Catégories (F4)", id="show-categories")
                yield Button("Fermer", id="catalogue-close")

    def on_mount(self) -> None:
        self.refresh_table()
        self.query_one("#catalogue-search", Input).focus()

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#catalogue-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")
        if error:
            self.app.bell()

    def refresh_table(self) -> None:
        table = self.query_one("#catalogue-table", DataTable)
        table.clear(columns=True)
        if self.showing_categories:
            for label in ("Catégorie", "Couleur", "Options", "Articles"):
                table.add_column(label)
            counts = self.kiosk.till.catalogue.active_counts()
            for category in self.kiosk.till.catalogue.categories():
                flags = self.editor.category_flags(category.key)
                table.add_row(
                    Text(category.name),
                    Text(category.color, style=f"on {category.color}"),
                    Text(", ".join(CATEGORY_FLAGS[f] for f in sorted(flags) if f in CATEGORY_FLAGS)),
                    Text(str(counts.get(category.key, 0))),
                    key=category.key,
                )
            return
        for label in ("Réf.", "Article", "Catégorie", "Prix TTC", "TVA", "Stock", ""):
            table.add_column(label)
        text = self.query_one("#catalogue-search", Input).value
        archived = self.query_one("#show-archived", Checkbox).value
        self.sheets = self.editor.articles(text, include_archived=archived)
        for sheet in self.sheets:
            a = sheet.article
            table.add_row(
                Text(a.reference),
                Text(a.name),
                Text(sheet.category_name),
                Text(format_eur(a.price_cents) + ("/kg" if a.sold_by_weight else ""), justify="right"),
                Text(format_rate(a.vat_bp)),
                Text(format_stock(sheet.stock_milli), justify="right"),
                Text("archivé" if sheet.archived else ""),
                key=str(a.id),
            )

    @on(Input.Changed, "#catalogue-search")
    @on(Checkbox.Changed, "#show-archived")
    def filter_changed(self) -> None:
        if self.showing_categories:
            self.showing_categories = False
        self.refresh_table()

    @on(DataTable.RowSelected, "#catalogue-table")
    def row_chosen(self) -> None:
        """Entrée or a touch on an article (or a category): its form, to edit it (seed: « cliquez sur son
        intitulé »)."""
        self.action_edit_article()

    @on(Input.Submitted, "#catalogue-search")
    def search_submitted(self) -> None:
        self.query_one("#catalogue-table", DataTable).focus()

    def selected_row(self) -> int | None:
        table = self.query_one("#catalogue-table", DataTable)
        rows = len(self.kiosk.till.catalogue.categories()) if self.showing_categories else len(self.sheets)
        if not rows:
            self.say("La liste est vide.", error=True)
            return None
        return min(table.cursor_row, rows - 1)

    def action_new_article(self) -> None:
        if self.showing_categories:
            self.app.push_screen(CategoryForm(self.manager), self._category_saved)
            return
        self.app.push_screen(ArticleForm(self.manager), self._article_saved)

    def action_edit_article(self) -> None:
        index = self.selected_row()
        if index is None:
            return
        if self.showing_categories:
            key = self.kiosk.till.catalogue.categories()[index].key
            self.app.push_screen(CategoryForm(self.manager, key), self._category_saved)
            return
        self.app.push_screen(ArticleForm(self.manager, self.sheets[index]), self._article_saved)

    def _article_saved(self, article_id: int | None) -> None:
        if article_id is not None:
            self.refresh_table()
            sheet = self.editor.sheet(article_id)
            self.say(f"Article enregistré : {sheet.article.name if sheet else article_id}.")

    def _category_saved(self, key: str | None) -> None:
        if key is not None:
            self.refresh_table()
            self.say("Catégorie supprimée." if key == "" else "Catégorie enregistrée.")

    def action_remove_article(self) -> None:
        index = self.selected_row()
        if index is None or self.showing_categories:
            return
        sheet = self.sheets[index]
        try:
            if sheet.archived:
                self.editor.restore_article(self.manager, sheet.article.id)
                done = f"{sheet.article.name} remis en vente."
            else:
                outcome = self.editor.remove_article(self.manager, sheet.article.id)
                done = (
                    f"{sheet.article.name} archivé : déjà vendu, il reste sur ses tickets (F8 le remet en vente)."
                    if outcome == "archived"
                    else f"{sheet.article.name} supprimé."
                )
        except PermissionDenied as exc:
            self.say(str(exc), error=True)
            return
        self.refresh_table()
        self.say(done)

    def action_variants(self) -> None:
        index = self.selected_row()
        if index is None or self.showing_categories:
            return
        self.app.push_screen(VariantsScreen(self.manager, self.sheets[index]), lambda _: self.refresh_table())

    def action_categories(self) -> None:
        self.showing_categories = not self.showing_categories
        self.query_one("#show-categories", Button).label = (
            "Articles (F4)" if self.showing_categories else "Catégories (F4)"
        )
        self.refresh_table()
        self.query_one("#catalogue-table", DataTable).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "article-new": self.action_new_article,
            "article-edit": self.action_edit_article,
            "article-remove": self.action_remove_article,
            "show-categories": self.action_categories,
            "show-variants": self.action_variants,
        }
        actions.get(event.button.id or "", lambda: self.dismiss(None))()


class VariantDialog(ModalScreen[ArticleView | None]):
    """Which variant of a model article is sold: arrows and Entrée, or touch."""

    CSS = CATALOGUE_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="variant.cancel")]

    def __init__(self, name: str, variants: list[ArticleView]):
        super().__init__()
        self.model_name = name
        self.variants = variants

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="variant-choice"):
            yield Label(Content(f"{self.model_name} : quelle déclinaison ?"), classes="section-title")
            yield OptionList(
                *(
                    Option(Text(f"{v.name}  {format_eur(v.price_cents)}"), id=str(index))
                    for index, v in enumerate(self.variants)
                ),
                id="variant-options",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Annuler", id="variant-cancel")

    def on_mount(self) -> None:
        self.query_one("#variant-options", OptionList).focus()

    @on(OptionList.OptionSelected, "#variant-options")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.variants[event.option_index])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


class VariantsScreen(ModalScreen[None]):
    """The variants of a model article: add sizes × colours at once (each with its own barcode, price
    delta and stock), see them, archive or delete one."""

    CSS = CATALOGUE_CSS
    BINDINGS = [
        Binding("f8", "remove", "Supprimer", id="variants.remove"),
        Binding("escape", "dismiss(None)", "Fermer", id="variants.close"),
    ]

    def __init__(self, manager: StaffMember, parent: ArticleSheet):
        super().__init__()
        self.manager = manager
        self.parent_sheet = parent
        self.variants: list[VariantView] = []

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog catalogue-screen", id="variants"):
            yield Label(Content(f"Déclinaisons : {self.parent_sheet.article.name}"), classes="section-title")
            yield DataTable(id="variants-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="form-row"):
                yield Input(placeholder="Tailles : S, M, L", id="var-sizes")
                yield Input(placeholder="Couleurs : Rouge, Bleu", id="var-colours")
            with Horizontal(classes="form-row"):
                yield Input(placeholder="Écart de prix (ex. 2,00 ou -1,50)", id="var-delta")
                yield Input(placeholder="Codes-barres, un par déclinaison, séparés par ;", id="var-barcodes")
            yield Static("", id="variants-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ajouter", id="variants-add", variant="success")
                yield Button("Supprimer (F8)", id="variants-remove", variant="error")
                yield Button("Fermer", id="variants-close")

    def on_mount(self) -> None:
        table = self.query_one("#variants-table", DataTable)
        for label in ("Réf.", "Déclinaison", "Codes-barres", "Prix TTC", "Stock", ""):
            table.add_column(label)
        self.refresh_table()
        self.query_one("#var-sizes", Input).focus()

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#variants-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")
        if error:
            self.app.bell()

    def refresh_table(self) -> None:
        editor = CatalogueEditor(self.kiosk.till.db)
        self.variants = editor.variants(self.parent_sheet.article.id, include_archived=True)
        table = self.query_one("#variants-table", DataTable)
        table.clear()
        for v in self.variants:
            table.add_row(
                Text(v.reference),
                Text(v.label),
                Text(v.barcodes),
                Text(format_eur(v.price_cents), justify="right"),
                Text(format_stock(v.stock_milli), justify="right"),
                Text("archivée" if v.archived else ""),
            )

    def add(self) -> None:
        def items(widget_id: str) -> list[str]:
            return [x for x in self.query_one(widget_id, Input).value.split(",") if x.strip()]

        editor = CatalogueEditor(self.kiosk.till.db)
        try:
            created = editor.add_variants(
                self.manager,
                self.parent_sheet.article.id,
                items("#var-sizes"),
                items("#var-colours"),
                self.query_one("#var-delta", Input).value,
                self.query_one("#var-barcodes", Input).value,
            )
        except (CatalogueEditError, PermissionDenied) as exc:
            self.say(str(exc), error=True)
            return
        for widget_id in ("#var-sizes", "#var-colours", "#var-delta", "#var-barcodes"):
            self.query_one(widget_id, Input).value = ""
        self.refresh_table()
        self.say(f"{len(created)} déclinaison(s) ajoutée(s).")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "var-barcodes":
            self.add()
        else:
            self.focus_next()

    def action_remove(self) -> None:
        if not self.variants:
            self.say("Aucune déclinaison.", error=True)
            return
        variant = self.variants[
            min(self.query_one("#variants-table", DataTable).cursor_row, len(self.variants) - 1)
        ]
        editor = CatalogueEditor(self.kiosk.till.db)
        try:
            outcome = editor.remove_article(self.manager, variant.article_id)
        except PermissionDenied as exc:
            self.say(str(exc), error=True)
            return
        self.refresh_table()
        self.say(
            f"Déclinaison {variant.label} {'archivée (déjà vendue)' if outcome == 'archived' else 'supprimée'}."
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "variants-add":
            self.add()
        elif event.button.id == "variants-remove":
            self.action_remove()
        else:
            self.dismiss(None)
