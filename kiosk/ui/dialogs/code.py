"""A dialog that reads one code, scanned or typed (a credit note, a ticket number), and resolves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

T = TypeVar("T")


class CodeDialog(ModalScreen[T | None], Generic[T]):
    """`resolve` turns the code into the result, or raises ValueError with a French message (shown, the
    dialog stays open). A scanner's code lands here too (`enter_code`)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="code.cancel", tooltip="Renoncer")]

    def __init__(self, title: str, placeholder: str, resolve: Callable[[str], T], note: str = ""):
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.resolve = resolve
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="code-dialog"):
            yield Label(Content(self.title_text), classes="section-title")
            if self.note:
                yield Static(Content(self.note), id="code-note")
            yield Input(placeholder=self.placeholder, id="code-input")
            yield Static("", id="code-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="code-ok", variant="success")
                yield Button("Annuler", id="code-cancel")

    def on_mount(self) -> None:
        self.query_one("#code-input", Input).focus()

    def on_input_submitted(self) -> None:
        self.enter_code(self.query_one("#code-input", Input).value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "code-ok":
            self.enter_code(self.query_one("#code-input", Input).value)
        else:
            self.dismiss(None)

    def enter_code(self, code: str) -> None:
        try:
            result = self.resolve(code)
        except ValueError as exc:
            self.query_one("#code-error", Static).update(Content(str(exc)))
            self.app.bell()
            return
        self.dismiss(result)
