"""Login: pick a user, type the 6-digit PIN (keyboard or on-screen keypad)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from fiscal.journal import ClockWentBack
from kiosk.staff.service import LoginError
from kiosk.ui.screens.cash import ask_float
from kiosk.ui.widgets.keys import PinInput, TouchKey
from kiosk.ui.workers.pin_check import Answer, check_pin

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class LoginScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "clear_pin", "Effacer", id="login.clear", tooltip="Efface le code saisi"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.selected: int | None = None
        self.checking = False  # a PIN check is running (kiosk.ui.workers.pin_check)

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        with Horizontal(id="login"):
            with Vertical(id="login-users"):
                yield Label("Qui êtes-vous ?", classes="section-title")
                for member in self.kiosk.till.staff.members():
                    yield Button(
                        Content(f"{member.name}\n{member.role_label}"),
                        id=f"user-{member.id}",
                        classes="user-button",
                    )
            with Vertical(id="login-pin"):
                yield Label("Code PIN (6 chiffres)", classes="section-title")
                yield PinInput(id="pin", placeholder="••••••")
                with Grid(id="keypad"):
                    for digit in "123456789":
                        yield TouchKey(digit, id=f"pin-{digit}", classes="key")
                    yield TouchKey("⌫", id="pin-back", classes="key")
                    yield TouchKey("0", id="pin-0", classes="key")
                    yield TouchKey("OK", id="pin-ok", classes="key", variant="success")
                yield Static("", id="login-error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        first = self.query(".user-button").first(Button)
        first.focus()

    def select_user(self, user_id: int) -> None:
        self.selected = user_id
        for button in self.query(".user-button"):
            button.set_class(button.id == f"user-{user_id}", "-selected")
        self.query_one("#pin", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        pin = self.query_one("#pin", Input)
        if button_id.startswith("user-"):
            self.select_user(int(button_id.removeprefix("user-")))
        elif button_id == "pin-back":
            pin.value = pin.value[:-1]
        elif button_id == "pin-ok":
            self.attempt()
        elif button_id.startswith("pin-") and len(pin.value) < 6:
            pin.value += button_id.removeprefix("pin-")
        event.stop()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.attempt()

    def action_clear_pin(self) -> None:
        self.query_one("#pin", Input).value = ""

    def attempt(self) -> None:
        pin = self.query_one("#pin", Input)
        error = self.query_one("#login-error", Static)
        if self.checking:
            return
        if self.selected is None:
            error.update("Choisissez d'abord votre nom.")
            return
        self.checking = True
        error.update("Vérification du code…")
        user_id, typed = self.selected, pin.value
        check_pin(
            self,
            self.kiosk.till.db,
            lambda: self.kiosk.till.staff.authenticate(user_id, typed),
            self.answered,
        )

    def answered(self, result: Answer) -> None:
        self.checking = False
        pin = self.query_one("#pin", Input)
        error = self.query_one("#login-error", Static)
        error.update("")
        if isinstance(result, ClockWentBack):
            self.kiosk.confirm_clock(then=self.attempt)
            return
        if isinstance(result, LoginError):
            error.update(str(result))
            pin.value = ""
            pin.focus()
            return
        member = result
        kiosk = self.kiosk
        kiosk.logged_in(member)
        waiting = len(kiosk.till.parked.all())
        if waiting:
            kiosk.notify(f"{waiting} vente(s) en attente : Menu → Tickets en attente.", timeout=8)
        ask_float(kiosk, member)
