"""Small modal dialogs of the sale screen: quantity, unknown code, free amount."""

from __future__ import annotations

from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from drivers.payment import PaymentResult
from kiosk.common.money import AmountError, format_eur, format_rate, parse_amount, parse_quantity
from kiosk.sale.basket import VAT_RATES_BP
from kiosk.staff.service import StaffMember, StaffService
from kiosk.ui.widgets.keypad import Keypad
from kiosk.ui.widgets.keys import PinInput
from kiosk.ui.workers.pin_check import Answer, check_pin


class QuantityDialog(ModalScreen[Decimal | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="qty.cancel", tooltip="Ferme sans changer")]

    def __init__(self, label: str, current: Decimal, by_weight: bool):
        super().__init__()
        self.label = label
        self.current = current
        self.by_weight = by_weight

    def compose(self) -> ComposeResult:
        unit = "Poids (kg)" if self.by_weight else "Quantité"
        with Vertical(classes="dialog"):
            yield Label(Content(f"{unit} : {self.label}"), classes="section-title")
            yield Input(str(self.current).replace(".", ","), id="qty-input", restrict=r"[0-9.,]*")
            yield Keypad("qty-input", decimal=self.by_weight, id="qty-keypad")
            yield Static("", id="qty-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="qty-ok", variant="success")
                yield Button("Annuler", id="qty-cancel")

    def on_input_submitted(self) -> None:
        self._submit()

    def on_keypad_ok(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "qty-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        try:
            qty = parse_quantity(self.query_one("#qty-input", Input).value, allow_decimal=self.by_weight)
        except AmountError as exc:
            self.query_one("#qty-error", Static).update(str(exc))
            return
        self.dismiss(qty)


class UnknownCodeDialog(ModalScreen[str]):
    """An unknown code: offer search or a free-amount line. Dismisses with 'search', 'free' or 'cancel'."""

    BINDINGS = [
        Binding("escape", "dismiss('cancel')", "Annuler", id="unknown.cancel", tooltip="Ignore ce code")
    ]

    def __init__(self, code: str):
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Article inconnu", classes="section-title error")
            yield Static(
                f"Le code « {self.code} » ne correspond à aucun article du catalogue.\n"
                "Recherchez l'article par son nom, ou saisissez un montant libre.",
                id="unknown-message",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Rechercher", id="unknown-search", variant="primary")
                yield Button("Montant libre", id="unknown-free")
                yield Button("Annuler", id="unknown-cancel")

    def on_mount(self) -> None:
        self.query_one("#unknown-search", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "unknown-cancel").removeprefix("unknown-"))


class FreeAmountDialog(ModalScreen[tuple[str, int, int] | None]):
    """« Montant libre »: label, amount TTC and VAT rate for an article not in the catalogue."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="free.cancel", tooltip="Ferme sans ajouter")]

    def __init__(self, label: str = ""):
        super().__init__()
        self.initial_label = label
        self.vat_bp = 2000

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Montant libre", classes="section-title")
            yield Input(self.initial_label, placeholder="Libellé", id="free-label", max_length=60)
            yield Input(placeholder="Montant TTC, ex. 4,50", id="free-amount", restrict=r"[0-9.,]*")
            with Horizontal(classes="dialog-buttons", id="free-rates"):
                for rate in VAT_RATES_BP:
                    yield Button(format_rate(rate), id=f"free-vat-{rate}", classes="vat-rate")
            yield Static("", id="free-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ajouter", id="free-ok", variant="success")
                yield Button("Annuler", id="free-cancel")

    def on_mount(self) -> None:
        self._select_rate(self.vat_bp)
        self.query_one("#free-amount" if self.initial_label else "#free-label", Input).focus()

    def _select_rate(self, rate: int) -> None:
        self.vat_bp = rate
        for button in self.query(".vat-rate"):
            button.set_class(button.id == f"free-vat-{rate}", "-selected")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "free-label":
            self.query_one("#free-amount", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("free-vat-"):
            self._select_rate(int(button_id.removeprefix("free-vat-")))
        elif button_id == "free-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        try:
            amount = parse_amount(self.query_one("#free-amount", Input).value, allow_zero=False)
        except AmountError as exc:
            self.query_one("#free-error", Static).update(str(exc))
            return
        label = self.query_one("#free-label", Input).value.strip() or "Montant libre"
        self.dismiss((label, amount, self.vat_bp))


class PrintJobsDialog(ModalScreen[None]):
    """Receipts whose printing was cut short: the cashier looked at the printer and decides each one."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Fermer", id="jobs.close", tooltip="Fermer")]

    def __init__(self, jobs: list[tuple[int, str]]):
        super().__init__()
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Impressions interrompues", classes="section-title")
            yield Static("Regardez l'imprimante : réimprimez seulement ce qui n'est pas sorti.")
            for job_id, label in self.jobs:
                with Horizontal(classes="dialog-buttons", id=f"job-{job_id}"):
                    yield Label(Content(label), classes="amount-label")
                    yield Button("Réimprimer", id=f"job-retry-{job_id}", variant="primary")
                    yield Button("Abandonner", id=f"job-cancel-{job_id}")
            yield Button("Fermer", id="jobs-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        queue = self.app.till.print_queue  # type: ignore[attr-defined]
        if button_id.startswith("job-retry-"):
            job_id = int(button_id.removeprefix("job-retry-"))
            queue.retry(job_id)
            self.query_one(f"#job-{job_id}").remove()
        elif button_id.startswith("job-cancel-"):
            job_id = int(button_id.removeprefix("job-cancel-"))
            queue.cancel(job_id)
            self.query_one(f"#job-{job_id}").remove()
        else:
            self.dismiss(None)


class CardOutcomeDialog(ModalScreen[bool]):
    """The link to the terminal was lost after the request: only the terminal knows if the card paid.

    The cashier reads its screen or ticket and says; nothing is assumed either way.
    """

    BINDINGS = [Binding("escape", "noop", show=False)]  # a decision is required

    def __init__(self, result: PaymentResult):
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Paiement carte : résultat inconnu", classes="section-title error")
            yield Static(Content(self.result.reason_fr), id="card-unknown-reason")
            yield Static(Content(f"Montant : {format_eur(self.result.amount_cents)}"))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Le terminal indique ACCEPTÉ", id="card-paid", variant="success")
                yield Button("REFUSÉ ou rien", id="card-not-paid", variant="error")

    def action_noop(self) -> None:
        """Escape does not decide for the cashier."""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "card-paid")


