"""Refund, cancel or exchange from the sale screen's menu: find the ticket (number typed or scanned from
the receipt, or date and amount), choose the lines and quantities, then the refund tender; a manager's
PIN authorises it and a RETURN ticket is signed (kiosk.sale.refunds)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from drivers.payment import NoTerminal, PaymentResult
from fiscal.journal import FiscalError
from kiosk.common.money import AmountError, format_eur, format_qty, parse_amount
from kiosk.receipts.render import credit_note_receipt, sale_receipt
from kiosk.sale.checkout import CompletedSale
from kiosk.sale.refunds import RefundError, RefundPlan
from kiosk.sale.tenders import CARD, CASH, TENDER_LABELS, VOUCHER
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import CardOutcomeDialog, ManagerPinDialog
from kiosk.ui.widgets.keys import TouchKey

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen

log = logging.getLogger(__name__)


class RefundBox(VerticalScroll, can_focus=False):
    pass


class RefundScreen(ModalScreen[CompletedSale | None]):
    """Dismisses with the RETURN ticket once signed (None when abandoned)."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="refund.cancel", tooltip="Revenir à la vente"),
        Binding("plus", "step(1)", "+1", id="refund.plus", tooltip="Rendre un de plus"),
        Binding("minus", "step(-1)", "-1", id="refund.minus", tooltip="Rendre un de moins"),
        Binding("f4", "all", "Tout", id="refund.all", tooltip="Tout ce qui reste à rembourser"),
        Binding("f5", "tender('cash')", "Espèces", id="refund.cash"),
        Binding("f6", "tender('card')", "Carte", id="refund.card"),
        Binding("f7", "tender('voucher')", "Avoir", id="refund.voucher"),
        Binding("f8", "tender('exchange')", "Échange", id="refund.exchange"),
    ]

    def __init__(self, member: StaffMember, exchange: bool = False):
        super().__init__()
        self.member = member
        self.exchange_first = exchange
        self.sale: CompletedSale | None = None
        self.selection: dict[int, Decimal] = {}
        self.busy = False

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with RefundBox(classes="dialog", id="refund"):
            yield Label("Remboursement / échange", classes="section-title")
            with Horizontal(classes="dialog-buttons"):
                yield Input(placeholder="N° du ticket (T01-000042) ou scan du ticket", id="refund-number")
                yield Button("Chercher", id="refund-search", variant="primary")
            with Horizontal(classes="dialog-buttons"):
                yield Input(placeholder="Date jj/mm/aaaa", id="refund-date", restrict=r"[0-9/]*")
                yield Input(placeholder="Montant du ticket", id="refund-amount", restrict=r"[0-9.,€ ]*")
                yield Button("Par date", id="refund-bydate")
            yield OptionList(id="refund-found")
            yield Static("", id="refund-ticket")
            yield DataTable(id="refund-lines", cursor_type="row")
            with Horizontal(classes="dialog-buttons", id="refund-qty"):
                yield TouchKey("−", id="refund-minus", classes="line-button")
                yield TouchKey("+", id="refund-plus", classes="line-button")
                yield TouchKey("Tout (F4)", id="refund-all", classes="line-button")
            yield Static("", id="refund-total")
            with Horizontal(classes="dialog-buttons", id="refund-tenders"):
                yield TouchKey("Espèces F5", id="refund-cash", variant="success")
                yield TouchKey("Carte F6", id="refund-card", variant="primary")
                yield TouchKey("Avoir F7", id="refund-voucher")
                yield TouchKey("Échange F8", id="refund-exchange")
                yield TouchKey("Annuler", id="refund-cancel", variant="error")
            yield Static("", id="refund-status")
            yield Static("", id="refund-error", classes="error")

    def on_mount(self) -> None:
        table = self.query_one("#refund-lines", DataTable)
        for key, label in (
            ("label", "Article"),
            ("sold", "Vendu"),
            ("left", "Reste"),
            ("take", "Rendu"),
            ("amount", "Montant"),
        ):
            table.add_column(label, key=key)
        self.query_one("#refund-found", OptionList).display = False
        self.query_one("#refund-number", Input).focus()

    # -- feedback --------------------------------------------------------------------------------
    def _error(self, text: str) -> None:
        self.query_one("#refund-error", Static).update(Content(text))
        if text:
            self.app.bell()

    # -- finding the ticket ----------------------------------------------------------------------
    def enter_code(self, code: str) -> None:
        """A scanned receipt barcode (the ticket number)."""
        if not self.busy:
            self.query_one("#refund-number", Input).value = code
            self.find_number()

    @on(Input.Submitted, "#refund-number")
    def find_number(self) -> None:
        try:
            sale = self.kiosk.till.refunds.find(self.query_one("#refund-number", Input).value)
        except RefundError as exc:
            self._error(str(exc))
            return
        self.load(sale)

    @on(Input.Submitted, "#refund-date")
    def date_entered(self) -> None:
        self.query_one("#refund-amount", Input).focus()

    @on(Input.Submitted, "#refund-amount")
    def find_by_date(self) -> None:
        try:
            day = datetime.strptime(self.query_one("#refund-date", Input).value.strip(), "%d/%m/%Y").date()
        except ValueError:
            self._error("Date illisible : saisissez-la comme 25/11/2026.")
            return
        try:
            amount = parse_amount(self.query_one("#refund-amount", Input).value, allow_zero=False)
        except AmountError as exc:
            self._error(str(exc))
            return
        found = self.kiosk.till.refunds.search(day, amount)
        if not found:
            self._error(
                f"Aucune vente de {format_eur(amount)} le {day:%d/%m/%Y} : vérifiez la date et le montant."
            )
            return
        if len(found) == 1:
            self.load(found[0])
            return
        options = self.query_one("#refund-found", OptionList)
        options.clear_options()
        options.add_options(
            Option(Text(f"Ticket {s.number} à {s.when:%H:%M} - {s.body['cashier']['name']}"), id=s.number)
            for s in found
        )
        options.display = True
        options.highlighted = 0
        options.focus()
        self._error("")

    @on(OptionList.OptionSelected, "#refund-found")
    def found_chosen(self, event: OptionList.OptionSelected) -> None:
        event.option_list.display = False
        self.load(self.kiosk.till.refunds.find(event.option.id or ""))

    def load(self, sale: CompletedSale) -> None:
        self.sale = sale
        self.selection = {}
        self._error("")
        paid = ", ".join(
            f"{TENDER_LABELS.get(t['type'], t['type'])} {format_eur(t['amount'])}"
            for t in sale.body["tenders"]
        )
        self.query_one("#refund-ticket", Static).update(
            Content(f"Ticket {sale.number} du {sale.when:%d/%m/%Y %H:%M} : {format_eur(sale.total)} ({paid})")
        )
        self.refresh_lines()
        table = self.query_one("#refund-lines", DataTable)
        table.focus()
        table.move_cursor(row=0)

    def refresh_lines(self) -> None:
        if self.sale is None:
            return
        table = self.query_one("#refund-lines", DataTable)
        cursor = table.cursor_row
        table.clear()
        total = 0
        for line in self.kiosk.till.refunds.refundable(self.sale):
            take = self.selection.get(line.index, Decimal(0))
            table.add_row(
                Text(line.label),
                Text(format_qty(line.qty)),
                Text(format_qty(line.left_qty)),
                Text(format_qty(take)),
                Text(format_eur(line.amount)),
                key=str(line.index),
            )
        try:
            total = self._plan(CASH).total if any(self.selection.values()) else 0
        except RefundError as exc:
            self._error(str(exc))
        table.move_cursor(row=max(0, cursor))
        self.query_one("#refund-total", Static).update(f"À rembourser : {format_eur(total)}")

    # -- choosing lines --------------------------------------------------------------------------
    def _current(self) -> int | None:
        if self.sale is None:
            self._error("Cherchez d'abord le ticket à rembourser (numéro ou date et montant).")
            return None
        return self.query_one("#refund-lines", DataTable).cursor_row

    def action_step(self, step: int) -> None:
        if isinstance(self.focused, Input):
            return
        index = self._current()
        if index is None:
            return
        line = self.kiosk.till.refunds.refundable(self.sale)[index]  # type: ignore[arg-type]
        take = self.selection.get(index, Decimal(0)) + step
        if line.weight:
            take = line.left_qty if step > 0 else Decimal(0)
        if take < 0 or take > line.left_qty:
            self._error(f"{line.label} : il reste {format_qty(line.left_qty)} à rembourser.")
            return
        self._error("")
        self.selection[index] = take
        self.refresh_lines()

    def action_all(self) -> None:
        if self._current() is None:
            return
        self.selection = {
            line.index: line.left_qty
            for line in self.kiosk.till.refunds.refundable(self.sale)  # type: ignore[arg-type]
            if line.left_qty > 0 and line.left_amount > 0
        }
        self._error("")
        self.refresh_lines()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id == "refund-search":
            self.find_number()
        elif button_id == "refund-bydate":
            self.find_by_date()
        elif button_id == "refund-plus":
            self.action_step(1)
        elif button_id == "refund-minus":
            self.action_step(-1)
        elif button_id == "refund-all":
            self.action_all()
        elif button_id == "refund-cancel":
            self.action_cancel()
        elif button_id.startswith("refund-"):
            self.action_tender(button_id.removeprefix("refund-"))

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)

    # -- refunding -------------------------------------------------------------------------------
    def _plan(self, tender: str) -> RefundPlan:
        assert self.sale is not None
        return self.kiosk.till.refunds.plan(self.sale, self.selection, tender)

    def action_tender(self, choice: str) -> None:
        """Check the refund, then a manager's PIN, then the terminal (card), then the RETURN ticket."""
        if self.busy or self._current() is None:
            return
        tender = VOUCHER if choice == "exchange" else choice
        if tender == CARD and isinstance(self.kiosk.till.terminal, NoTerminal):
            self._error("Aucun terminal de paiement n'est configuré : remboursez en espèces ou en avoir.")
            return
        try:
            plan = self._plan(tender)
        except RefundError as exc:
            self._error(str(exc))
            return
        exchange = choice == "exchange"
        what = "Échange" if exchange else "Remboursement"

        def authorised(manager: StaffMember | None) -> None:
            if manager is None:
                return
            if tender == CARD:
                self.busy = True
                mode = self.kiosk.till.refunds.card_mode(plan.sale)
                self.query_one("#refund-status", Static).update(
                    f"{'Annulation' if mode == 'cancel' else 'Remboursement'} carte de {format_eur(plan.total)} : "
                    "le client présente sa carte au terminal."
                )
                self.run_card(mode, plan.total, manager)
            else:
                self.record(tender, manager, exchange)

        self.app.push_screen(
            ManagerPinDialog(
                self.kiosk.till.staff,
                what,
                note=f"{what} de {format_eur(plan.total)} sur le ticket {plan.sale.number}",
            ),
            authorised,
        )

    @work(thread=True, exclusive=True, group="card")
    def run_card(self, mode: str, amount: int, manager: StaffMember) -> None:
        terminal = self.kiosk.till.terminal
        try:
            result = terminal.cancel(amount) if mode == "cancel" else terminal.refund(amount)
        except Exception:
            log.exception("card terminal refund")
            result = PaymentResult(
                "unknown", amount, None, "Le terminal a rencontré une erreur : regardez son écran."
            )
        self.app.call_from_thread(self.card_done, result, manager)

    def card_done(self, result: PaymentResult, manager: StaffMember) -> None:
        self.busy = False
        self.query_one("#refund-status", Static).update("")
        if result.outcome == "unknown":  # only the terminal knows: the cashier reads it and decides

            def decided(paid: bool | None) -> None:
                self.kiosk.after_sale.card_outcome_resolved(
                    -result.amount_cents, bool(paid), self.member.name
                )
                if paid:
                    self.record(CARD, manager, False)
                else:
                    self._error(
                        "Remboursement carte non fait : rien n'est enregistré, choisissez un autre moyen."
                    )

            self.app.push_screen(CardOutcomeDialog(result), decided)
            return
        if result.outcome != "approved":
            self._error(
                f"{result.reason_fr} Rien n'est remboursé : réessayez ou remboursez en espèces ou en avoir."
            )
            return
        self.record(CARD, manager, False)

    def record(self, tender: str, manager: StaffMember, exchange: bool) -> None:
        assert self.sale is not None
        try:
            done = self.kiosk.till.refunds.refund(
                self.sale, self.selection, tender, self.member, manager, exchange=exchange
            )
        except (RefundError, PermissionDenied, FiscalError) as exc:
            self._error(str(exc))
            return
        till = self.kiosk.till
        if tender == CASH:
            self.kiosk.open_drawer()
        rendered = till.render(sale_receipt(till.config, done))
        self.kiosk.print_receipt(f"Remboursement {done.number}", rendered.data)
        for number, amount, expires in done.issued_credit_notes():
            doc = credit_note_receipt(till.config, done, number, amount, expires)
            self.kiosk.print_receipt(f"Avoir {number}", till.render(doc).data)
        self.dismiss(done)


def refund_ticket(screen: SaleScreen, exchange: bool = False) -> None:
    if exchange and not screen.basket.is_empty:
        screen.say("Terminez ou videz le panier avant un échange.", error=True)
        return

    def done(back: CompletedSale | None) -> None:
        if back is None:
            screen.action_focus_code()
            return
        notes = back.issued_credit_notes()
        if back.body.get("exchange") and notes:
            number, amount, _ = notes[0]
            screen.basket.credit_note = number
            screen.say(
                f"Échange : retour {back.number} enregistré. Choisissez les nouveaux articles ; l'avoir {number} "
                f"({format_eur(amount)}) sera déduit à l'encaissement."
            )
        elif notes:
            screen.say(
                f"Remboursement {back.number} : avoir {notes[0][0]} de {format_eur(notes[0][1])} imprimé."
            )
        else:
            screen.say(f"Remboursement {back.number} enregistré : {format_eur(-back.total)}.")
        screen.action_focus_code()

    screen.app.push_screen(RefundScreen(screen.member, exchange), done)


def exchange_ticket(screen: SaleScreen) -> None:
    refund_ticket(screen, exchange=True)
