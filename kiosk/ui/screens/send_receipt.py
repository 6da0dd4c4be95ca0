"""Sending a receipt by e-mail or SMS, resending an earlier one, and the handwritten card slip.

The dialog takes the address or number from the keyboard or from its on-screen keys (AZERTY letters,
@ and the usual domains; digits and + for a phone number). Checking happens in the services: a malformed
recipient is refused in French and nothing is queued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from fiscal.journal import FiscalError
from kiosk.receipts.digital import Queued, resend_receipt
from kiosk.receipts.digital_outbox import EMAIL, SMS
from kiosk.receipts.manual import manual_slip_for
from kiosk.sale.checkout import CompletedSale
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.widgets.keys import TouchKey

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen

EMAIL_ROWS = ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn@.-_")
EMAIL_SHORTCUTS = ("@gmail.com", "@orange.fr", "@free.fr", ".fr", ".com")
PHONE_ROWS = ("1234567890",)
PHONE_SHORTCUTS = ("+33", "+32", "+41", "+")
PROMPTS = {
    EMAIL: ("Adresse e-mail du client", "prenom.nom@exemple.fr"),
    SMS: ("Numéro de portable du client", "06 12 34 56 78"),
    None: ("Adresse e-mail ou numéro de portable", "prenom.nom@exemple.fr ou 06 12 34 56 78"),
}


def key_name(char: str) -> str:
    """The on-screen key's id suffix: the character itself, or its code for @ . - _ +."""
    return char if char.isalnum() else f"u{ord(char):x}"


# submit(ticket text, recipient text) -> the confirmation for the cashier; raises ValueError or FiscalError
Submit = Callable[[str, str], str]


