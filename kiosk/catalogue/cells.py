"""Reading one value typed by a person (an Excel cell, a form field): decimals with a comma or €, prices,
VAT rates, barcodes that spreadsheets mangled, flags, thresholds; each refusal says in French what to fix."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from stdnum import ean

from kiosk.catalogue.barcode import PLU_PREFIX
from kiosk.catalogue.stock import StockError, to_milli
from kiosk.common.money import format_eur
from kiosk.common.text import fold

VAT_RATES_BP = (210, 550, 1000, 2000)


def norm(text: str) -> str:
    """Lower case, no accents, words separated by one space: how headers and categories are matched."""
    return " ".join(re.findall(r"[a-z0-9%]+", fold(text)))


class CellError(ValueError):
    """One cell that cannot be read: the message says what to fix (French)."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{what} illisible : saisissez un nombre.")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace("€", "").replace("EUR", "").replace("\u00a0", "")
    text = text.replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(
            f"{what} illisible « {str(value).strip()} » : saisissez un nombre comme 12,50."
        ) from None
    if not number.is_finite():
        raise CellError(f"{what} illisible : saisissez un nombre comme 12,50.")
    return number


def read_price(value: Any, what: str = "Prix") -> int:
    """A price cell (12.5, "12,50 €", "1 234,56") → cents, refusing more than 2 decimals."""
    number = read_decimal(value, what)
    cents = number * 100
    if cents != cents.to_integral_value():
        rounded = cents.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if abs(cents - rounded) > Decimal("0.0001"):  # not a float's noise: a third decimal
            raise CellError(f"{what} à plus de deux décimales ({value}) : arrondissez au centime.")
        cents = rounded
    if cents <= 0:
        raise CellError(f"{what} nul ou négatif : saisissez un prix supérieur à 0,00 €.")
    if cents > 10_000_000:
        raise CellError(f"{what} trop élevé ({format_eur(int(cents))}) : vérifiez la saisie.")
    return int(cents)


def read_vat(value: Any) -> int:
    """A VAT cell: 20, "20%", 0.2, "0,2", "20,0 %" → basis points (2000); only French rates."""
    text = str(value).strip()
    percent = text.endswith("%")
    number = read_decimal(text.rstrip("%").strip() if percent else value, "Taux de TVA")
    if not percent and 0 < number < 1:  # a fraction (0,2) or an Excel percent cell (0.055)
        number *= 100
    bp = number * 100
    if bp == bp.to_integral_value() and int(bp) in VAT_RATES_BP:
        return int(bp)
    raise CellError(f"Taux de TVA inconnu « {text} » : saisissez 2,1 %, 5,5 %, 10 % ou 20 %.")


_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+]?\d+$")


def read_barcodes(value: Any) -> list[str]:
    """One or more barcodes (separated by ; or spaces) → EAN-13/EAN-8 codes, or scale PLU codes.

    Numbers lost their leading zeros (restored when the check digit then holds); `3,76012E+12` lost
    digits and is refused."""
    if value is None or value == "":
        return []
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(
                f"Code-barres « {value} » décimal : formatez la colonne en Texte et ressaisissez-le."
            )
        value = int(value)
    text = str(value).strip()
    if _SCIENTIFIC.match(text.replace(" ", "")):
        raise CellError(
            f"Code-barres « {text} » en notation scientifique : Excel a perdu des chiffres ; "
            "formatez la colonne en Texte et ressaisissez le code complet."
        )
    codes = []
    for part in re.split(r"[;|/\s]+", text):
        if not part:
            continue
        if part.upper().startswith(PLU_PREFIX) and part[3:].isdigit():
            codes.append(PLU_PREFIX + part[3:])
            continue
        if not part.isdigit():
            raise CellError(f"Code-barres « {part} » : seulement des chiffres (EAN-13 ou EAN-8).")
        codes.append(_gtin(part))
    return codes


def _gtin(digits: str) -> str:
    if len(digits) > 13:
        raise CellError(f"Code-barres « {digits} » trop long : 13 chiffres au plus (EAN-13).")
    if len(digits) in (8, 13) and ean.is_valid(digits):
        return digits
    padded = digits.zfill(13)  # leading zeros lost by Excel (and UPC-A in its EAN-13 form)
    if ean.is_valid(padded):
        return padded
    if len(digits) < 8 and ean.is_valid(digits.zfill(8)):
        return digits.zfill(8)
    raise CellError(
        f"Code-barres « {digits} » : clé de contrôle fausse (chiffre perdu ou mal saisi) ; "
        "recopiez le code imprimé sous les barres."
    )


_YES = {"oui", "o", "x", "1", "vrai", "true", "yes", "y", "kg"}
_NO = {"", "non", "n", "0", "faux", "false", "no", "unite", "piece"}


def read_flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = norm(cell_text(value))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(f"{what} « {cell_text(value)} » : saisissez oui ou non.")


def read_threshold(value: Any, what: str = "Seuil d'alerte") -> int | None:
    """Alert threshold (or initial stock) → thousandths of a unit (kg for weighed articles); empty: none."""
    if value is None or cell_text(value) == "":
        return None
    number = read_decimal(value, what)
    if number < 0:
        raise CellError(f"{what} négatif : saisissez 0 ou plus, ou laissez vide.")
    if number > 1_000_000:
        raise CellError(f"{what} trop grand : vérifiez la saisie.")
    try:
        return to_milli(number)
    except StockError:
        raise CellError(f"{what} : trois décimales au plus.") from None


# -- the plan -----------------------------------------------------------------------------------


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", norm(name)).strip("-")[:32] or "categorie"
