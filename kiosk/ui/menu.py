"""The sale screen's menu (F1), in the order the cashier sees it: every action that has no function key
of its own, the everyday acts first. One list, here: adding an action is one line and one handler in
its feature's screen module, never an edit of the sale screen. The hint says who may (or when); the
services themselves enforce the permissions (the menu is never the only guard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.ui.screens import (
    cash,
    catalogue_menu,
    checkout_menu,
    customers,
    discount,
    parked,
    refund,
    send_receipt,
    staff_admin,
    uplink,
)
from kiosk.ui.screens.menu import MenuEntry

if TYPE_CHECKING:
    from kiosk.ui.screens.sale import SaleScreen


def _printing(screen: SaleScreen) -> None:
    screen.action_printing()


def _no_sale(screen: SaleScreen) -> None:
    screen.action_no_sale()


def _training(screen: SaleScreen) -> None:
    screen.action_training()


MENU: tuple[MenuEntry, ...] = (
    # the cashier's everyday acts
    MenuEntry("discount-line", "Remise sur la ligne", discount.discount_line, "responsable au-delà du seuil"),
    MenuEntry(
        "discount-ticket", "Remise sur le ticket", discount.discount_ticket, "responsable au-delà du seuil"
    ),
    MenuEntry("price", "Modifier le prix de la ligne", discount.change_price, "responsable"),
    MenuEntry("park", "Mettre en attente", parked.park, "nommer la vente"),
    MenuEntry("parked", "Tickets en attente", parked.resume, "reprendre une vente"),
    MenuEntry("refund", "Rembourser / annuler un ticket", refund.refund_ticket, "responsable"),
    MenuEntry("exchange", "Échange", refund.exchange_ticket, "responsable"),
    MenuEntry("customers", "Clients (annuaire)", customers.open_directory),
    MenuEntry("resend", "Renvoyer un ticket (e-mail / SMS)", send_receipt.resend_from_menu, "duplicata"),
    MenuEntry(
        "switch-user",
        "Changer d'utilisateur",
        staff_admin.switch_user,
        "la vente en cours est mise en attente",
    ),
    # the till and the drawer
    MenuEntry("printing", "Impressions en attente", _printing, "F7"),
    MenuEntry("drawer", "Ouvrir le tiroir hors vente", _no_sale, "responsable"),
    MenuEntry("training", "Mode formation", _training, "responsable"),
    MenuEntry("float", "Fond de caisse", cash.declare_float, "début de journée"),
    MenuEntry("cash-move", "Entrée / sortie d'espèces", cash.cash_movement, "responsable"),
    MenuEntry("cash-count", "Comptage de caisse", cash.count_cash, "fin de journée"),
    # catalogue and stock
    MenuEntry("product_sheet", "Fiche article", catalogue_menu.product_sheet, "article cherché ou ligne"),
    MenuEntry("stock", "Stock, mouvements et alertes", catalogue_menu.stock, "responsable"),
    MenuEntry("inventory", "Inventaire (comptage)", catalogue_menu.inventory, "responsable"),
    MenuEntry("catalogue", "Catalogue : articles et catégories", catalogue_menu.catalogue, "responsable"),
    MenuEntry(
        "catalogue_file", "Catalogue : import / export Excel", catalogue_menu.catalogue_file, "responsable"
    ),
    MenuEntry("credit-note", "Consulter un avoir", checkout_menu.credit_note_balance),
    # the user
    MenuEntry("history", "Mes ventes", staff_admin.history, "historique du jour"),
    MenuEntry("my-pin", "Changer mon code PIN", staff_admin.change_my_pin),
    MenuEntry("users", "Utilisateurs", staff_admin.users, "responsable"),
    # the shop
    MenuEntry("uplink", "Envoi au portail", uplink.show, "état"),
    MenuEntry("loyalty", "Programme de fidélité", customers.open_programme, "responsable"),
    MenuEntry("loyalty-stats", "Analyse fidélité", customers.open_stats, "responsable"),
    MenuEntry(
        "manual-slip", "Ticket manuel (carte étrangère)", send_receipt.manual_slip_from_menu, "carte à piste"
    ),
)
