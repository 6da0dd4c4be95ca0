"""Cash payment: amount given or preset notes, change in large digits, « Ticket ? », drawer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Digits, Input, Label, Static

from drivers.display import change_lines
from drivers.payment import NoTerminal, PaymentResult
from fiscal.journal import ClockWentBack, FiscalError

from ...money import AmountError, format_eur, parse_amount
from ...receipt import sale_receipt
from ...receipts_out.manual import card_amount
from ...sale.basket import Basket
from ...sale.checkout import CompletedSale, PaymentError, Tender, cash_payment
from ...staff import StaffMember
from ..widgets import TouchKey
from .dialogs import CardOutcomeDialog
from .send_receipt import offer_digital_receipt, print_manual_slip

if TYPE_CHECKING:
    from ..app import KioskApp


log = logging.getLogger(__name__)
CARD_CRASH_MESSAGE = (
    "Le terminal de paiement a rencontré une erreur : regardez son écran. S'il indique « accepté », "
    "validez le paiement carte ; sinon, ne validez pas."
)


@dataclass(frozen=True)
class PaymentOutcome:
    sale: CompletedSale
    receipt_text: str | None  # the printed receipt's preview, None for « pas de ticket »


class PaymentScreen(ModalScreen[PaymentOutcome | None]):
    """Dismisses with the outcome once the sale is committed, None when cancelled before."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="pay.cancel", tooltip="Revenir au panier"),
        Binding("f3", "card", "Carte", id="pay.card", tooltip="Payer par carte bancaire (terminal)"),
        Binding("f5", "preset(0)", "5 €", id="pay.p0", show=False),
        Binding("f6", "preset(1)", "10 €", id="pay.p1", show=False),
        Binding("f7", "preset(2)", "20 €", id="pay.p2", show=False),
        Binding("f8", "preset(3)", "50 €", id="pay.p3", show=False),
        Binding("f9", "print_ticket", "Imprimer", id="pay.print", tooltip="Imprimer le ticket"),
        Binding("f10", "no_ticket", "Pas de ticket", id="pay.none", tooltip="Terminer sans ticket"),
        Binding("f11", "email_ticket", "E-mail", id="pay.email", tooltip="Envoyer le ticket par e-mail"),
        Binding("f12", "sms_ticket", "SMS", id="pay.sms", tooltip="Envoyer le ticket par SMS"),
    ]

    def __init__(self, basket: Basket, member: StaffMember):
        super().__init__()
        self.basket = basket
        self.member = member
        self.sale: CompletedSale | None = None
        self.card_busy = False

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        presets = self.kiosk.till.config.get("cash.presets")
        with Vertical(classes="dialog", id="payment"):
            yield Label("Paiement", classes="section-title")
            with Horizontal(classes="amount-row"):
                yield Label("À payer", classes="amount-label")
                yield Digits(format_eur(self.basket.total), id="due")
            with Vertical(id="pay-entry"):
                yield Input(
                    placeholder="Montant remis (Entrée = montant exact)", id="given", restrict=r"[0-9.,€ ]*"
                )
                with Horizontal(classes="dialog-buttons", id="presets"):
                    for index, cents in enumerate(presets):
                        yield TouchKey(
                            format_eur(cents), id=f"cash-{cents}", classes="preset", name=str(index)
                        )
                    yield TouchKey("Exact", id="cash-exact", classes="preset")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Valider", id="pay-ok", variant="success")
                    yield Button("Carte (F3)", id="pay-card", variant="primary")
                    yield Button("Annuler", id="pay-cancel")
            yield Static("", id="card-status")
            with Horizontal(classes="amount-row"):
                yield Label("Rendu", classes="amount-label")
                yield Digits(format_eur(0), id="change")
            yield Static("", id="pay-error", classes="error")
            with Vertical(id="ticket-choice"):
                yield Label("Ticket ?", classes="section-title")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Imprimer (F9)", id="ticket-print", variant="primary")
                    yield Button("Pas de ticket (F10)", id="ticket-none")
                with Horizontal(classes="dialog-buttons", id="ticket-digital"):
                    yield Button("E-mail (F11)", id="ticket-email")
                    yield Button("SMS (F12)", id="ticket-sms")
                    yield Button("Ticket manuel", id="ticket-manual")

    def on_mount(self) -> None:
        self.query_one("#ticket-choice").display = False
        self.query_one("#given", Input).focus()

    # -- entry -----------------------------------------------------------------------------------
    def _given(self) -> int:
        text = self.query_one("#given", Input).value
        return self.basket.total if not text.strip() else parse_amount(text, allow_zero=False)

    @on(Input.Changed, "#given")
    def show_change(self) -> None:
        try:
            given = self._given()
        except AmountError:
            return
        self.query_one("#change", Digits).update(format_eur(max(0, given - self.basket.total)))

    @on(Input.Submitted, "#given")
    def submitted(self) -> None:
        self.validate_payment()

    def action_preset(self, index: int) -> None:
        if self.sale is not None:
            return
        presets = self.kiosk.till.config.get("cash.presets")
        if index < len(presets):
            self.set_given(presets[index])

    def set_given(self, cents: int) -> None:
        self.query_one("#given", Input).value = format_eur(cents, symbol=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id == "cash-exact":
            self.set_given(self.basket.total)
        elif button_id.startswith("cash-"):
            self.set_given(int(button_id.removeprefix("cash-")))
        elif button_id == "pay-card":
            self.action_card()
        elif button_id == "pay-ok":
            self.validate_payment()
        elif button_id == "pay-cancel":
            self.action_cancel()
        elif button_id == "ticket-print":
            self.action_print_ticket()
        elif button_id == "ticket-none":
            self.action_no_ticket()

    def action_cancel(self) -> None:
        if self.sale is None and not self.card_busy:
            self.dismiss(None)

    # -- commit ----------------------------------------------------------------------------------
    def _error(self, text: str) -> None:
        self.query_one("#pay-error", Static).update(Content(text))
        if text:
            self.app.bell()

    def validate_payment(self) -> None:
        if self.sale is not None or self.card_busy:
            return
        try:
            tenders, change = cash_payment(self.basket.total, self._given())
        except (AmountError, PaymentError) as exc:
            self._error(str(exc))
            return
        self.commit(tenders, change)

    def commit(self, tenders: list[Tender], change: int) -> None:
        """Make the sale a fiscal ticket; then the change, the drawer (cash) and « Ticket ? »."""
        try:
            self.sale = self.kiosk.till.checkout.complete(self.basket, tenders, change, self.member)
        except ClockWentBack:
            self.kiosk.confirm_clock(then=lambda: self.commit(tenders, change))
            return
        except (PaymentError, FiscalError) as exc:
            self._error(str(exc))
            return
        self._error("")
        self.query_one("#change", Digits).update(format_eur(self.sale.change))
        self.query_one("#pay-entry").display = False
        self.query_one("#ticket-choice").display = True
        self.query_one("#ticket-manual").display = card_amount(self.sale) > 0
        self.query_one("#ticket-print", Button).focus()
        if self.sale.paid_cash:
            self.kiosk.open_drawer()
            self.kiosk.show_on_display(*change_lines(format_eur(self.sale.change)))
        if self.kiosk.till.config.get("receipt.auto_print"):
            self.action_print_ticket()

    # -- card --------------------------------------------------------------------------------------
    def action_card(self) -> None:
        if self.sale is not None or self.card_busy:
            return
        if isinstance(self.kiosk.till.terminal, NoTerminal):
            self._error(
                "Aucun terminal de paiement n'est configuré : encaissez en espèces ou par un autre moyen."
            )
            return
        self.card_busy = True
        self._error("")
        self.query_one("#pay-entry").display = False
        self.query_one("#card-status", Static).update(
            f"Paiement carte de {format_eur(self.basket.total)} en cours : le client suit les instructions du terminal."
        )
        self.run_card(self.basket.total)

    @work(thread=True, exclusive=True, group="card")
    def run_card(self, amount: int) -> None:
        """The terminal dialogue blocks up to its answer timeout: never on the UI thread."""
        try:
            result = self.kiosk.till.terminal.debit(amount)
        except Exception:  # a driver bug must not lose the basket; the outcome is then unknown
            log.exception("card terminal")
            result = PaymentResult("unknown", amount, None, CARD_CRASH_MESSAGE)
        self.app.call_from_thread(self.card_done, result)

    def card_done(self, result: PaymentResult) -> None:
        self.card_busy = False
        self.query_one("#card-status", Static).update("")
        if result.outcome == "approved":
            self.commit([Tender("card", result.amount_cents)], 0)
        elif result.outcome == "unknown":
            self.app.push_screen(CardOutcomeDialog(result), self.card_resolved)
        else:
            self.query_one("#pay-entry").display = True
            self.query_one("#given", Input).focus()
            self._error(result.reason_fr)

    def card_resolved(self, paid: bool | None) -> None:
        """The cashier read the terminal: journal the decision, then sell or keep the basket."""
        amount = self.basket.total
        self.kiosk.till.ledger.record_event(
            self.kiosk.till.db.connection(),
            "CARD_OUTCOME_RESOLVED",
            {"amount": amount, "paid": bool(paid), "user": self.member.name},
        )
        if paid:
            self.commit([Tender("card", amount)], 0)
            return
        self.query_one("#pay-entry").display = True
        self.query_one("#given", Input).focus()
        self._error("Paiement carte non encaissé : le panier est intact, choisissez un autre règlement.")

    # -- receipt ---------------------------------------------------------------------------------
    def action_print_ticket(self) -> None:
        if self.sale is None:
            return
        rendered = self.kiosk.till.render(sale_receipt(self.kiosk.till.config, self.sale))
        self.kiosk.print_receipt(f"Ticket {self.sale.number}", rendered.data)
        self.dismiss(PaymentOutcome(self.sale, rendered.text))

    def action_no_ticket(self) -> None:
        if self.sale is not None:
            self.dismiss(PaymentOutcome(self.sale, None))

    # -- receipt by e-mail / SMS, handwritten card slip (kiosk.ui.screens.send_receipt) ---------------
    @on(Button.Pressed, "#ticket-email")
    def action_email_ticket(self) -> None:
        if self.sale is not None:
            offer_digital_receipt(self.kiosk, self.sale, "email", then=self.action_no_ticket)

    @on(Button.Pressed, "#ticket-sms")
    def action_sms_ticket(self) -> None:
        if self.sale is not None:
            offer_digital_receipt(self.kiosk, self.sale, "sms", then=self.action_no_ticket)

    @on(Button.Pressed, "#ticket-manual")
    def manual_ticket(self) -> None:
        if self.sale is not None and card_amount(self.sale) > 0:
            print_manual_slip(self.kiosk, self.sale)
