"""Discounts on a line or on the whole ticket, and price overrides, with their rules.

A discount has a reason. Above `discounts.max_percent_without_manager` % of what it applies to, it needs
the PIN of a member allowed "discount_over_threshold"; a price override always needs "price_override".
The checkout service checks the basket again before signing (`check_basket`), so no screen can skip it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from kiosk.common.money import AmountError, format_eur, parse_amount, round_half_up
from kiosk.sale.basket import Basket, BasketError, Discount
from kiosk.staff.permissions import PermissionDenied, require
from kiosk.staff.service import StaffMember
from kiosk.store.models import category_keys_flagged

BOOK_MAX_PERCENT = 5  # prix unique du livre (loi Lang): at most 5 % off the publisher's price


class DiscountError(ValueError):
    """A discount refused; the message is for the cashier (French)."""


def make_discount(text: str, *, percent: bool, reason: str) -> Discount:
    """A discount typed by the cashier: « 10 » or « 12,5 » (%), « 2,50 » (€), with its reason."""
    reason = reason.strip()
    if not reason:
        raise DiscountError("Indiquez le motif de la remise (par exemple « fin de série »).")
    try:
        value = parse_amount(text, allow_zero=False)
    except AmountError as exc:
        raise DiscountError(str(exc)) from None
    if percent:
        if value >= 10000:
            raise DiscountError("Remise de 100 % ou plus refusée : saisissez un pourcentage plus petit.")
        return Discount(reason=reason[:40], percent_bp=value)
    return Discount(reason=reason[:40], cents=value)


def over_threshold(discount: Discount, base: int, max_percent: int) -> bool:
    return discount.amount_on(base) * 100 > base * max_percent


def _authorised(discount: Discount, base: int, max_percent: int) -> None:
    if not over_threshold(discount, base, max_percent):
        return
    if discount.authorised_by is None:
        raise PermissionDenied(
            f"Remise au-delà de {max_percent} % : le code d'un responsable est nécessaire."
        )
    require(discount.authorised_by, "discount_over_threshold")


def _checked(discount: Discount, base: int, max_percent: int) -> None:
    if base <= 0:
        raise DiscountError("Rien à remiser : la ligne ou le ticket est à 0,00 €.")
    if not discount.percent_bp and discount.cents >= base:
        raise DiscountError(
            f"La remise ({format_eur(discount.cents)}) doit être inférieure au montant ({format_eur(base)})."
        )
    _authorised(discount, base, max_percent)


def book_categories() -> frozenset[str]:
    return category_keys_flagged("book")


def check_books(basket: Basket) -> None:
    """Books (categories flagged `book`) never get more than 5 % off, line and ticket discounts together."""
    books = book_categories()
    for line, share in zip(basket.lines, basket.discount_shares(), strict=True):
        allowed = round_half_up(Decimal(line.gross * BOOK_MAX_PERCENT) / 100)  # rounded as discounts are
        if line.category in books and line.discount_cents + share > allowed:
            raise DiscountError(
                f"{line.label} : prix unique du livre, {BOOK_MAX_PERCENT} % de remise au plus. "
                "Réduisez la remise."
            )


def set_line_discount(basket: Basket, index: int, discount: Discount | None, max_percent: int) -> None:
    """Apply (or with None remove) a line's discount; refused with nothing changed."""
    if not 0 <= index < len(basket.lines):
        raise BasketError("Choisissez d'abord une ligne du panier.")
    line = basket.lines[index]
    if discount is not None:
        _checked(discount, line.gross, max_percent)
    before = line.discount
    line.discount = discount
    try:
        check_books(basket)
    except DiscountError:
        line.discount = before
        raise
    if basket.discount is not None and basket.subtotal <= 0:
        basket.discount = None


def set_ticket_discount(basket: Basket, discount: Discount | None, max_percent: int) -> None:
    if discount is not None:
        if basket.is_empty:
            raise DiscountError("Le panier est vide : ajoutez un article avant la remise.")
        _checked(discount, basket.subtotal, max_percent)
    before = basket.discount
    basket.discount = discount
    try:
        check_books(basket)
    except DiscountError:
        basket.discount = before
        raise


def override_price(basket: Basket, index: int, unit_cents: int, authoriser: StaffMember | None) -> None:
    """A new unit price for a line, allowed by a member with "price_override" (a manager's PIN)."""
    if not 0 <= index < len(basket.lines):
        raise BasketError("Choisissez d'abord une ligne du panier.")
    if authoriser is None:
        raise PermissionDenied("Modifier un prix demande le code d'un responsable.")
    require(authoriser, "price_override")
    if unit_cents <= 0:
        raise DiscountError("Le nouveau prix doit être supérieur à 0,00 €.")
    line = basket.lines[index]
    original = line.original_unit_cents if line.original_unit_cents is not None else line.unit_cents
    if unit_cents == original:
        line.unit_cents, line.original_unit_cents, line.override_by = original, None, None
    else:
        line.unit_cents, line.original_unit_cents, line.override_by = unit_cents, original, authoriser
    if line.discount is not None:  # the discount stays within the rules on the new price
        try:
            _checked(line.discount, line.gross, 100)
        except DiscountError:
            line.discount = None


def check_basket(basket: Basket, max_percent: int) -> None:
    """Every discount and override of the basket still allowed (run by the checkout before signing)."""
    for line in basket.lines:
        if line.original_unit_cents is not None:
            if line.override_by is None:
                raise PermissionDenied(
                    "Prix modifié sans l'accord d'un responsable : refaites la modification."
                )
            require(line.override_by, "price_override")
        if line.discount is not None:
            _authorised(line.discount, line.gross, max_percent)
    if basket.discount is not None:
        _authorised(basket.discount, basket.subtotal, max_percent)
    check_books(basket)


def with_authoriser(discount: Discount, member: StaffMember | None) -> Discount:
    return replace(discount, authorised_by=member)
