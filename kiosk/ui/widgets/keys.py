"""Widgets shared by several screens."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Input


class TouchKey(Button):
    """A button that takes every tap: Textual's 0.2 s press animation would swallow a quick second tap
    (a PIN digit typed twice, two baguettes touched in a row)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active_effect_duration = 0


class PinInput(Input):
    """A 6-digit PIN field: digits only, masked."""

    def __init__(self, *, id: str, placeholder: str = "PIN"):
        super().__init__(password=True, max_length=6, restrict=r"\d*", id=id, placeholder=placeholder)
