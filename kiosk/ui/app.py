"""The Textual application: wires screens to the till; the screens hold the flow."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from drivers.drawer import DrawerError
from drivers.errors import DeviceError
from drivers.printer import PrinterError
from drivers.scanner import ScanResult
from fiscal.timeutil import parse_utc
from kiosk.after_sale import AfterSale, Devices
from kiosk.staff.service import StaffMember
from kiosk.till import Till
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.screens.login import LoginScreen
from kiosk.ui.screens.sale import SaleScreen
from kiosk.ui.workers.mail_pump import ReceiptMailPump

if TYPE_CHECKING:
    from kiosk.uplink.publisher import Publisher


class KioskApp(App[None]):
    CSS_PATH = Path(__file__).parent / "kiosk.tcss"
    TITLE = "Caisse"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quitter", id="quit", tooltip="Arrête la caisse", show=False),
    ]

    def __init__(self, till: Till):
        super().__init__()
        self.till = till
        self.member: StaffMember | None = None
        self._display_wanted: tuple[str, str] | None = None
        self._display_shown: tuple[str, str] | None = ("", "")
        self._display_lock = threading.Lock()
        # after each sale: drawer, display, credit notes, loyalty, receipt, through the app's workers
        self.after_sale = AfterSale(till, Devices(self.open_drawer, self.show_on_display, self.print_receipt))
        self.receipt_mail = ReceiptMailPump(self)  # receipts by e-mail: retried until sent
        self.uplink: Publisher | None = None
        self.uplink_note = ""  # e.g. « PORTAIL HORS LIGNE : 12 en attente » (kiosk/ui/screens/uplink.py)
        self.title = till.config.shop.name
        self.sub_title = f"Caisse {till.config.till_id}"

    def on_mount(self) -> None:
        self.scanners = self.till.open_scanners(lambda result: self.call_from_thread(self.scanned, result))
        for warning in self.till.start():
            self.notify(warning, severity="error", timeout=30)
        self.update_sub_title()  # a fiscal anomaly waiting for a manager shows in the title bar
        self.check_devices()
        self.receipt_mail.start()
        from kiosk.ui.screens.uplink import start_uplink

        self.uplink = start_uplink(self)  # sends the outbox to the portal on its own thread
        self.set_interval(0.5, self.watch_drawer)
        self.push_screen(LoginScreen())
        if self.till.clock_behind is not None:
            self.confirm_clock()

    def confirm_clock(self, then: Callable[[], None] | None = None) -> None:
        """The clock reads earlier than the journals: a manager confirms it (journaled) or nothing is
        signed. Asked at start, and whenever a signature is refused for that reason."""
        last = self.till.ledger.clock_behind(self.till.db.connection()) or "1970-01-01T00:00:00.000000Z"
        now = self.till.clock()
        note = (
            f"La caisse indique le {now:%d/%m/%Y à %H:%M}, plus tôt que le dernier enregistrement fiscal "
            f"({parse_utc(last).astimezone(now.tzinfo):%d/%m/%Y à %H:%M}). Si l'heure est juste (retour à l'heure d'hiver, "
            "réparation), confirmez-la ; sinon faites régler l'horloge et redémarrez la caisse."
        )

        def confirmed(manager: StaffMember | None) -> None:
            if manager is None:
                self.notify("Heure non confirmée : aucune vente ne peut être enregistrée.", severity="error")
                return
            self.till.confirm_clock(manager.name)
            self.notify(f"Heure confirmée par {manager.name} et journalisée.", timeout=5)
            if then is not None:
                then()

        self.push_screen(
            ManagerPinDialog(self.till.staff, "Confirmer la date et l'heure", note=note, journal=False),
            confirmed,
        )

    def watch_drawer(self) -> None:
        """« Tiroir ouvert » in the title bar while the drawer's sensor says so (a GPIO read: instant)."""
        is_open = bool(self.till.drawer_open())
        if is_open != self.has_class("-drawer-open"):
            self.set_class(is_open, "-drawer-open")
            self.update_sub_title()
            if is_open:
                self.notify("Tiroir-caisse ouvert", timeout=3)

    def update_sub_title(self) -> None:
        parts = [f"Caisse {self.till.config.till_id}"]
        if self.member is not None:
            parts.append(f"{self.member.name} ({self.member.role_label})")
        if self.has_class("-drawer-open"):
            parts.append("TIROIR OUVERT")
        if self.till.checkout.training:
            parts.append("MODE FORMATION — tickets fictifs")
        if self.uplink_note:
            parts.append(self.uplink_note)
        if self.till.ledger_alert:
            parts.append("ANOMALIE FISCALE : tickets manquants, prévenez un responsable")
        self.sub_title = " — ".join(parts)
        shop = self.till.config.shop.name
        self.title = f"⚠ ANOMALIE FISCALE — {shop}" if self.till.ledger_alert else shop

    def on_unmount(self) -> None:
        self.scanners.close()
        if self.uplink is not None:
            self.uplink.stop()

    def scanned(self, result: ScanResult) -> None:
        """A scan from an evdev scanner (never typed into a widget: the devices are grabbed)."""
        if result.error is not None:
            self.notify(result.error.message, severity="error", timeout=12)
            return
        screen = self.screen
        enter_code = getattr(
            screen, "enter_code", None
        )  # the sale, payment, refund, code and inventory screens
        if callable(enter_code) and result.code is not None:
            enter_code(result.code)
        else:
            self.notify("Code scanné ignoré : terminez d'abord l'écran en cours.", severity="warning")

    def logged_in(self, member: StaffMember) -> None:
        self.member = member
        self.update_sub_title()
        self.switch_screen(SaleScreen(member))
        self.collect_garbage()

    def collect_garbage(self) -> None:
        """Full garbage collection at a quiet moment (login, a sale just paid), never while scanning.

        The UI's long-lived objects are frozen out of later collections, and full passes (40-50 ms with
        Textual's object graph) are made rare, so that they do not land between a scan and its frame.
        """
        gc.collect()
        gc.freeze()
        gc.set_threshold(700, 10, 1000)

    def log_out(self) -> None:
        if self.member is not None:
            self.till.staff.logout(self.member)
        self.member = None
        self.update_sub_title()
        self.switch_screen(LoginScreen())

    @work(thread=True, group="devices")
    def check_devices(self) -> None:
        """Open the printer and drawer off the UI thread (a network printer may take seconds to fail)."""
        for note in self.till.device_notes():
            self.call_from_thread(self.notify, note, timeout=8)
        self.call_from_thread(self.drain_print_queue)  # receipts left pending by the last session

    # -- devices: blocking I/O in threads owned by the app, so closing a screen never cuts them short --
    @work(thread=True, exclusive=True, group="drawer")
    def open_drawer(self) -> None:
        try:
            self.till.drawer.open()
        except DrawerError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        if self.till.drawer_open() is None:  # with a sensor, watch_drawer says it
            self.call_from_thread(self.notify, "Tiroir-caisse ouvert", timeout=3)

    def show_on_display(self, line1: str, line2: str) -> None:
        """What the customer sees, written by a worker: the UI never waits on the serial line."""
        self._display_wanted = (line1, line2)
        self._write_display()

    @work(thread=True, group="display")
    def _write_display(self) -> None:
        # Workers may overlap: under the lock each writes the newest lines, so the last request wins.
        with self._display_lock:
            lines = self._display_wanted
            if lines is None or lines == self._display_shown:
                return
            try:
                self.till.display.show(*lines)
            except DeviceError as exc:
                if self._display_shown is not None:  # said once, until the display works again
                    self.call_from_thread(self.notify, exc.message, severity="warning", timeout=10)
                self._display_shown = None
                return
            self._display_shown = lines
        self.call_from_thread(self._mirror_display, *lines)

    def _mirror_display(self, line1: str, line2: str) -> None:
        """The cashier sees what the customer sees (for a simulated display: the only place it shows)."""
        for screen in self.screen_stack:
            for panel in screen.query("#customer-display"):
                cast(Static, panel).update(Content(f"{line1}\n{line2}"))

    def print_receipt(self, label: str, data: bytes) -> None:
        """Queue the receipt (it survives a restart) and let the printer worker take it."""
        self.till.print_queue.enqueue(label, data)
        self.drain_print_queue()

    @work(thread=True, exclusive=True, group="printer")
    def drain_print_queue(self) -> None:
        try:
            self.till.print_queue.drain()
        except PrinterError as exc:  # a printer that cannot even be opened
            self.call_from_thread(self.notify, exc.message, severity="error", timeout=15)
            return
        reason = self.till.print_queue.paused_reason
        if reason:
            self.call_from_thread(self.notify, f"{reason} (F7 : relancer)", severity="error", timeout=20)


def run_app(till: Till) -> int:
    app = KioskApp(till)
    try:
        app.run()
    finally:
        till.stop()
    return app.return_code or 0  # 75: a fleet "restart" (the supervisor starts the till again)