class SendReceiptDialog(ModalScreen[str | None]):
    """Asks for the recipient (and the ticket number when resending); dismisses with the confirmation."""

    DEFAULT_CSS = """
    SendReceiptDialog #osk { grid-size: 10; grid-gutter: 0 0; height: auto; width: 100%; }
    SendReceiptDialog .osk-key, SendReceiptDialog .osk-short {
        height: 1; min-width: 3; width: 1fr; border: none; margin: 0;
    }
    SendReceiptDialog #osk-shortcuts { height: 1; width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Annuler", id="send.cancel", tooltip="Revenir sans envoyer")]

    def __init__(
        self,
        title: str,
        submit: Submit,
        kind: str | None,
        ask_ticket: bool = False,
        ask_recipient: bool = True,
        action_label: str = "Envoyer le ticket",
    ):
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.kind = kind
        self.ask_ticket = ask_ticket
        self.ask_recipient = ask_recipient
        self.action_label = action_label

    def compose(self) -> ComposeResult:
        label, placeholder = PROMPTS[self.kind]
        phone = self.kind == SMS or not self.ask_recipient
        with Vertical(classes="dialog", id="send-receipt"):
            yield Label(Content(self.title_text), classes="section-title")
            if self.ask_ticket:
                yield Input(placeholder="Numéro du ticket, par exemple 42", id="send-ticket")
            if self.ask_recipient:
                yield Input(placeholder=placeholder, id="send-recipient", tooltip=label)
            with Grid(id="osk"):
                for row in PHONE_ROWS if phone else EMAIL_ROWS:
                    for char in row:
                        yield self._key(char, "osk-key", key_id=f"osk-{key_name(char)}")
            with Horizontal(id="osk-shortcuts"):
                shortcuts = () if not self.ask_recipient else PHONE_SHORTCUTS if phone else EMAIL_SHORTCUTS
                for index, text in enumerate(shortcuts):
                    yield self._key(text, "osk-short", key_id=f"osk-short-{index}")
                yield self._key("⌫", "osk-short", key_id="osk-back")
            yield Static("", id="send-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.action_label, id="send-ok", variant="success")
                yield Button("Annuler", id="send-cancel")

    def _key(self, text: str, classes: str, key_id: str | None = None) -> TouchKey:
        key = TouchKey(text, classes=classes, name=text, id=key_id)
        key.can_focus = False  # a touch keeps the cursor in the field being typed
        return key

    def on_mount(self) -> None:
        self.query_one("#send-ticket" if self.ask_ticket else "#send-recipient", Input).focus()

    def _target(self) -> Input:
        focused = self.focused
        if isinstance(focused, Input):
            return focused
        return self.query_one("#send-recipient" if self.ask_recipient else "#send-ticket", Input)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button
        if button.id == "send-ok":
            self._submit()
        elif button.id == "send-cancel":
            self.action_cancel()
        elif button.id == "osk-back":
            self._target().action_delete_left()
        elif button.name:
            target = self._target()
            text = button.name
            if len(text) > 1 and text.startswith("@") and "@" in target.value:
                text = text[1:]  # « @orange.fr » after a typed @: no second @
            target.insert_text_at_cursor(text)
            target.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "send-ticket" and self.ask_recipient:
            self.query_one("#send-recipient", Input).focus()
        else:
            self._submit()

    def _value(self, selector: str) -> str:
        found = self.query(selector)
        return found.first(Input).value if found else ""

    def _submit(self) -> None:
        try:
            confirmation = self.submit(self._value("#send-ticket"), self._value("#send-recipient"))
        except (ValueError, FiscalError) as exc:
            self.query_one("#send-error", Static).update(Content(str(exc)))
            self.app.bell()
            return
        self.dismiss(confirmation)

    def action_cancel(self) -> None:
        self.dismiss(None)


def confirmation(queued: Queued) -> str:
    if queued.kind == EMAIL:
        return f"Ticket {queued.ticket} : envoi par e-mail à {queued.recipient_masked} en cours."
    return (
        f"Ticket {queued.ticket} : SMS pour {queued.recipient_masked} en file d'attente, "
        "envoyé par le portail à la prochaine connexion."
    )


def _after_queued(app: KioskApp, message: str | None, then: Callable[[], None] | None = None) -> None:
    if message is None:
        return
    app.receipt_mail.kick()
    app.notify(message, timeout=8)
    if then is not None:
        then()


def offer_digital_receipt(app: KioskApp, sale: CompletedSale, kind: str, then: Callable[[], None]) -> None:
    """After payment: ask the address (kind email) or number (sms), queue it, then `then()`."""

    def submit(_ticket: str, recipient: str) -> str:
        return confirmation(app.after_sale.send_receipt(sale, kind, recipient))

    title = f"Ticket {sale.number} par {'e-mail' if kind == EMAIL else 'SMS'}"
    app.push_screen(SendReceiptDialog(title, submit, kind), lambda message: _after_queued(app, message, then))


def print_manual_slip(app: KioskApp, sale: CompletedSale) -> None:
    """Print the handwritten-ticket model of a card payment and show it (what to copy on paper)."""
    app.push_screen(ReceiptScreen(app.after_sale.print_manual_slip(sale), f"manuel {sale.number}"))


# -- F1 menu entries ----------------------------------------------------------------------------------
def resend_from_menu(screen: SaleScreen) -> None:
    """« Renvoyer un ticket »: an earlier ticket by e-mail or SMS, journaled as a duplicate."""
    app = cast("KioskApp", screen.app)

    def submit(ticket: str, recipient: str) -> str:
        return confirmation(resend_receipt(app.till, ticket, recipient, screen.member.name))

    app.push_screen(
        SendReceiptDialog("Renvoyer un ticket (e-mail ou SMS)", submit, None, ask_ticket=True),
        lambda message: _after_queued(app, message),
    )


def manual_slip_from_menu(screen: SaleScreen) -> None:
    """« Ticket manuel »: the card slip of an earlier ticket, by its number."""
    app = cast("KioskApp", screen.app)
    slips: list[CompletedSale] = []

    def submit(ticket: str, _recipient: str) -> str:
        sale, _ = manual_slip_for(app.till, ticket)
        slips.append(sale)
        return sale.number

    def chosen(number: str | None) -> None:
        if number is not None:
            print_manual_slip(app, slips[-1])

    app.push_screen(
        SendReceiptDialog(
            "Ticket manuel (carte internationale à piste)",
            submit,
            None,
            ask_ticket=True,
            ask_recipient=False,
            action_label="Imprimer le modèle",
        ),
        chosen,
    )
