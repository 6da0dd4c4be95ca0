"""Tenders: the kinds a customer pays with, their rules, and a payment split between several of them.

Rules (checked by `check_tenders`, which the checkout service runs before signing, whatever the screen):
change is given only from cash; cheque, card, credit note (« avoir »), meal and holiday vouchers never
exceed what is left to pay; meal vouchers (« titres-restaurant », paper or card) pay only for the lines
whose category carries the `meal_voucher` flag (free-amount lines are never eligible), and at most
`tenders.meal_voucher_max` per ticket. The tender kind of a credit note is "voucher" (the accounting
export's « avoirs et bons d'achat » account); its number travels with the tender.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.common.money import MAX_AMOUNT_CENTS, format_eur
from kiosk.sale.basket import Basket
from kiosk.store.models import category_keys_flagged

CASH, CARD, CHEQUE, VOUCHER = "cash", "card", "cheque", "voucher"
MEAL, MEAL_CARD, HOLIDAY = "meal_voucher", "meal_voucher_card", "holiday_voucher"
LOYALTY = "loyalty"  # the customer's loyalty reward (kitty or free article); ref = the customer's id
TENDER_LABELS = {
    CASH: "Espèces",
    CARD: "Carte bancaire",
    CHEQUE: "Chèque",
    VOUCHER: "Avoir",
    MEAL: "Ticket restaurant",
    MEAL_CARD: "Ticket restaurant (carte)",
    HOLIDAY: "Chèques vacances",
    LOYALTY: "Cagnotte fidélité",
}
MEAL_KINDS = frozenset({MEAL, MEAL_CARD})
MAX_CHANGE_CENTS = 50_000  # more than 500,00 € to give back: the amount given was mistyped


class PaymentError(ValueError):
    """A payment refused; the message is for the cashier (French)."""


@dataclass(frozen=True)
class Tender:
    kind: str
    amount: int
    ref: str = ""  # the credit note's number for a "voucher" tender


def meal_voucher_categories() -> frozenset[str]:
    """Keys of the categories whose articles may be paid with meal vouchers."""
    return category_keys_flagged("meal_voucher")


def meal_eligible(basket: Basket, categories: frozenset[str]) -> int:
    """The part of the basket meal vouchers may pay: eligible lines, after every discount."""
    return sum(
        amount
        for line, amount in zip(basket.lines, basket.final_amounts(), strict=True)
        if line.article_id is not None and line.category in categories
    )


def check_tenders(
    total: int, tenders: list[Tender], change: int, *, meal_eligible: int, meal_max: int
) -> None:
    """Raise PaymentError (French) unless the tenders settle `total` by the rules above."""
    if total <= 0:
        raise PaymentError("Le panier est vide : ajoutez un article avant d'encaisser.")
    for tender in tenders:
        if tender.kind not in TENDER_LABELS:
            raise PaymentError(
                f"Moyen de paiement inconnu ({tender.kind}) : choisissez-en un de l'écran de paiement."
            )
        if tender.amount <= 0 or tender.amount > MAX_AMOUNT_CENTS:
            raise PaymentError(f"{TENDER_LABELS[tender.kind]} : montant invalide, saisissez-le de nouveau.")
        if tender.kind == VOUCHER and not tender.ref:
            raise PaymentError("Avoir : scannez ou saisissez le numéro de l'avoir.")
        if tender.kind == LOYALTY and not tender.ref.isdigit():
            raise PaymentError("Cagnotte fidélité : choisissez d'abord le client.")
    cash = sum(t.amount for t in tenders if t.kind == CASH)
    other = sum(t.amount for t in tenders if t.kind != CASH)
    paid = cash + other
    if change < 0 or paid - change != total:
        raise PaymentError("Règlement incomplet : le total réglé ne correspond pas au montant dû.")
    if change > cash or other > total:
        raise PaymentError("Rendu monnaie possible seulement avec un règlement en espèces.")
    if change > MAX_CHANGE_CENTS:
        raise PaymentError(f"Rendu de {format_eur(change)} : le montant remis semble mal saisi. Vérifiez-le.")
    meal = sum(t.amount for t in tenders if t.kind in MEAL_KINDS)
    if meal > meal_eligible:
        raise PaymentError(
            f"Ticket restaurant : seuls les produits alimentaires ({format_eur(meal_eligible)}) peuvent "
            "être réglés ainsi. Complétez avec un autre moyen de paiement."
        )
    if meal > meal_max:
        raise PaymentError(
            f"Ticket restaurant : {format_eur(meal_max)} au plus par ticket. "
            "Complétez avec un autre moyen de paiement."
        )
    refs = [t.ref for t in tenders if t.kind == VOUCHER]
    if len(set(refs)) != len(refs):
        raise PaymentError("Cet avoir est déjà compté dans ce paiement.")
    if sum(1 for t in tenders if t.kind == LOYALTY) > 1:
        raise PaymentError("La récompense fidélité ne s'utilise qu'une fois par ticket.")


class PaymentPlan:
    """The tenders taken so far for one basket: what remains due, the change (cash only)."""

    def __init__(self, total: int, *, meal_eligible: int, meal_max: int):
        self.total = total
        self.meal_eligible = meal_eligible
        self.meal_max = meal_max
        self.tenders: list[Tender] = []

    @property
    def paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.paid)

    @property
    def change(self) -> int:
        return max(0, self.paid - self.total)

    @property
    def settled(self) -> bool:
        return self.paid >= self.total

    @property
    def meal_room(self) -> int:
        """How much more meal vouchers may pay on this ticket."""
        used = sum(t.amount for t in self.tenders if t.kind in MEAL_KINDS)
        return max(0, min(self.meal_eligible, self.meal_max) - used)

    def add(self, kind: str, amount: int, ref: str = "") -> Tender:
        """Take a tender; refused (PaymentError, nothing changes) when the rules forbid it."""
        if self.settled:
            raise PaymentError("Le montant dû est déjà réglé : validez ou retirez un règlement.")
        label = TENDER_LABELS.get(kind, kind)
        if amount <= 0:
            raise PaymentError(f"{label} : le montant doit être supérieur à 0,00 €.")
        if kind != CASH and amount > self.remaining:
            raise PaymentError(
                f"{label} : {format_eur(amount)} dépasse le reste à payer ({format_eur(self.remaining)}). "
                "Pas de rendu sur ce moyen de paiement : saisissez au plus le reste à payer."
            )
        if kind in MEAL_KINDS and amount > self.meal_room:
            raise PaymentError(
                f"Ticket restaurant : {format_eur(self.meal_room)} au plus sur ce ticket (produits "
                "alimentaires seulement). Complétez avec un autre moyen de paiement."
            )
        if kind == VOUCHER and any(t.kind == VOUCHER and t.ref == ref for t in self.tenders):
            raise PaymentError("Cet avoir est déjà compté dans ce paiement.")
        tender = Tender(kind, amount, ref)
        trial = [*self.tenders, tender]
        paid = sum(t.amount for t in trial)
        if paid >= self.total:  # the plan would be complete: every rule must hold
            check_tenders(
                self.total,
                trial,
                paid - self.total,
                meal_eligible=self.meal_eligible,
                meal_max=self.meal_max,
            )
        self.tenders.append(tender)
        return tender

    def remove(self, index: int) -> Tender:
        if not 0 <= index < len(self.tenders):
            raise PaymentError("Choisissez d'abord un règlement de la liste.")
        if self.tenders[index].kind in (CARD, MEAL_CARD):
            raise PaymentError(
                "Paiement carte accepté : il ne peut pas être retiré. Terminez le paiement avec le reste dû."
            )
        return self.tenders.pop(index)
