"""Cash payment: amount given or preset notes, change in large digits, « Ticket ? », drawer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Digits, Input, Label, Static

from fiscal.journal import FiscalError

from ...money import AmountError, format_eur, parse_amount
from ...receipt import sale_receipt
from ...sale.basket import Basket
from ...sale.checkout import CompletedSale, PaymentError, cash_payment
from ...staff import StaffMember
from ..widgets import TouchKey

if TYPE_CHECKING:
    from ..app import KioskApp


@dataclass(frozen=True)
class PaymentOutcome:
    sale: CompletedSale
    receipt_text: str | None  # the printed receipt's preview, None for « pas de ticket »


class PaymentScreen(ModalScreen[PaymentOutcome | None]):
    """Dismisses with the outcome once the sale is committed, None when cancelled before."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="pay.cancel", tooltip="Revenir au panier"),
        Binding("f5", "preset(0)", "5 €", id="pay.p0", show=False),
        Binding("f6", "preset(1)", "10 €", id="pay.p1", show=False),
        Binding("f7", "preset(2)", "20 €", id="pay.p2", show=False),
        Binding("f8", "preset(3)", "50 €", id="pay.p3", show=False),
        Binding("f9", "print_ticket", "Imprimer", id="pay.print", tooltip="Imprimer le ticket"),
        Binding("f10", "no_ticket", "Pas de ticket", id="pay.none", tooltip="Terminer sans ticket"),
    ]

    def __init__(self, basket: Basket, member: StaffMember):
        super().__init__()
        self.basket = basket
        self.member = member
        self.sale: CompletedSale | None = None

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        presets = self.kiosk.till.config.get("cash.presets")
        with Vertical(classes="dialog", id="payment"):
            yield Label("Paiement en espèces", classes="section-title")
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
                    yield Button("Annuler", id="pay-cancel")
            with Horizontal(classes="amount-row"):
                yield Label("Rendu", classes="amount-label")
                yield Digits(format_eur(0), id="change")
            yield Static("", id="pay-error", classes="error")
            with Vertical(id="ticket-choice"):
                yield Label("Ticket ?", classes="section-title")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Imprimer (F9)", id="ticket-print", variant="primary")
                    yield Button("Pas de ticket (F10)", id="ticket-none")

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
        elif button_id == "pay-ok":
            self.validate_payment()
        elif button_id == "pay-cancel":
            self.action_cancel()
        elif button_id == "ticket-print":
            self.action_print_ticket()
        elif button_id == "ticket-none":
            self.action_no_ticket()

    def action_cancel(self) -> None:
        if self.sale is None:
            self.dismiss(None)

    # -- commit ----------------------------------------------------------------------------------
    def validate_payment(self) -> None:
        if self.sale is not None:
            return
        error = self.query_one("#pay-error", Static)
        try:
            tenders, change = cash_payment(self.basket.total, self._given())
            self.sale = self.kiosk.till.checkout.complete(self.basket, tenders, change, self.member)
        except (AmountError, PaymentError, FiscalError) as exc:
            error.update(str(exc))
            self.app.bell()
            return
        error.update("")
        self.query_one("#change", Digits).update(format_eur(self.sale.change))
        self.query_one("#pay-entry").display = False
        self.query_one("#ticket-choice").display = True
        self.query_one("#ticket-print", Button).focus()
        self.kiosk.open_drawer()
        if self.kiosk.till.config.get("receipt.auto_print"):
            self.action_print_ticket()

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
