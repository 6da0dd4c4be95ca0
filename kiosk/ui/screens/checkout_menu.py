"""The checkout's entries in the sale screen's menu (F1): discounts, price override, refund, exchange."""

from __future__ import annotations

from .discount import change_price, discount_line, discount_ticket
from .menu import MENU, MenuEntry
from .refund import exchange_ticket, refund_ticket

MENU.extend(
    [
        MenuEntry("discount-line", "Remise sur la ligne", discount_line, "responsable au-delà du seuil"),
        MenuEntry("discount-ticket", "Remise sur le ticket", discount_ticket, "responsable au-delà du seuil"),
        MenuEntry("price", "Modifier le prix de la ligne", change_price, "responsable"),
        MenuEntry("refund", "Rembourser / annuler un ticket", refund_ticket, "responsable"),
        MenuEntry("exchange", "Échange", exchange_ticket, "responsable"),
    ]
)
