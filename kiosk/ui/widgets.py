"""Widgets shared by several screens."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button


class TouchKey(Button):
    """A button that takes every tap: Textual's 0.2 s press animation would swallow a quick second tap
    (a PIN digit typed twice, two baguettes touched in a row)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active_effect_duration = 0
