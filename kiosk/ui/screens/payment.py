"""Payment: every tender (cash, card, cheque, credit note, meal and holiday vouchers) and any split
between them; what remains due, change from cash only, « Ticket ? », drawer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Digits, Input, Label, Static

from drivers.display import item_lines
from drivers.payment import NoTerminal, PaymentResult
from fiscal.journal import ClockWentBack, FiscalError
from kiosk.after_sale import Attached, LoyaltyRefused
from kiosk.common.money import AmountError, format_eur, parse_amount
from kiosk.receipts.manual import card_amount
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, PaymentError, Tender
from kiosk.sale.credit_notes import CreditNoteView
from kiosk.sale.discounts import DiscountError, check_basket
from kiosk.sale.tenders import (
    CARD,
    CASH,
    CHEQUE,
    HOLIDAY,
    LOYALTY,
    MEAL,
    MEAL_CARD,
    TENDER_LABELS,
    VOUCHER,
    PaymentPlan,
)
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import CardOutcomeDialog
from kiosk.ui.dialogs.code import CodeDialog
from kiosk.ui.screens.customers import ConfirmDialog, CustomerPickerScreen
from kiosk.ui.screens.send_receipt import offer_digital_receipt, print_manual_slip
from kiosk.ui.widgets.keys import TouchKey

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


log = logging.getLogger(__name__)
CARD_CRASH_MESSAGE = (
    "Le terminal de paiement a rencontré une erreur : regardez son écran. S'il indique « accepté », "
    "validez le paiement carte ; sinon, ne validez pas."
)


class PaymentBox(VerticalScroll, can_focus=False):
    """Scrolls on a small screen; never takes the focus from the amount field when touched."""


class RemoveKey(TouchKey, can_focus=False):
    """« Retirer » a tender by touch (ctrl+z by keyboard): the amount field keeps the focus."""


@dataclass(frozen=True)
class PaymentOutcome:
    sale: CompletedSale
    receipt_text: str | None  # the printed receipt's preview, None for « pas de ticket »


# button id → (tender kind, label); card kinds go through the terminal
TENDER_KEYS = {
    "pay-ok": (CASH, "Espèces (Entrée)"),
    "pay-card": (CARD, "Carte (F3)"),
    "pay-cheque": (CHEQUE, "Chèque (F4)"),
    "pay-voucher": (VOUCHER, "Avoir (F2)"),
    "pay-meal": (MEAL, "Ticket resto (F11)"),
    "pay-meal-card": (MEAL_CARD, "TR carte (ctrl+t)"),
    "pay-holiday": (HOLIDAY, "Chq vacances (F12)"),
    "pay-loyalty": (LOYALTY, "Fidélité (ctrl+f)"),
}


class PaymentScreen(ModalScreen[PaymentOutcome | None]):
    """Dismisses with the outcome once the sale is committed, None when cancelled before.

    An amount typed then a tender key takes that much in that tender; with nothing typed the tender pays
    what remains (meal vouchers: what they may still pay). The sale is signed once nothing remains."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="pay.cancel", tooltip="Revenir au panier"),
        Binding("f2", "tender('voucher')", "Avoir", id="pay.voucher", tooltip="Payer avec un avoir"),
        Binding("f3", "card", "Carte", id="pay.card", tooltip="Payer par carte bancaire (terminal)"),
        Binding("f4", "tender('cheque')", "Chèque", id="pay.cheque", tooltip="Payer par chèque"),
        Binding("f11", "tender('meal_voucher')", "Ticket resto", id="pay.meal", tooltip="Titre-restaurant"),
        Binding("ctrl+t", "card('meal_voucher_card')", "TR carte", id="pay.mealcard", show=False),
        Binding("f12", "tender('holiday_voucher')", "Chq vac.", id="pay.holiday", tooltip="Chèques vacances"),
        Binding("ctrl+z", "remove_last", "Retirer", id="pay.remove", tooltip="Retirer le dernier règlement"),
        Binding(
            "ctrl+f",
            "loyalty",
            "Fidélité",
            id="pay.loyalty",
            tooltip="Client fidélité : utiliser sa cagnotte, ou lui rattacher la vente",
        ),
        Binding("f5", "preset(0)", "5 €", id="pay.p0", show=False),
        Binding("f6", "preset(1)", "10 €", id="pay.p1", show=False),
        Binding("f7", "preset(2)", "20 €", id="pay.p2", show=False),
        Binding("f8", "preset(3)", "50 €", id="pay.p3", show=False),
        Binding("f9", "print_ticket", "Imprimer", id="pay.print", tooltip="Imprimer le ticket"),
        Binding("f10", "no_ticket", "Pas de ticket", id="pay.none", tooltip="Terminer sans ticket"),
        Binding("f11", "email_ticket", "E-mail", id="pay.email", tooltip="Envoyer le ticket par e-mail"),
        Binding("f12", "sms_ticket", "SMS", id="pay.sms", tooltip="Envoyer le ticket par SMS"),
    ]

    def __init__(self, basket: Basket, member: StaffMember, credit_note: str | None = None):
        super().__init__()
        self.basket = basket
        self.member = member
        self.sale: CompletedSale | None = None
        self.card_busy = False
        self.card_kind = CARD
        self.credit_note = credit_note or basket.credit_note  # an exchange's credit note, spent at once
        self.plan = PaymentPlan(basket.total, meal_eligible=0, meal_max=0)
        self.customer_id: int | None = None  # the loyalty customer, chosen while paying or after
        self.card_pan: str | None = None  # what the terminal returned of the card (masked), for loyalty
        self.loyalty_lines: list[str] = []

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F11 and F12 take meal and holiday vouchers while paying, then send the receipt by e-mail or
        SMS once the sale is made: each key runs the binding of the current phase."""
        if action == "loyalty":
            return True
        if action in ("tender", "card", "remove_last", "preset"):
            return self.sale is None
        if action in ("email_ticket", "sms_ticket", "print_ticket", "no_ticket"):
            return self.sale is not None
        return True

    def compose(self) -> ComposeResult:
        presets = self.kiosk.till.config.cash.presets
        with PaymentBox(classes="dialog", id="payment"):
            with Horizontal(classes="amount-row"):
                yield Label("À payer", classes="amount-label")
                yield Digits(format_eur(self.basket.total), id="due")
            with Horizontal(classes="amount-row"):
                yield Label("Reste dû", classes="amount-label")
                yield Digits(format_eur(self.basket.total), id="remaining")
            yield Vertical(id="tenders")
            with Vertical(id="pay-entry"):
                yield Input(
                    placeholder="Montant (Entrée = espèces ; vide = le reste dû)",
                    id="given",
                    restrict=r"[0-9.,€ ]*",
                )
                with Horizontal(classes="dialog-buttons", id="presets"):
                    for index, cents in enumerate(presets):
                        yield TouchKey(
                            format_eur(cents), id=f"cash-{cents}", classes="preset", name=str(index)
                        )
                    yield TouchKey("Exact", id="cash-exact", classes="preset")
                with Grid(id="tender-keys"):
                    for button_id, (_, label) in TENDER_KEYS.items():
                        variant = (
                            "success"
                            if button_id == "pay-ok"
                            else "primary"
                            if "card" in button_id
                            else "default"
                        )
                        yield TouchKey(label, id=button_id, variant=variant, classes="tender-key")
                    yield TouchKey("Annuler (Échap)", id="pay-cancel", classes="tender-key", variant="error")
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
                with Horizontal(classes="dialog-buttons", id="ticket-loyalty-row"):
                    yield Button("Client fidélité (ctrl+f)", id="ticket-loyalty")
                    yield Static("", id="loyalty-status")

    def on_mount(self) -> None:
        checkout = self.kiosk.till.checkout
        self.plan = PaymentPlan(
            self.basket.total,
            meal_eligible=checkout.meal_eligible(self.basket),
            meal_max=checkout.meal_voucher_max,
        )
        self.query_one("#payment").border_title = "Paiement"
        self.query_one("#ticket-choice").display = False
        self.query_one("#given", Input).focus()
        self.refresh_plan()
        if self.credit_note is not None:
            self.take_credit_note(self.credit_note)

    # -- entry -----------------------------------------------------------------------------------
    def _typed(self) -> int | None:
        """The amount typed, None when the field is empty; AmountError when unreadable."""
        text = self.query_one("#given", Input).value
        return None if not text.strip() else parse_amount(text, allow_zero=False)

    def _given(self) -> int:
        typed = self._typed()
        return self.plan.remaining if typed is None else typed

    @on(Input.Changed, "#given")
    def show_change(self) -> None:
        if self.sale is not None or self.plan.settled:
            return
        try:
            given = self._given()
        except AmountError:
            return
        self.query_one("#change", Digits).update(format_eur(max(0, given - self.plan.remaining)))

    @on(Input.Submitted, "#given")
    def submitted(self) -> None:
        self.validate_payment()

    def action_preset(self, index: int) -> None:
        if self.sale is not None:
            return
        presets = self.kiosk.till.config.cash.presets
        if index < len(presets):
            self.set_given(presets[index])

    def set_given(self, cents: int) -> None:
        self.query_one("#given", Input).value = format_eur(cents, symbol=False)

    def refresh_plan(self) -> None:
        """Redraw the tenders taken, with a « Retirer » key each, and what remains due."""
        box = self.query_one("#tenders", Vertical)
        box.remove_children()
        rows = []
        for index, tender in enumerate(self.plan.tenders):
            label = TENDER_LABELS.get(tender.kind, tender.kind)
            if tender.ref:
                label = f"{label} {tender.ref}"
            cells: list[Widget] = [
                Label(Content(f"{label} : {format_eur(tender.amount)}"), classes="tender-row-label")
            ]
            if tender.kind not in (CARD, MEAL_CARD):
                cells.append(RemoveKey("Retirer", name=str(index), classes="tender-del", compact=True))
            rows.append(Horizontal(*cells, classes="tender-row"))
        box.mount_all(rows)
        self.query_one("#remaining", Digits).update(format_eur(self.plan.remaining))
        self.query_one("#change", Digits).update(format_eur(self.plan.change))
        if self.plan.tenders and not self.plan.settled:  # the customer sees what is left to pay
            self.kiosk.show_on_display(*item_lines("Reste à payer", format_eur(self.plan.remaining)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id == "cash-exact":
            self.set_given(self.plan.remaining)
        elif button_id.startswith("cash-"):
            self.set_given(int(button_id.removeprefix("cash-")))
        elif event.button.has_class("tender-del"):
            self.remove_tender(int(event.button.name or 0))
        elif button_id == "pay-ok":
            self.validate_payment()
        elif button_id in ("pay-loyalty", "ticket-loyalty"):
            self.action_loyalty()
        elif button_id in ("pay-card", "pay-meal-card"):
            self.action_card(TENDER_KEYS[button_id][0])
        elif button_id in TENDER_KEYS:
            self.action_tender(TENDER_KEYS[button_id][0])
        elif button_id == "pay-cancel":
            self.action_cancel()
        elif button_id == "ticket-print":
            self.action_print_ticket()
        elif button_id == "ticket-none":
            self.action_no_ticket()

    def action_cancel(self) -> None:
        if self.sale is not None or self.card_busy:
            return
        if any(t.kind in (CARD, MEAL_CARD) for t in self.plan.tenders):
            self._error(
                "Un paiement carte est déjà accepté : encaissez le reste dû (le remboursement se fait ensuite "
                "par le menu Rembourser)."
            )
            return
        self.dismiss(None)

    # -- tenders ---------------------------------------------------------------------------------
    def _error(self, text: str) -> None:
        self.query_one("#pay-error", Static).update(Content(text))
        if text:
            self.app.bell()

    def take(self, kind: str, amount: int, ref: str = "") -> bool:
        """Add a tender to the split; sign the sale once nothing remains. False when refused."""
        given = self.query_one("#given", Input)
        given.focus()  # touch: the next amount is typed at once
        try:
            self.plan.add(kind, amount, ref)
        except PaymentError as exc:
            self._error(str(exc))
            return False
        self._error("")
        given.value = ""
        self.refresh_plan()
        if self.plan.settled:
            self.commit(self.plan.tenders, self.plan.change)
        return True

    def validate_payment(self) -> None:
        """Cash: the amount typed (or what remains); more than remains gives change."""
        if self.sale is not None or self.card_busy:
            return
        try:
            given = self._given()
        except AmountError as exc:
            self._error(str(exc))
            return
        self.take(CASH, given)

    def action_tender(self, kind: str) -> None:
        if self.sale is not None or self.card_busy:
            return
        if kind == VOUCHER:
            self.ask_credit_note()
            return
        amount = self._amount_for(kind)
        if amount is not None:
            self.take(kind, amount)

    def _amount_for(self, kind: str) -> int | None:
        """The amount typed, else what this tender may pay of the rest (meal vouchers: the food part);
        None, the error shown, when the amount typed is unreadable."""
        try:
            typed = self._typed()
        except AmountError as exc:
            self._error(str(exc))
            return None
        if typed is not None:
            return typed
        return (
            min(self.plan.remaining, self.plan.meal_room)
            if kind in (MEAL, MEAL_CARD)
            else self.plan.remaining
        )

    def action_remove_last(self) -> None:
        removable = [i for i, t in enumerate(self.plan.tenders) if t.kind != CARD]
        if removable and self.sale is None and not self.card_busy:
            self.remove_tender(removable[-1])

    def remove_tender(self, index: int) -> None:
        try:
            removed = self.plan.remove(index)
        except PaymentError as exc:
            self._error(str(exc))
            return
        self._error(
            f"Règlement retiré : {TENDER_LABELS.get(removed.kind, removed.kind)} {format_eur(removed.amount)}"
        )
        self.refresh_plan()

    def ask_credit_note(self) -> None:
        till = self.kiosk.till

        def resolve(code: str) -> CreditNoteView:
            return till.checkout.credit_notes.usable(
                code, till.clock().date(), training=till.checkout.training
            )

        def chosen(note: CreditNoteView | None) -> None:
            if note is not None:
                self.spend_credit_note(note)

        self.app.push_screen(
            CodeDialog("Avoir", "Scannez l'avoir ou saisissez son numéro (AV-…)", resolve), chosen
        )

    def take_credit_note(self, number: str) -> None:
        till = self.kiosk.till
        try:
            note = till.checkout.credit_notes.usable(
                number, till.clock().date(), training=till.checkout.training
            )
        except ValueError as exc:
            self._error(str(exc))
            return
        self.spend_credit_note(note)

    def spend_credit_note(self, note: CreditNoteView) -> None:
        """A credit note pays at most what remains; its rest becomes a new credit note."""
        amount = min(note.balance, self.plan.remaining)
        if self.take(VOUCHER, amount, note.number) and note.balance > amount:
            self.query_one("#card-status", Static).update(
                f"Avoir {note.number} : {format_eur(note.balance - amount)} restent sur un nouvel avoir imprimé."
            )

    def enter_code(self, code: str) -> None:
        """A scan during payment: a credit note's barcode pays."""
        if self.sale is None and not self.card_busy:
            self.take_credit_note(code)

    # -- commit ----------------------------------------------------------------------------------
    def commit(self, tenders: list[Tender], change: int) -> None:
        """Make the sale a fiscal ticket; then the change, the drawer (cash) and « Ticket ? »."""
        try:
            self.sale = self.kiosk.till.checkout.complete(self.basket, tenders, change, self.member)
        except ClockWentBack:
            self.kiosk.confirm_clock(then=lambda: self.commit(tenders, change))
            return
        except (PaymentError, DiscountError, FiscalError, PermissionDenied) as exc:
            self._error(str(exc))
            return
        self._error("")
        self.query_one("#change", Digits).update(format_eur(self.sale.change))
        self.query_one("#pay-entry").display = False
        self.query_one("#ticket-choice").display = True
        self.query_one("#ticket-manual").display = card_amount(self.sale) > 0
        self.query_one("#ticket-print", Button).focus()
        for button in self.query("#tenders Button"):
            button.display = False
        try:
            attached = self.kiosk.after_sale.settle(self.sale, self.customer_id, self.card_pan or "")
        except LoyaltyRefused as exc:
            self.query_one("#loyalty-status", Static).update(Content(str(exc)))
            attached = None
        if self.kiosk.till.checkout.training:
            self.query_one("#ticket-loyalty-row").display = False
        elif attached is not None:
            self.attached(attached)
        if self.kiosk.till.config.receipt.auto_print:
            self.action_print_ticket()

    # -- card --------------------------------------------------------------------------------------
    def action_card(self, kind: str = CARD) -> None:
        """The card pays the amount typed, or what remains (a meal-voucher card: what it may pay)."""
        if self.sale is not None or self.card_busy:
            return
        if isinstance(self.kiosk.till.terminal, NoTerminal):
            self._error(
                "Aucun terminal de paiement n'est configuré : encaissez en espèces ou par un autre moyen."
            )
            return
        amount = self._amount_for(kind)
        if amount is None:
            return
        trial = PaymentPlan(
            self.plan.total, meal_eligible=self.plan.meal_eligible, meal_max=self.plan.meal_max
        )
        trial.tenders = list(self.plan.tenders)
        try:  # refused before the customer's card is ever debited
            trial.add(kind, amount)
            check_basket(self.basket, self.kiosk.till.checkout.max_discount_percent)
        except (PaymentError, DiscountError, PermissionDenied) as exc:
            self._error(str(exc))
            return
        self.card_busy = True
        self.card_kind = kind
        self._error("")
        self.query_one("#pay-entry").display = False
        self.query_one("#card-status", Static).update(
            f"Paiement carte de {format_eur(amount)} en cours : le client suit les instructions du terminal."
        )
        self.run_card(amount)

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
            self.card_pan = result.masked_pan or self.card_pan
            self.query_one("#pay-entry").display = True
            self.take(self.card_kind, result.amount_cents)
        elif result.outcome == "unknown":
            self.app.push_screen(
                CardOutcomeDialog(result), lambda paid: self.card_resolved(paid, result.amount_cents)
            )
        else:
            self.query_one("#pay-entry").display = True
            self.query_one("#given", Input).focus()
            self._error(result.reason_fr)

    def card_resolved(self, paid: bool | None, amount: int) -> None:
        """The cashier read the terminal: journal the decision, then take the card or keep the basket."""
        self.kiosk.after_sale.card_outcome_resolved(amount, bool(paid), self.member.name)
        self.query_one("#pay-entry").display = True
        if paid:
            self.take(self.card_kind, amount)
            return
        self.query_one("#given", Input).focus()
        self._error("Paiement carte non encaissé : le panier est intact, choisissez un autre règlement.")

    # -- loyalty ---------------------------------------------------------------------------------
    def action_loyalty(self) -> None:
        """While paying: the customer's reward as a tender (their consent asked). Once the sale is made:
        attach it to a customer of the directory (the seed's « Souhaitez-vous ajouter la transaction à
        un des clients de l'annuaire ? »), who earns what the programme gives."""
        if self.kiosk.till.checkout.training:
            self._error("Fidélité indisponible en mode formation.")
            return
        if self.card_busy:
            return
        if self.sale is not None:
            if self.customer_id is None:
                self.app.push_screen(CustomerPickerScreen(attach=True), self._attach_chosen)
            return
        self.app.push_screen(CustomerPickerScreen(attach=True), self._reward_for)

    def _reward_for(self, customer_id: int | None) -> None:
        if customer_id is None:
            return
        till = self.kiosk.till
        self.customer_id = customer_id
        name = till.customers.get(customer_id).display_name
        cents, _, note = till.loyalty.reward_available(customer_id, till.loyalty.basket_lines(self.basket))
        cents = min(cents, self.plan.remaining)
        if cents <= 0:
            self._error(
                f"{name} : aucune récompense à utiliser ({note or 'cagnotte vide'}). "
                "La vente lui sera rattachée."
            )
            return
        question = f"Utiliser {format_eur(cents)} de la cagnotte de {name} ?"
        if note:
            question += f"\n{note}"

        def consent(yes: bool | None) -> None:
            if yes:
                self.take(LOYALTY, cents, str(customer_id))

        self.app.push_screen(ConfirmDialog(question), consent)

    def _attach_chosen(self, customer_id: int | None) -> None:
        if customer_id is not None:
            self.attach(customer_id)

    def attach(self, customer_id: int) -> None:
        assert self.sale is not None
        try:
            attached = self.kiosk.after_sale.attach(self.sale, customer_id, self.card_pan or "")
        except LoyaltyRefused as exc:
            self.query_one("#loyalty-status", Static).update(Content(str(exc)))
            return
        self.attached(attached)

    def attached(self, attached: Attached) -> None:
        self.customer_id = attached.customer_id
        self.loyalty_lines = list(attached.receipt_lines)
        if attached.full:
            self.app.bell()
        self.query_one("#loyalty-status", Static).update(Content(attached.said))
        self.query_one("#ticket-loyalty", Button).display = False

    # -- receipt ---------------------------------------------------------------------------------
    def action_print_ticket(self) -> None:
        if self.sale is None:
            return
        text = self.kiosk.after_sale.print_receipt(self.sale, tuple(self.loyalty_lines))
        self.dismiss(PaymentOutcome(self.sale, text))

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
