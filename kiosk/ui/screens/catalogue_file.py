"""Excel import and export of the catalogue from the till: pick a file on the data directory or the USB
key, see the dry run (created, changed, archived, every rejected row), then confirm — or not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from kiosk.catalogue.excel import (
    ImportFileError,
    ImportPlan,
    apply_import,
    export_catalogue,
    export_name,
    plan_import,
    write_template,
)
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

MAX_FILES = 200


def exchange_dirs(data_dir: Path, usb_dir: str) -> list[tuple[str, Path]]:
    """Where files are looked for and written: the USB key when mounted, and the data directory."""
    places = []
    if usb_dir and Path(usb_dir).is_dir():
        places.append(("Clé USB", Path(usb_dir)))
    places.append(("Données", data_dir))
    return places


def workbooks(places: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """.xlsx files two levels deep in each place, newest first (Excel's ~$ lock files left out)."""
    found: list[tuple[str, Path]] = []
    for label, root in places:
        for pattern in ("*.xlsx", "*/*.xlsx"):
            for path in root.glob(pattern):
                if not path.name.startswith(("~$", ".")) and path.is_file():
                    found.append((label, path))
    found.sort(key=lambda item: item[1].stat().st_mtime, reverse=True)
    return found[:MAX_FILES]


class CatalogueFileScreen(ModalScreen[None]):
    """Import (dry run first, then confirm), export and template, for a manager."""

    CSS = """
    #catalogue-file { width: 96%; max-width: 110; height: 100%; }
    #file-list { height: 5; }
    #import-summary-scroll { height: 1fr; min-height: 3; }
    #import-options { height: auto; }
    #import-options RadioSet { width: 32; layout: horizontal; }
    #import-options Checkbox { width: 1fr; }
    """
    BINDINGS = [
        Binding(
            "f2", "preview", "Aperçu", id="import.preview", tooltip="Ce que l'import ferait, sans rien écrire"
        ),
        Binding("f12", "confirm", "Importer", id="import.confirm", tooltip="Importer après l'aperçu"),
        Binding("escape", "dismiss(None)", "Fermer", id="import.close", tooltip="Revenir à la vente"),
    ]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager
        self.plan: ImportPlan | None = None
        self.files: list[tuple[str, Path]] = []

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    @property
    def places(self) -> list[tuple[str, Path]]:
        config = self.kiosk.till.config
        return exchange_dirs(self.kiosk.till.data_dir, config.catalogue.usb_dir)

    def compose(self) -> ComposeResult:
        create = self.kiosk.till.config.catalogue.new_categories == "create"
        with Vertical(classes="dialog", id="catalogue-file"):
            yield Label("Catalogue : import et export Excel", classes="section-title")
            yield OptionList(id="file-list")
            with Horizontal(id="import-options"):
                with RadioSet(id="import-mode"):
                    yield RadioButton("Ajouter", value=True, id="mode-add", tooltip="Ajoute et met à jour")
                    yield RadioButton(
                        "Remplacer", id="mode-replace", tooltip="Archive les articles absents du fichier"
                    )
                yield Checkbox(
                    "Créer les catégories",
                    value=create,
                    id="new-categories",
                    tooltip="Catégories inconnues du fichier : créées (coché) ou lignes refusées",
                )
            with VerticalScroll(id="import-summary-scroll"):
                yield Static("Choisissez un fichier puis Aperçu (F2).", id="import-summary")
            yield Static("", id="import-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Aperçu (F2)", id="import-preview", variant="primary")
                yield Button("Importer (F12)", id="import-confirm", variant="success", disabled=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Exporter", id="export")
                yield Button("Modèle vierge", id="template")
                yield Button("Fermer", id="import-close")

    def on_mount(self) -> None:
        self.refresh_files()
        self.query_one("#file-list", OptionList).focus()

    def refresh_files(self) -> None:
        self.files = workbooks(self.places)
        files = self.query_one("#file-list", OptionList)
        files.clear_options()
        files.add_options(
            Option(Content(f"{label} : {path.relative_to(root)}"), id=str(index))
            for index, (label, path) in enumerate(self.files)
            for root in [dict(self.places)[label]]
        )
        if self.files:
            files.highlighted = 0
        else:
            where = " ou ".join(str(p) for _, p in self.places)
            self.show(
                f"Aucun fichier Excel (.xlsx) dans {where} : branchez la clé USB ou copiez-y le fichier."
            )

    def show(self, text: str) -> None:
        self.query_one("#import-summary", Static).update(Content(text))

    def error(self, text: str) -> None:
        self.query_one("#import-error", Static).update(Content(text))
        if text:
            self.app.bell()

    # -- choosing --------------------------------------------------------------------------------
    def chosen_file(self) -> Path | None:
        files = self.query_one("#file-list", OptionList)
        if files.highlighted is None or not self.files:
            self.error("Choisissez d'abord un fichier dans la liste.")
            return None
        return self.files[files.highlighted][1]

    @property
    def mode(self) -> str:
        return "replace" if self.query_one("#mode-replace", RadioButton).value else "add"

    @on(OptionList.OptionHighlighted, "#file-list")
    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def choice_changed(self) -> None:
        """A new choice makes the last preview stale: it must be seen again before importing."""
        self.plan = None
        self.query_one("#import-confirm", Button).disabled = True

    @on(OptionList.OptionSelected, "#file-list")
    def file_selected(self) -> None:
        self.action_preview()

    # -- import ----------------------------------------------------------------------------------
    def action_preview(self) -> None:
        path = self.chosen_file()
        if path is None:
            return
        self.error("")
        self.show(f"Lecture de {path.name}…")
        new_categories = "create" if self.query_one("#new-categories", Checkbox).value else "reject"
        self.preview(path, self.mode, new_categories)

    @work(thread=True, exclusive=True, group="catalogue-import")
    def preview(self, path: Path, mode: str, new_categories: str) -> None:
        """A large file takes seconds to read: never on the UI thread."""
        db = self.kiosk.till.db
        try:
            plan = plan_import(db, path, mode, new_categories)
        except ImportFileError as exc:
            self.app.call_from_thread(self.preview_failed, str(exc))
            return
        finally:
            db.close()  # this thread's own connection
        self.app.call_from_thread(self.previewed, plan)

    def preview_failed(self, message: str) -> None:
        self.show("")
        self.error(message)

    def previewed(self, plan: ImportPlan) -> None:
        self.plan = plan
        text = "\n".join(plan.summary(max_rejected=200))
        if plan.writes:
            text += "\n\nRien n'est encore écrit : Importer (F12) pour confirmer."
        else:
            text += "\n\nRien à importer."
        self.show(text)
        confirm = self.query_one("#import-confirm", Button)
        confirm.disabled = not plan.writes

    def action_confirm(self) -> None:
        if self.plan is None or not self.plan.writes:
            self.error("Faites d'abord l'aperçu (F2) : l'import n'écrit rien sans lui.")
            return
        plan, self.plan = self.plan, None
        self.query_one("#import-confirm", Button).disabled = True
        self.show(f"Import de {plan.path.name}…")
        self.write(plan)

    @work(thread=True, exclusive=True, group="catalogue-import")
    def write(self, plan: ImportPlan) -> None:
        db = self.kiosk.till.db
        try:
            result = apply_import(db, plan, self.manager, self.kiosk.till.config.till_id)
        except (ImportFileError, PermissionDenied) as exc:
            self.app.call_from_thread(self.preview_failed, str(exc))
            return
        finally:
            db.close()
        self.app.call_from_thread(
            self.show,
            f"Import terminé : {result.created} créés, {result.changed} modifiés, {result.archived} archivés, "
            f"{result.categories} catégories créées.",
        )

    # -- export ----------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="catalogue-import")
    def export(self, template: bool) -> None:
        """Written by a worker thread: a USB key can take seconds, the screen must not freeze."""
        label, root = self.places[0]
        name = "modele-catalogue.xlsx" if template else export_name(self.kiosk.till.clock())
        path = root / name
        db = self.kiosk.till.db
        try:
            if template:
                write_template(path)
                done = f"Modèle écrit : {label} : {name}"
            else:
                count = export_catalogue(db, path)
                done = f"{count} articles exportés : {label} : {name}"
        except OSError as exc:
            message = f"Écriture impossible dans {root} ({exc.strerror}) : vérifiez la clé USB."
            self.app.call_from_thread(self.error, message)
            return
        finally:
            if not template:
                db.close()  # this thread's own connection
        self.app.call_from_thread(self.exported, done)

    def exported(self, done: str) -> None:
        self.error("")
        self.show(done)
        self.refresh_files()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id
        if button_id == "import-preview":
            self.action_preview()
        elif button_id == "import-confirm":
            self.action_confirm()
        elif button_id in ("export", "template"):
            self.export(template=button_id == "template")
        else:
            self.dismiss(None)
