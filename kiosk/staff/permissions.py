"""Who may do what: the seed's permission table (administrateur, gestionnaire, utilisateur).

Services call `require(member, permission)` themselves, so a screen that forgets to ask is never the only
guard. Acts a cashier may do with a manager's PIN (refund, discount above the threshold, drawer outside a
sale...) are checked on the member who typed the PIN.
"""

from __future__ import annotations

from typing import Protocol


class PermissionDenied(PermissionError):
    """The member's role does not allow the act; the message says who can (French)."""


class HasRole(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


CASHIER, MANAGER, ADMIN = "cashier", "manager", "admin"

# permission -> (roles allowed, what the act is called in a refusal)
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "sell": (frozenset({CASHIER, MANAGER, ADMIN}), "vendre"),
    "own_history": (frozenset({CASHIER, MANAGER, ADMIN}), "voir ses propres ventes"),
    "all_history": (frozenset({MANAGER, ADMIN}), "voir les ventes des autres"),
    "refund": (frozenset({MANAGER, ADMIN}), "rembourser ou annuler une vente"),
    "discount_over_threshold": (frozenset({MANAGER, ADMIN}), "accorder une remise au-delà du seuil"),
    "price_override": (frozenset({MANAGER, ADMIN}), "modifier un prix"),
    "drawer_no_sale": (frozenset({MANAGER, ADMIN}), "ouvrir le tiroir hors vente"),
    "cash_control": (frozenset({MANAGER, ADMIN}), "faire des entrées et sorties de caisse"),
    "cash_count": (frozenset({CASHIER, MANAGER, ADMIN}), "déclarer le fond de caisse et compter la caisse"),
    "park": (frozenset({CASHIER, MANAGER, ADMIN}), "mettre une vente en attente"),
    "reports": (frozenset({MANAGER, ADMIN}), "voir les rapports et clôturer"),
    "training": (frozenset({MANAGER, ADMIN}), "passer en mode formation"),
    "catalogue": (frozenset({MANAGER, ADMIN}), "modifier le catalogue"),
    "ticket_settings": (frozenset({MANAGER, ADMIN}), "personnaliser le ticket"),
    "manage_cashiers": (frozenset({MANAGER, ADMIN}), "gérer les utilisateurs"),
    "manage_managers": (frozenset({ADMIN}), "gérer les gestionnaires"),
    "company_settings": (frozenset({ADMIN}), "modifier les coordonnées de l'entreprise ou bancaires"),
    "fiscal_admin": (frozenset({ADMIN}), "administrer les clés et archives fiscales"),
    "loyalty_settings": (frozenset({MANAGER, ADMIN}), "configurer le programme de fidélité"),
    "customers_rgpd": (frozenset({MANAGER, ADMIN}), "exporter ou effacer les données d'un client"),
}

_WHO = {
    frozenset({MANAGER, ADMIN}): "un gestionnaire ou un administrateur",
    frozenset({ADMIN}): "un administrateur",
}


def allowed(member: HasRole, permission: str) -> bool:
    roles, _ = PERMISSIONS[permission]
    return member.role in roles


def require(member: HasRole, permission: str) -> None:
    """Raise PermissionDenied (French) unless `member`'s role grants `permission`."""
    roles, act = PERMISSIONS[permission]
    if member.role not in roles:
        who = _WHO.get(roles, "un autre profil")
        raise PermissionDenied(f"{member.name} ne peut pas {act} : seul {who} le peut.")
