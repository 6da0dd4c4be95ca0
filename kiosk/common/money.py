"""Exact money: integer cents everywhere, Decimal only for quantities; never float.

French receipts show prices TTC; VAT is computed per rate on the rate's total TTC
(HT = TTC / (1 + rate), rounded half up to the cent; TVA = TTC - HT), which is how
the per-rate table of a French receipt adds up exactly to the total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
_AMOUNT_RE = re.compile(r"^(?P<sign>-)?(?P<units>\d{1,7})(?:[.,](?P<dec>\d{1,2}))?$")
MAX_AMOUNT_CENTS = 10_000_000  # 100 000,00 €: beyond that a till amount is a typing error


class AmountError(ValueError):
    """A typed amount that cannot be read; the message is for the cashier, in French."""


def parse_amount(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> int:
    """Read an amount typed by a cashier ("12,50", "12.5", "12 €", "1 234,56") into cents."""
    cleaned = text.strip().replace("€", "").replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    match = _AMOUNT_RE.match(cleaned)
    if not match:
        raise AmountError(f"Montant invalide : « {text.strip()} ». Saisissez un montant comme 12,50.")
    cents = int(match["units"]) * 100 + int((match["dec"] or "0").ljust(2, "0"))
    if match["sign"]:
        if not allow_negative:
            raise AmountError("Montant négatif refusé : saisissez un montant positif.")
        cents = -cents
    if cents == 0 and not allow_zero:
        raise AmountError("Le montant doit être supérieur à 0,00 €.")
    if abs(cents) > MAX_AMOUNT_CENTS:
        raise AmountError(f"Montant trop élevé ({format_eur(cents)}) : vérifiez la saisie.")
    return cents


def format_eur(cents: int, *, symbol: bool = True) -> str:
    """12,50 € / -3,00 € / 1 234,56 € (plain spaces so any printer code page can print them)."""
    sign = "-" if cents < 0 else ""
    units, dec = divmod(abs(cents), 100)
    grouped = f"{units:,}".replace(",", " ")
    text = f"{sign}{grouped},{dec:02d}"
    return f"{text} €" if symbol else text


def format_rate(rate_bp: int) -> str:
    """VAT rate in basis points → '5,5 %', '20 %', '2,1 %'."""
    units, dec = divmod(rate_bp, 100)
    if dec == 0:
        return f"{units} %"
    return f"{units},{str(dec).rjust(2, '0').rstrip('0')} %"


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_total(unit_cents: int, qty: Decimal) -> int:
    """Quantity × unit price, rounded half up to the cent (weights have 3 decimals)."""
    whole = int(qty)
    if whole == qty:  # a count of pieces: exact in integers (the basket asks this many times a sale)
        return unit_cents * whole
    return round_half_up(Decimal(unit_cents) * qty)


def parse_quantity(text: str, *, allow_decimal: bool) -> Decimal:
    cleaned = text.strip().replace(",", ".")
    try:
        qty = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(f"Quantité invalide : « {text.strip()} ». Saisissez un nombre comme 2.") from None
    if not qty.is_finite() or qty <= 0:
        raise AmountError("La quantité doit être supérieure à zéro.")
    if qty > 9999:
        raise AmountError(f"Quantité trop élevée ({text.strip()}) : vérifiez la saisie.")
    if not allow_decimal and qty != qty.to_integral_value():
        raise AmountError("Cet article se vend à l'unité : saisissez une quantité entière.")
    if qty.as_tuple().exponent < -3:  # type: ignore[operator]
        raise AmountError("Trois décimales au plus pour une quantité.")
    return qty.normalize() if qty == qty.to_integral_value() else qty


def format_qty(qty: Decimal) -> str:
    if qty == qty.to_integral_value():
        return str(int(qty))
    return format(qty.normalize(), "f").replace(".", ",")


@dataclass(frozen=True)
class VatLine:
    rate_bp: int
    ht: int
    tva: int
    ttc: int


def vat_breakdown(ttc_by_rate: dict[int, int]) -> list[VatLine]:
    """Per-rate HT/TVA/TTC from the rate's total TTC; the TTC column adds up to the total exactly."""
    lines = []
    for rate_bp in sorted(ttc_by_rate):
        ttc = ttc_by_rate[rate_bp]
        ht = round_half_up(Decimal(ttc) * 10000 / (10000 + rate_bp))
        lines.append(VatLine(rate_bp=rate_bp, ht=ht, tva=ttc - ht, ttc=ttc))
    return lines
