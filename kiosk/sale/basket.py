"""The basket being rung up: lines, quantities, totals and the VAT table. Pure Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from kiosk.catalogue.articles import ArticleView
from kiosk.common.money import AmountError, VatLine, line_total, round_half_up, vat_breakdown
from kiosk.staff.service import StaffMember

VAT_RATES_BP = (210, 550, 1000, 2000)


class BasketError(ValueError):
    """A basket operation refused; the message is for the cashier (French)."""


@dataclass(frozen=True)
class Discount:
    """A discount with its reason: `percent_bp` (1000 = 10 %) or a fixed `cents` amount."""

    reason: str
    percent_bp: int = 0
    cents: int = 0
    authorised_by: StaffMember | None = None  # the manager whose PIN allowed it (above the threshold)

    def amount_on(self, base: int) -> int:
        """The discount in cents on `base` cents (never more than the base)."""
        if self.percent_bp:
            return min(base, round_half_up(Decimal(base) * self.percent_bp / 10000))
        return min(base, self.cents)

    def describe(self) -> str:
        if self.percent_bp:
            units, dec = divmod(self.percent_bp, 100)
            text = f"{units}" if not dec else f"{units},{dec:02d}".rstrip("0")
            return f"-{text} %"
        units, dec = divmod(self.cents, 100)
        return f"-{units},{dec:02d} €"


@dataclass
class BasketLine:
    article_id: int | None  # None for a free-amount line (« montant libre »)
    reference: str
    label: str
    unit_cents: int
    qty: Decimal
    vat_bp: int
    sold_by_weight: bool = False
    category: str = ""  # the article's category key ("" for a free amount)
    discount: Discount | None = None
    original_unit_cents: int | None = None  # the catalogue price when the price was overridden
    override_by: StaffMember | None = None

    @property
    def gross(self) -> int:
        """Quantity × unit price, before the line's discount."""
        return line_total(self.unit_cents, self.qty)

    @property
    def discount_cents(self) -> int:
        return self.discount.amount_on(self.gross) if self.discount is not None else 0

    @property
    def amount(self) -> int:
        """The line's amount after its own discount (the ticket discount is shared out on top)."""
        return self.gross - self.discount_cents


@dataclass
class Basket:
    lines: list[BasketLine] = field(default_factory=list)
    discount: Discount | None = None  # on the whole ticket, shared out over the lines
    credit_note: str | None = None  # an exchange's credit note, spent first at payment

    def add_article(
        self, article: ArticleView, qty: Decimal = Decimal(1), unit_cents: int | None = None
    ) -> int:
        """Add an article; scanning a unit article again adds to its line. Returns the line index.

        `unit_cents` is the price a scale label carries for this piece, instead of the catalogue's."""
        unit = article.price_cents if unit_cents is None else unit_cents
        if unit <= 0:
            raise AmountError(
                "Prix nul sur l'étiquette : pesez l'article de nouveau ou saisissez-le à la main."
            )
        by_weight = article.sold_by_weight and unit_cents is None  # a priced label is one piece
        if not by_weight:
            for index, line in enumerate(self.lines):
                if (
                    line.article_id == article.id
                    and line.unit_cents == unit
                    and line.discount is None
                    and line.original_unit_cents is None
                ):
                    self.set_qty(index, line.qty + qty)
                    return index
        self.lines.append(
            BasketLine(
                article_id=article.id,
                reference=article.reference,
                label=article.name,
                unit_cents=unit,
                qty=qty,
                vat_bp=article.vat_bp,
                sold_by_weight=by_weight,
                category=article.category,
            )
        )
        return len(self.lines) - 1

    def add_free_amount(self, label: str, amount_cents: int, vat_bp: int) -> int:
        label = label.strip() or "Montant libre"
        if vat_bp not in VAT_RATES_BP:
            raise BasketError("Taux de TVA inconnu : choisissez 2,1 %, 5,5 %, 10 % ou 20 %.")
        if amount_cents <= 0:
            raise AmountError("Le montant doit être supérieur à 0,00 €.")
        self.lines.append(BasketLine(None, "LIBRE", label[:60], amount_cents, Decimal(1), vat_bp))
        return len(self.lines) - 1

    def _line(self, index: int) -> BasketLine:
        if not 0 <= index < len(self.lines):
            raise BasketError("Choisissez d'abord une ligne du panier.")
        return self.lines[index]

    def set_qty(self, index: int, qty: Decimal) -> None:
        line = self._line(index)
        if qty <= 0:
            raise AmountError("La quantité doit être supérieure à zéro (pour retirer l'article : Supprimer).")
        if not line.sold_by_weight and qty != qty.to_integral_value():
            raise AmountError("Cet article se vend à l'unité : saisissez une quantité entière.")
        if qty > 9999:
            raise AmountError("Quantité trop élevée : vérifiez la saisie.")
        line.qty = qty

    def remove(self, index: int) -> BasketLine:
        self._line(index)
        return self.lines.pop(index)

    def clear(self) -> None:
        self.lines.clear()
        self.discount = None
        self.credit_note = None

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def subtotal(self) -> int:
        """The lines after their own discounts, before the ticket discount."""
        return sum(line.amount for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return self.discount.amount_on(self.subtotal) if self.discount is not None else 0

    def discount_shares(self) -> list[int]:
        """The ticket discount shared out over the lines in proportion to their amounts (exact cents:
        largest remainders first), so that VAT is computed on what each rate was really paid."""
        total_discount = self.discount_cents
        subtotal = self.subtotal
        if not total_discount or not subtotal:
            return [0] * len(self.lines)
        shares = []
        remainders = []
        for index, line in enumerate(self.lines):
            share, rest = divmod(total_discount * line.amount, subtotal)
            shares.append(share)
            remainders.append((-rest, index))
        for _, index in sorted(remainders)[: total_discount - sum(shares)]:
            shares[index] += 1
        return shares

    def final_amounts(self) -> list[int]:
        """Each line's amount once every discount is taken off: what the ticket records."""
        return [line.amount - share for line, share in zip(self.lines, self.discount_shares(), strict=True)]

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_cents

    @property
    def item_count(self) -> Decimal:
        return sum((line.qty if not line.sold_by_weight else Decimal(1) for line in self.lines), Decimal(0))

    def vat_lines(self) -> list[VatLine]:
        by_rate: dict[int, int] = {}
        for line, amount in zip(self.lines, self.final_amounts(), strict=True):
            by_rate[line.vat_bp] = by_rate.get(line.vat_bp, 0) + amount
        return vat_breakdown(by_rate)
