"""Cash control at the till: opening float, cash in / out (a responsible's PIN), the drawer count."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from fiscal.journal import FiscalError
from kiosk.common.money import AmountError, format_eur, parse_amount
from kiosk.sale.cash import DENOMINATIONS, CashCount, CashError, denomination_label
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.widgets.keys import TouchKey

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen

KEYPAD_CSS = """
.cash-keypad { grid-size: 6 2; grid-gutter: 0 1; height: 6; width: 100%; }
.cash-keypad .key { width: 100%; height: 3; min-width: 5; }
"""


def keypad() -> Grid:
    """Digits, comma and backspace for a touch screen; they type into the field last focused."""
    keys = [TouchKey(d, id=f"kp-{d}", classes="key") for d in "1234567890"]
    keys += [TouchKey(",", id="kp-comma", classes="key"), TouchKey("⌫", id="kp-back", classes="key")]
    return Grid(*keys, classes="cash-keypad")


class KeypadMixin:
    """Routes keypad taps to the last focused Input of the screen."""

    target: Input | None = None

    def on_descendant_focus(self, event: object) -> None:
        widget = getattr(event, "widget", None)
        if isinstance(widget, Input):
            self.target = widget

    def keypad_pressed(self, button_id: str) -> bool:
        if not button_id.startswith("kp-"):
            return False
        target = self.target
        if target is None:
            return True
        key = button_id.removeprefix("kp-")
        if key == "back":
            target.value = target.value[:-1]
        else:
            target.value += "," if key == "comma" else key
        return True


class AmountDialog(KeypadMixin, ModalScreen[bool]):
    """An amount (and, for cash in/out, the direction and a reason); `submit` raises on refusal."""

    DEFAULT_CSS = KEYPAD_CSS
    BINDINGS = [
        Binding("escape", "dismiss(False)", "Plus tard", id="amount.cancel", tooltip="Ne rien enregistrer")
    ]

    def __init__(
        self,
        title: str,
        submit: Callable[[int, str, str], None],
        *,
        note: str = "",
        initial: int | None = None,
        movement: bool = False,
    ):
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.note = note
        self.initial = initial
        self.movement = movement
        self.kind = "OUT"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="amount-dialog"):
            yield Label(Content(self.title_text), classes="section-title")
            if self.note:
                yield Static(Content(self.note), id="amount-note")
            if self.movement:
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Sortie d'espèces", id="move-OUT", classes="move-kind")
                    yield Button("Entrée d'espèces", id="move-IN", classes="move-kind")
            initial = format_eur(self.initial, symbol=False) if self.initial is not None else ""
            yield Input(initial, placeholder="Montant, ex. 150,00", id="amount-value", restrict=r"[0-9.,]*")
            if self.movement:
                yield Input(placeholder="Motif, ex. : achat de timbres", id="amount-reason", max_length=80)
            yield keypad()
            yield Static("", id="amount-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="amount-ok", variant="success")
                yield Button("Plus tard" if not self.movement else "Annuler", id="amount-cancel")

    def on_mount(self) -> None:
        if self.movement:
            self._kind("OUT")
        self.query_one("#amount-value", Input).focus()

    def _kind(self, kind: str) -> None:
        self.kind = kind
        for button in self.query(".move-kind"):
            button.set_class(button.id == f"move-{kind}", "-selected")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "amount-value" and self.movement:
            self.query_one("#amount-reason", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if self.keypad_pressed(button_id):
            return
        if button_id.startswith("move-"):
            self._kind(button_id.removeprefix("move-"))
        elif button_id == "amount-ok":
            self._submit()
        else:
            self.dismiss(False)

    def _submit(self) -> None:
        error = self.query_one("#amount-error", Static)
        try:
            amount = parse_amount(self.query_one("#amount-value", Input).value, allow_zero=not self.movement)
            reason = self.query_one("#amount-reason", Input).value if self.movement else ""
            self.submit(amount, self.kind, reason)
        except (AmountError, CashError, PermissionDenied, FiscalError) as exc:
            error.update(Content(str(exc)))
            return
        self.dismiss(True)


class CashCountScreen(KeypadMixin, ModalScreen[CashCount | None]):
    """The drawer counted by denomination: a quantity per note and coin (typed, or − / + by touch)."""

    DEFAULT_CSS = (
        KEYPAD_CSS
        + """
    #count { width: 70; height: 100%; }
    #count-rows { height: 1fr; }
    .count-row { height: 3; }
    .count-label { width: 20; padding-top: 1; }
    .count-qty { width: 12; }
    .count-step { min-width: 5; width: 5; }
    .count-sub { width: 14; padding-top: 1; text-align: right; }
    #count-total { text-style: bold; }
    """
    )
    BINDINGS = [
        Binding("f12", "record", "Valider le comptage", id="count.ok", tooltip="Enregistrer le comptage"),
        Binding("escape", "dismiss(None)", "Annuler", id="count.cancel", tooltip="Ne rien enregistrer"),
    ]

    def __init__(self, member: StaffMember):
        super().__init__()
        self.member = member
        self.result: CashCount | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="count"):
            yield Label(Content(f"Comptage de la caisse — {self.member.name}"), classes="section-title")
            with VerticalScroll(id="count-rows"):
                for cents in DENOMINATIONS:
                    with Horizontal(classes="count-row"):
                        yield Label(denomination_label(cents), classes="count-label")
                        yield Input(
                            "",
                            placeholder="0",
                            id=f"qty-{cents}",
                            classes="count-qty",
                            restrict=r"\d*",
                            max_length=6,
                        )
                        yield TouchKey("−", id=f"minus-{cents}", classes="count-step")
                        yield TouchKey("+", id=f"plus-{cents}", classes="count-step")
                        yield Static("", id=f"sub-{cents}", classes="count-sub")
            yield Static("Total compté : 0,00 €", id="count-total")
            yield keypad()
            yield Static("", id="count-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider le comptage (F12)", id="count-ok", variant="success")
                yield Button("Annuler", id="count-cancel")

    def on_mount(self) -> None:
        self.query_one(f"#qty-{DENOMINATIONS[0]}", Input).focus()

    def quantities(self) -> dict[int, int]:
        return {cents: int(self.query_one(f"#qty-{cents}", Input).value or 0) for cents in DENOMINATIONS}

    def on_input_changed(self, event: Input.Changed) -> None:
        if not (event.input.id or "").startswith("qty-"):
            return
        cents = int((event.input.id or "").removeprefix("qty-"))
        qty = int(event.value or 0)
        self.query_one(f"#sub-{cents}", Static).update(format_eur(qty * cents) if qty else "")
        total = sum(c * q for c, q in self.quantities().items())
        self.query_one("#count-total", Static).update(f"Total compté : {format_eur(total)}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(".count-qty").results(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self.query_one("#count-ok", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if self.keypad_pressed(button_id):
            return
        if button_id.startswith(("minus-", "plus-")):
            step, cents = button_id.split("-")
            field = self.query_one(f"#qty-{cents}", Input)
            field.value = str(max(0, int(field.value or 0) + (1 if step == "plus" else -1)))
            self.target = field
        elif button_id == "count-ok":
            self.action_record()
        elif button_id == "count-close":
            self.dismiss(self.result)
        else:
            self.dismiss(None)

    def action_record(self) -> None:
        if self.result is not None:
            self.dismiss(self.result)
            return
        till = cast("KioskApp", self.app).till
        try:
            count = till.cash.record_count(self.member, self.quantities())
        except (CashError, PermissionDenied, FiscalError) as exc:
            self.query_one("#count-error", Static).update(Content(str(exc)))
            return
        self.dismiss(count)


# -- flows -------------------------------------------------------------------------------------------
def ask_float(kiosk: KioskApp, member: StaffMember) -> None:
    """At the first login of the day (cash.float_at_login): the opening float, drawer opened to put it in."""
    till = kiosk.till
    if not till.config.cash.float_at_login or not till.cash.needs_float():
        return

    def submit(amount: int, _: str, __: str) -> None:
        till.cash.declare_float(member, amount)

    def done(ok: bool | None) -> None:
        if ok:
            kiosk.open_drawer()
            kiosk.notify(
                f"Fond de caisse enregistré : {format_eur(till.cash.float_of(till.cash.today()) or 0)}."
            )
        else:
            kiosk.notify("Fond de caisse à déclarer : Menu → Fond de caisse.", severity="warning", timeout=8)

    kiosk.push_screen(
        AmountDialog(
            "Fond de caisse du jour",
            submit,
            note="Comptez les espèces du tiroir avant la première vente.",
            initial=till.cash.last_float(),
        ),
        done,
    )


def declare_float(screen: SaleScreen) -> None:
    """Menu « Fond de caisse »: declared once a day; a correction takes a responsible's PIN."""
    kiosk = cast("KioskApp", screen.app)
    till = kiosk.till
    current = till.cash.float_of(till.cash.today())

    def ask(manager: StaffMember | None) -> None:
        def submit(amount: int, _: str, __: str) -> None:
            till.cash.declare_float(screen.member, amount, authorised_by=manager)

        def done(ok: bool | None) -> None:
            if ok:
                kiosk.open_drawer()
                screen.say(
                    f"Fond de caisse enregistré : {format_eur(till.cash.float_of(till.cash.today()) or 0)}."
                )

        note = (
            "" if current is None else f"Déjà déclaré : {format_eur(current)}. La correction est enregistrée."
        )
        screen.app.push_screen(
            AmountDialog(
                "Fond de caisse du jour", submit, note=note, initial=current or till.cash.last_float()
            ),
            done,
        )

    if current is None:
        ask(None)
    else:
        screen.app.push_screen(
            ManagerPinDialog(till.staff, "Corriger le fond de caisse"), lambda m: ask(m) if m else None
        )


