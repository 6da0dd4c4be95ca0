"""Reports for a manager: X (any time, resets nothing), closing the day (Z), printing either."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from drivers.printer import Document, Text
from fiscal.archive import ArchiveError
from fiscal.journal import FiscalError
from fiscal.reports import PeriodReport
from kiosk.staff.service import StaffMember

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class ReportsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("f2", "x_report", "Rapport X", id="reports.x", tooltip="Totaux du jour, sans remise à zéro"),
        Binding("f5", "close_day", "Clôture (Z)", id="reports.z", tooltip="Clôturer la journée"),
        Binding("f9", "print", "Imprimer", id="reports.print", tooltip="Imprimer le rapport affiché"),
        Binding("escape", "dismiss(None)", "Fermer", id="reports.close", tooltip="Revenir à la vente"),
    ]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager
        self.report: PeriodReport | None = None
        self.text = ""

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reports"):
            yield Label(Content(f"Rapports — {self.manager.name}"), classes="section-title")
            with VerticalScroll(id="report-scroll"):
                yield Static("", id="report-text")
            yield Static("", id="report-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Rapport X (F2)", id="report-x", variant="primary")
                yield Button("Clôturer la journée (F5)", id="report-z", variant="warning")
                yield Button("Imprimer (F9)", id="report-print")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Archive du jour", id="archive-day")
                yield Button("Archive du mois", id="archive-month")
                yield Button("Fermer", id="report-close")

    def on_mount(self) -> None:
        self.action_x_report()

    def show(self, report: PeriodReport) -> None:
        self.report = report
        self.text = report.as_text() + self.kiosk.till.cash_section(report)
        self.query_one("#report-text", Static).update(Content(self.text))
        self.query_one("#report-error", Static).update("")

    def action_x_report(self) -> None:
        self.show(self.kiosk.till.x_report())

    def action_close_day(self) -> None:
        try:
            report = self.kiosk.till.close_today(self.manager.name)
        except FiscalError as exc:
            self.query_one("#report-error", Static).update(Content(str(exc)))
            return
        self.show(report)
        self.action_print()

    def action_print(self) -> None:
        if self.report is None:
            return
        doc: Document = [Text(line) for line in self.text.splitlines()]
        rendered = self.kiosk.till.render(doc)
        self.kiosk.print_receipt(self.report.title(), rendered.data)
        self.app.notify("Rapport envoyé à l'imprimante.", timeout=3)

    def archive(self, period: str) -> None:
        """« Archives fiscales » as the seeds describe: a signed ZIP of the day or the month, built and
        written (often to a USB key) by a worker thread: the screen stays responsive."""
        self.query_one("#report-error", Static).update("Archive en cours…")
        self.build_archive(period)

    @work(thread=True, exclusive=True, group="archive")
    def build_archive(self, period: str) -> None:
        till = self.kiosk.till
        out = till.archive_dir
        try:
            out.mkdir(parents=True, exist_ok=True)
            info = till.archive(period, out)
        except OSError as exc:
            self.app.call_from_thread(
                self.archive_done,
                f"Écriture impossible dans {out} ({exc.strerror}) : libérez de la place ou vérifiez la clé USB.",
            )
            return
        except (ArchiveError, FiscalError, ValueError) as exc:
            self.app.call_from_thread(self.archive_done, f"Archive impossible : {exc}")
            return
        finally:
            till.db.close()  # this thread's own connection
        self.app.call_from_thread(self.archive_done, "")
        self.app.call_from_thread(
            self.app.notify, f"Archive enregistrée : {info.path} (empreinte {info.sha256[:12]}…)", timeout=10
        )

    def archive_done(self, error: str) -> None:
        self.query_one("#report-error", Static).update(Content(error))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        today = self.kiosk.till.clock().date()
        if event.button.id == "archive-day":
            self.archive(today.isoformat())
            return
        if event.button.id == "archive-month":
            self.archive(today.strftime("%Y-%m"))
            return
        actions = {
            "report-x": self.action_x_report,
            "report-z": self.action_close_day,
            "report-print": self.action_print,
        }
        actions.get(event.button.id or "", lambda: self.dismiss(None))()
