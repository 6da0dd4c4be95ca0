"""« Mise en attente »: park the basket (with a name, or added to a parked sale), resume from the list."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from fiscal.journal import FiscalError
from kiosk.common.money import format_eur
from kiosk.sale.basket import Basket
from kiosk.sale.parked import ParkedTicket, ParkError
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen


def _describe(ticket: ParkedTicket) -> str:
    return (
        f"{ticket.title} — {format_eur(ticket.total)} — {ticket.line_count} ligne(s) — "
        f"{ticket.cashier} {ticket.created:%d/%m %H:%M}"
    )


class ParkDialog(ModalScreen[tuple[str, int | None] | None]):
    """Name the parked sale (optional), or add the basket to a sale already parked."""

    DEFAULT_CSS = "#park-into { height: auto; max-height: 8; }"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Annuler", id="park.cancel", tooltip="Ne rien mettre en attente")
    ]

    def __init__(self, parked: list[ParkedTicket], total: int):
        super().__init__()
        self.parked = parked
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="park"):
            yield Label(f"Mettre en attente ({format_eur(self.total)})", classes="section-title")
            yield Input(placeholder="Nom (facultatif), ex. : Mme Martin", id="park-name", max_length=40)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Mettre en attente", id="park-ok", variant="success")
                yield Button("Annuler", id="park-cancel")
            if self.parked:
                yield Static("Ou ajouter à une vente déjà en attente :")
                yield OptionList(
                    *(Option(Content(_describe(t)), id=str(t.id)) for t in self.parked), id="park-into"
                )

    def on_mount(self) -> None:
        self.query_one("#park-name", Input).focus()

    def on_input_submitted(self) -> None:
        self.dismiss((self.query_one("#park-name", Input).value, None))

    @on(OptionList.OptionSelected, "#park-into")
    def into(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((self.query_one("#park-name", Input).value, int(event.option.id or 0)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "park-ok":
            self.on_input_submitted()
        else:
            self.dismiss(None)


class ParkedListScreen(ModalScreen[int | None]):
    """« Tickets en attente »: pick one by arrows and Entrée, or by touch; abandon one (asked twice)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Fermer", id="parked.close", tooltip="Revenir à la vente"),
        Binding("delete", "abandon", "Abandonner", id="parked.abandon", tooltip="Le client ne revient pas"),
    ]

    def __init__(self, parked: list[ParkedTicket], member: StaffMember):
        super().__init__()
        self.parked = parked
        self.member = member
        self.confirming: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="parked"):
            yield Label("Tickets en attente", classes="section-title")
            yield OptionList(
                *(Option(Content(_describe(t)), id=str(t.id)) for t in self.parked), id="parked-list"
            )
            yield Static("", id="parked-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reprendre", id="parked-resume", variant="success")
                yield Button("Abandonner (Suppr.)", id="parked-abandon", variant="error")
                yield Button("Fermer", id="parked-close")

    def on_mount(self) -> None:
        self.query_one("#parked-list", OptionList).focus()

    def _highlighted(self) -> int | None:
        options = self.query_one("#parked-list", OptionList)
        if options.highlighted is None or options.option_count == 0:
            return None
        return int(options.get_option_at_index(options.highlighted).id or 0)

    @on(OptionList.OptionSelected, "#parked-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_abandon(self) -> None:
        parked_id = self._highlighted()
        message = self.query_one("#parked-message", Static)
        if parked_id is None:
            return
        title = next((t.title for t in self.parked if t.id == parked_id), "")
        if self.confirming != parked_id:
            self.confirming = parked_id
            message.update(Content(f"Abandonner « {title} » ? Appuyez encore sur Abandonner pour confirmer."))
            return
        try:
            cast("KioskApp", self.app).till.parked.abandon(self.member, parked_id)
        except (ParkError, PermissionDenied, FiscalError) as exc:
            message.update(Content(str(exc)))
            return
        self.confirming = None
        options = self.query_one("#parked-list", OptionList)
        options.remove_option(str(parked_id))
        self.parked = [t for t in self.parked if t.id != parked_id]
        message.update(Content(f"Vente « {title} » abandonnée."))
        if not self.parked:
            self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "parked-abandon":
            self.action_abandon()
        elif event.button.id == "parked-resume":
            parked_id = self._highlighted()
            if parked_id is not None:
                self.dismiss(parked_id)
        else:
            self.dismiss(None)


def load_basket(screen: SaleScreen, basket: Basket) -> None:
    """Show `basket` on the sale screen (a resumed sale, or an empty one after parking)."""
    screen.basket = basket
    screen.selected_line = None
    screen.refresh_basket()
    screen.action_focus_code()


def park_current(screen: SaleScreen, name: str = "", into: int | None = None) -> ParkedTicket | None:
    """Park the screen's basket and empty it; None (and the reason said) when refused."""
    try:
        parked = cast("KioskApp", screen.app).till.parked.park(screen.member, screen.basket, name, into)
    except (ParkError, PermissionDenied, FiscalError) as exc:
        screen.say(str(exc), error=True)
        return None
    load_basket(screen, Basket())
    return parked


def park(screen: SaleScreen) -> None:
    """Menu « Mettre en attente »."""
    if screen.basket.is_empty:
        screen.say("Le panier est vide : rien à mettre en attente.", error=True)
        return
    till = cast("KioskApp", screen.app).till

    def chosen(choice: tuple[str, int | None] | None) -> None:
        if choice is None:
            return
        parked = park_current(screen, *choice)
        if parked is not None:
            screen.say(
                f"Vente « {parked.title} » mise en attente ({format_eur(parked.total)}). Client suivant."
            )

    screen.app.push_screen(ParkDialog(till.parked.all(), screen.basket.total), chosen)


def resume(screen: SaleScreen) -> None:
    """Menu « Tickets en attente »: the sale in progress, if any, is parked first (nothing is lost)."""
    till = cast("KioskApp", screen.app).till
    parked = till.parked.all()
    if not parked:
        screen.say("Aucune vente en attente.")
        return

    def chosen(parked_id: int | None) -> None:
        if parked_id is None:
            return
        swapped = None
        if not screen.basket.is_empty:
            swapped = park_current(screen, f"En cours — {screen.member.name}")
            if swapped is None:
                return
        try:
            basket, notes = till.parked.resume(screen.member, parked_id)
        except (ParkError, PermissionDenied, FiscalError) as exc:
            screen.say(str(exc), error=True)
            return
        load_basket(screen, basket)
        for note in notes:
            screen.app.notify(note, severity="warning", timeout=30)
        message = "Vente reprise."
        if notes:
            message = f"Vente reprise avec {len(notes)} changement(s) : {' '.join(notes)}"
        if swapped is not None:
            message += f" La vente en cours est en attente sous « {swapped.title} »."
        screen.say(message, error=bool(notes))

    screen.app.push_screen(ParkedListScreen(parked, screen.member), chosen)
