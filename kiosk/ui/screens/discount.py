"""Discounts from the sale screen's menu: on the chosen line or the whole ticket (% or €, with a reason),
and price overrides. Above the threshold, or to change a price, a manager types their PIN; the basket's
rules (kiosk.sale.discounts) refuse anything else."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from kiosk.common.money import AmountError, format_eur, parse_amount
from kiosk.sale.basket import BasketError
from kiosk.sale.discounts import (
    DiscountError,
    make_discount,
    over_threshold,
    override_price,
    set_line_discount,
    set_ticket_discount,
    with_authoriser,
)
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.dialogs.code import CodeDialog

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen

REMOVE = ("", True, "")  # the dialog's answer for « Sans remise »


class DiscountDialog(ModalScreen[tuple[str, bool, str] | None]):
    """The discount typed: « 10 » or « 10 % » (percent), « 2,50 € » (amount), and its reason."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Annuler", id="discount.cancel", tooltip="Renoncer")]
    REASONS = ("Fin de série", "Article abîmé", "Date courte", "Geste commercial")

    def __init__(self, title: str, base: int):
        super().__init__()
        self.title_text = title
        self.base = base
        self.percent = True

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="discount"):
            yield Label(Content(f"{self.title_text} ({format_eur(self.base)})"), classes="section-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("%", id="discount-percent", classes="discount-mode")
                yield Button("€", id="discount-euro", classes="discount-mode")
                yield Input(placeholder="10 %  ou  2,50 €", id="discount-value", restrict=r"[0-9.,€% ]*")
            yield Input(placeholder="Motif de la remise", id="discount-reason", max_length=40)
            with Horizontal(classes="dialog-buttons"):
                for index, reason in enumerate(self.REASONS):
                    yield Button(reason, id=f"discount-reason-{index}", classes="discount-reason")
            yield Static("", id="discount-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="discount-ok", variant="success")
                yield Button("Sans remise", id="discount-remove")
                yield Button("Annuler", id="discount-cancel")

    def on_mount(self) -> None:
        self._mode(True)
        self.query_one("#discount-value", Input).focus()

    def _mode(self, percent: bool) -> None:
        self.percent = percent
        self.query_one("#discount-percent").set_class(percent, "-selected")
        self.query_one("#discount-euro").set_class(not percent, "-selected")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "discount-value":
            self.query_one("#discount-reason", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id in ("discount-percent", "discount-euro"):
            self._mode(button_id == "discount-percent")
            self.query_one("#discount-value", Input).focus()
        elif button_id.startswith("discount-reason-"):
            self.query_one("#discount-reason", Input).value = str(event.button.label)
            self._submit()
        elif button_id == "discount-ok":
            self._submit()
        elif button_id == "discount-remove":
            self.dismiss(REMOVE)
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        text = self.query_one("#discount-value", Input).value.strip()
        percent = self.percent
        if text.endswith("%"):
            text, percent = text[:-1], True
        elif text.endswith("€"):
            text, percent = text[:-1], False
        reason = self.query_one("#discount-reason", Input).value
        try:
            make_discount(text, percent=percent, reason=reason)
        except DiscountError as exc:
            self.query_one("#discount-error", Static).update(Content(str(exc)))
            self.app.bell()
            return
        self.dismiss((text, percent, reason))


def _kiosk(screen: SaleScreen) -> KioskApp:
    return cast("KioskApp", screen.app)


def _after(screen: SaleScreen, text: str) -> None:
    screen.refresh_basket()
    screen.say(text)


def discount_line(screen: SaleScreen) -> None:
    index = screen._selected()
    if index is None:
        return
    line = screen.basket.lines[index]

    def chosen(answer: tuple[str, bool, str] | None) -> None:
        if answer is not None:
            _apply(screen, answer, index)

    screen.app.push_screen(DiscountDialog(f"Remise sur {line.label}", line.gross), chosen)


def discount_ticket(screen: SaleScreen) -> None:
    if screen.basket.is_empty:
        screen.say("Le panier est vide : ajoutez un article avant la remise.", error=True)
        return

    def chosen(answer: tuple[str, bool, str] | None) -> None:
        if answer is not None:
            _apply(screen, answer, None)

    screen.app.push_screen(DiscountDialog("Remise sur le ticket", screen.basket.subtotal), chosen)


def _apply(
    screen: SaleScreen, answer: tuple[str, bool, str], index: int | None, manager: StaffMember | None = None
) -> None:
    """Apply the discount; above the threshold, ask a manager's PIN and apply it again with them."""
    max_percent = _kiosk(screen).till.checkout.max_discount_percent
    basket = screen.basket
    try:
        if answer == REMOVE:
            if index is None:
                set_ticket_discount(basket, None, max_percent)
            else:
                set_line_discount(basket, index, None, max_percent)
            _after(screen, "Remise retirée.")
            return
        text, percent, reason = answer
        discount = with_authoriser(make_discount(text, percent=percent, reason=reason), manager)
        base = basket.subtotal if index is None else basket.lines[index].gross
        if manager is None and over_threshold(discount, base, max_percent):
            _ask_manager(screen, answer, index, max_percent)
            return
        if index is None:
            set_ticket_discount(basket, discount, max_percent)
        else:
            set_line_discount(basket, index, discount, max_percent)
    except (DiscountError, BasketError, PermissionDenied, IndexError) as exc:
        screen.say(str(exc), error=True)
        return
    by = f", accordée par {manager.name}" if manager else ""
    _after(screen, f"Remise {discount.describe()} ({discount.reason}){by}. Total {format_eur(basket.total)}")


def _ask_manager(
    screen: SaleScreen, answer: tuple[str, bool, str], index: int | None, max_percent: int
) -> None:
    def authorised(manager: StaffMember | None) -> None:
        if manager is not None:
            _apply(screen, answer, index, manager)

    screen.app.push_screen(
        ManagerPinDialog(
            _kiosk(screen).till.staff,
            "Remise",
            note=f"Remise au-delà de {max_percent} % : le code d'un responsable est nécessaire.",
        ),
        authorised,
    )


def change_price(screen: SaleScreen) -> None:
    index = screen._selected()
    if index is None:
        return
    line = screen.basket.lines[index]

    def resolve(text: str) -> int:
        try:
            return parse_amount(text, allow_zero=False)
        except AmountError as exc:
            raise ValueError(str(exc)) from None

    def priced(unit: int | None) -> None:
        if unit is None:
            return

        def authorised(manager: StaffMember | None) -> None:
            if manager is None:
                return
            try:
                override_price(screen.basket, index, unit, manager)
            except (DiscountError, BasketError, PermissionDenied) as exc:
                screen.say(str(exc), error=True)
                return
            _after(
                screen, f"Prix de {line.label} : {format_eur(unit)}, modifié avec l'accord de {manager.name}."
            )

        screen.app.push_screen(ManagerPinDialog(_kiosk(screen).till.staff, "Modifier le prix"), authorised)

    screen.app.push_screen(
        CodeDialog(
            f"Nouveau prix : {line.label}",
            f"Prix unitaire TTC (actuel {format_eur(line.unit_cents)})",
            resolve,
        ),
        priced,
    )
