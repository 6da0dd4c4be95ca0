"""The sale screen's menu (F1) as a modal list; its entries are listed in `kiosk.ui.menu`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from kiosk.ui.screens.sale import SaleScreen


@dataclass(frozen=True)
class MenuEntry:
    id: str
    label: str
    run: Callable[[SaleScreen], None]
    hint: str = ""


class MenuScreen(ModalScreen[MenuEntry | None]):
    """Pick an action by arrow keys and Entrée, by its first letter, or by touch."""

    BINDINGS = [Binding("escape", "dismiss_none", "Fermer", id="menu.close")]

    def __init__(self, entries: Sequence[MenuEntry]) -> None:
        super().__init__()
        self.entries = tuple(entries)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="menu"):
            yield Label("Menu", classes="section-title")
            yield OptionList(
                *(
                    Option(f"{entry.label}  ({entry.hint})" if entry.hint else entry.label, id=entry.id)
                    for entry in self.entries
                ),
                id="menu-options",
            )

    def on_mount(self) -> None:
        self.query_one("#menu-options", OptionList).focus()

    @on(OptionList.OptionSelected, "#menu-options")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        entry = next(entry for entry in self.entries if entry.id == event.option.id)
        self.dismiss(entry)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
