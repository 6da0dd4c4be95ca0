"""The on-screen numeric keypad: types into one Input, so a touch-only till never gets stuck."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button, Input

from kiosk.ui.widgets.keys import TouchKey


class Keypad(Grid):
    """Two rows of touch keys (digits, back, OK; comma and clear when `decimal`) for the Input `target`."""

    DEFAULT_CSS = """
    Keypad { grid-size: 6 2; grid-gutter: 0 1; height: 6; width: 100%; max-width: 60; }
    Keypad.-decimal { grid-size: 7 2; }
    Keypad TouchKey { width: 100%; height: 3; min-width: 5; }
    """

    class Ok(Message):
        """OK was touched: the form submits."""

    def __init__(self, target: str, *, decimal: bool = False, id: str | None = None):
        super().__init__(id=id, classes="keypad")
        self.target = target
        self.decimal = decimal

    def compose(self) -> ComposeResult:
        prefix = self.id or "keypad"
        first, second = ["1", "2", "3", "4", "5"], ["6", "7", "8", "9", "0"]
        if self.decimal:
            self.add_class("-decimal")
            first.append(",")
            second.append("C")
        for key in [*first, "⌫", *second, "OK"]:
            name = {"⌫": "back", ",": "comma", "OK": "ok", "C": "clear"}.get(key, key)
            touch = TouchKey(key, id=f"{prefix}-{name}", variant="success" if key == "OK" else "default")
            touch.can_focus = False  # the field keeps the focus (and a scanner's keystrokes)
            yield touch

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        field = self.screen.query_one(f"#{self.target}", Input)
        label = str(event.button.label)
        if label == "OK":
            self.post_message(self.Ok())
        elif label == "⌫":
            field.action_delete_left()
        elif label == "C":
            field.value = ""
        else:
            start, end = sorted(field.selection)
            if start != end:  # the value shown on opening is selected: the first key replaces it
                field.replace(label, start, end)
            else:
                field.insert_text_at_cursor(label)
        if not field.has_focus:
            field.focus()