def cash_movement(screen: SaleScreen) -> None:
    """Menu « Entrée / sortie d'espèces »: a responsible's PIN, amount and reason, then the drawer opens."""
    kiosk = cast("KioskApp", screen.app)
    till = kiosk.till

    def authorised(manager: StaffMember | None) -> None:
        if manager is None:
            return
        recorded: list[tuple[str, int]] = []

        def submit(amount: int, kind: str, reason: str) -> None:
            till.cash.move(screen.member, kind, amount, reason, authorised_by=manager)
            recorded.append((kind, amount))

        def done(ok: bool | None) -> None:
            if ok and recorded:
                kind, amount = recorded[-1]
                kiosk.open_drawer()
                label = "Entrée" if kind == "IN" else "Sortie"
                screen.say(
                    f"{label} d'espèces de {format_eur(amount)} enregistrée, autorisée par {manager.name}."
                )

        screen.app.push_screen(AmountDialog("Entrée / sortie d'espèces", submit, movement=True), done)

    screen.app.push_screen(ManagerPinDialog(till.staff, "Entrée / sortie d'espèces"), authorised)


def count_cash(screen: SaleScreen) -> None:
    """Menu « Comptage de caisse »: counted blind, then expected / counted / difference shown."""

    def done(count: CashCount | None) -> None:
        if count is None:
            return
        screen.say(
            f"Comptage enregistré : attendu {format_eur(count.expected.expected)}, compté "
            f"{format_eur(count.counted)}, écart {format_eur(count.difference)}.",
            error=count.difference != 0,
        )

    screen.app.push_screen(CashCountScreen(screen.member), done)