class ManagerPinDialog(ModalScreen[StaffMember | None]):
    """A manager or admin authorises an act with their PIN (« {action} »); dismisses with them, or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="manager.cancel", tooltip="Renoncer")]

    def __init__(self, staff: StaffService, action: str, *, note: str = "", journal: bool = True):
        super().__init__()
        self.staff = staff
        self.action = action
        self.note = note
        self.journal = journal
        self.selected: int | None = None
        self.checking = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(f"{self.action} : code d'un responsable"), classes="section-title")
            if self.note:
                yield Static(Content(self.note), id="manager-note")
            with Horizontal(classes="dialog-buttons"):
                for member in self.staff.managers():
                    yield Button(Content(member.name), id=f"manager-{member.id}", classes="manager")
            yield PinInput(id="manager-pin")
            yield Static("", id="manager-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="manager-ok", variant="success")
                yield Button("Annuler", id="manager-cancel")

    def on_mount(self) -> None:
        first = self.query(".manager").first(Button)
        first.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("manager-") and button_id[8:].isdigit():
            self.selected = int(button_id[8:])
            for button in self.query(".manager"):
                button.set_class(button is event.button, "-selected")
            self.query_one("#manager-pin", Input).focus()
        elif button_id == "manager-ok":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self._submit()

    def _submit(self) -> None:
        error = self.query_one("#manager-error", Static)
        if self.selected is None:
            error.update("Choisissez d'abord le responsable.")
            return
        if self.checking:
            return
        pin = self.query_one("#manager-pin", Input)
        self.checking = True
        error.update("Vérification du code…")
        user_id, typed = self.selected, pin.value

        def check() -> StaffMember:
            return self.staff.authorize(user_id, typed, self.action, journal=self.journal)

        check_pin(self, self.staff.db, check, self.answered)

    def answered(self, result: Answer) -> None:
        self.checking = False
        error = self.query_one("#manager-error", Static)
        if isinstance(result, StaffMember):
            self.dismiss(result)
            return
        error.update(Content(str(result)))
        self.query_one("#manager-pin", Input).value = ""
