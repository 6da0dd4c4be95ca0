"""The sale screen's menu (F1): every action that has no function key of its own.

Each feature registers its entries in `MENU` with the handler that runs it on the sale screen, so adding
an action never means editing the sale screen. The role is what the menu shows as needed; the services
themselves enforce the permissions (the menu is never the only guard).
"""

from __future__ import annotations

from collections.abc import Callable
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


def _printing(screen: SaleScreen) -> None:
    screen.action_printing()


def _no_sale(screen: SaleScreen) -> None:
    screen.action_no_sale()


def _training(screen: SaleScreen) -> None:
    screen.action_training()


MENU: list[MenuEntry] = [
    MenuEntry("printing", "Impressions en attente", _printing, "F7"),
    MenuEntry("drawer", "Ouvrir le tiroir hors vente", _no_sale, "responsable"),
    MenuEntry("training", "Mode formation", _training, "responsable"),
]


class MenuScreen(ModalScreen[MenuEntry | None]):
    """Pick an action by arrow keys and Entrée, by its first letter, or by touch."""

    BINDINGS = [Binding("escape", "dismiss_none", "Fermer", id="menu.close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="menu"):
            yield Label("Menu", classes="section-title")
            yield OptionList(
                *(
                    Option(f"{entry.label}  ({entry.hint})" if entry.hint else entry.label, id=entry.id)
                    for entry in MENU
                ),
                id="menu-options",
            )

    def on_mount(self) -> None:
        self.query_one("#menu-options", OptionList).focus()

    @on(OptionList.OptionSelected, "#menu-options")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        entry = next(entry for entry in MENU if entry.id == event.option.id)
        self.dismiss(entry)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


# Features register their entries when imported; FIRST then puts the cashier's everyday acts on top.
from kiosk.ui.screens import (  # noqa: E402, F401
    cash,
    catalogue_menu,
    checkout_menu,
    parked,
    staff_admin,
    uplink,
)
from kiosk.ui.screens.customers import open_directory, open_programme, open_stats  # noqa: E402
from kiosk.ui.screens.send_receipt import manual_slip_from_menu, resend_from_menu  # noqa: E402

MENU += [
    MenuEntry("customers", "Clients (annuaire)", open_directory),
    MenuEntry("loyalty", "Programme de fidélité", open_programme, "responsable"),
    MenuEntry("loyalty-stats", "Analyse fidélité", open_stats, "responsable"),
    MenuEntry("resend", "Renvoyer un ticket (e-mail / SMS)", resend_from_menu, "duplicata"),
    MenuEntry("manual-slip", "Ticket manuel (carte étrangère)", manual_slip_from_menu, "carte à piste"),
]
FIRST = (
    "discount-line",
    "discount-ticket",
    "price",
    "park",
    "parked",
    "refund",
    "exchange",
    "customers",
    "resend",
    "switch-user",
)
MENU.sort(key=lambda entry: FIRST.index(entry.id) if entry.id in FIRST else len(FIRST))
