"""Receipt preview: the text of what the printer received, until the cashier starts the next sale."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ReceiptScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("enter", "done", "Vente suivante", id="receipt.done", tooltip="Fermer l'aperçu"),
        Binding("escape", "done", "Fermer", id="receipt.close", show=False),
    ]

    def __init__(self, text: str, number: str):
        super().__init__()
        self.text = text
        self.number = number

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="receipt"):
            yield Label(f"Ticket {self.number} envoyé à l'imprimante", classes="section-title")
            with VerticalScroll(id="receipt-scroll"):
                yield Static(Content(self.text), id="receipt-text")
            yield Button("Vente suivante", id="receipt-done", variant="success")

    def on_mount(self) -> None:
        self.query_one("#receipt-done", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_done()

    def action_done(self) -> None:
        self.dismiss(True)
