"""What a scanned or typed code is: a GTIN, a scale label with a weight or a price, a credit note, or a
shop's own code; check digits are verified here so a misread never reaches the basket.

Scale labels (GS1 variable-measure EAN-13, prefixes 20 to 29) differ from shop to shop, so their layout
is configuration: a 13-character string per prefix, such as "21PPPPPWWWWWC" or "24PPPPPVppppC":

    digits  the prefix (2 or more digits, 20 to 29), always first
    P       article code: the catalogue key of the label's article (one run, 1 digit or more)
    W       weight in grams (read as kg with 3 decimals)      } exactly one of the two, one run
    p       price in cents                                    }
    V       optional GS1 price/weight check digit over a 4- or 5-digit W or p field
    C       the EAN-13 check digit, last

Credit notes printed by the till carry "AV", the credit note number, and one GS1 mod-10 check digit over
that number (`credit_note_code`): "AV" + "000123" + "6"; "av" is read too (a scanner in Caps Lock).

Digit-only codes of 8, 12 or 13 digits are GTINs (EAN-8, UPC-A, EAN-13) and must check: a shop's own
numbers need another length or a letter. Anything else is an internal code, kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from stdnum import ean

PLU_PREFIX = "PLU"  # a scale's article number is stored as barcode "PLU<digits>"

Kind = Literal["ean13", "ean8", "upca", "internal", "variable_weight", "variable_price", "credit_note"]

CREDIT_NOTE_PREFIX = "AV"
_INTERNAL = re.compile(r"[0-9A-Za-z\-_.]{1,48}")
_GTIN_KINDS: dict[int, Kind] = {8: "ean8", 12: "upca", 13: "ean13"}


class BarcodeError(ValueError):
    """A code that cannot be used; the message tells the cashier what to do (French)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Parsed:
    """A usable code. `key` is what to look it up by: the GTIN or internal code itself, a scale label's
    article digits (P), or a credit note's number (without its check digit)."""

    kind: Kind
    code: str  # as scanned, without surrounding spaces
    key: str
    weight: Decimal | None = None  # kg, 3 decimals (variable_weight)
    price: int | None = None  # cents (variable_price)

    @property
    def gtin13(self) -> str | None:
        """EAN-8, UPC-A and EAN-13 as 13 digits (zeros in front), so a catalogue can store one form."""
        return self.code.zfill(13) if self.kind in _GTIN_KINDS.values() else None


# GS1 General Specifications 7.9.3: each weighting factor as the product digit it gives for 0 to 9.
_TWO_MINUS = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)
_THREE = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)
_FIVE_PLUS = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)
_FIVE_MINUS = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)
_VALUE_WEIGHTS = {
    4: (_TWO_MINUS, _TWO_MINUS, _THREE, _FIVE_MINUS),
    5: (_FIVE_PLUS, _TWO_MINUS, _FIVE_MINUS, _FIVE_PLUS, _TWO_MINUS),
}


def value_check_digit(value: str) -> str:
    """The GS1 price/weight check digit of a 4- or 5-digit price or weight field."""
    if not value.isdigit() or len(value) not in (4, 5):
        raise ValueError(f"a price/weight check digit is for 4 or 5 digits, not {value!r}")
    total = sum(weight[int(d)] for weight, d in zip(_VALUE_WEIGHTS[len(value)], value, strict=True))
    if len(value) == 4:
        return str(total * 3 % 10)
    return str(_FIVE_MINUS.index(-total % 10))  # the digit whose 5- product completes a multiple of 10


@dataclass(frozen=True)
class VariableLayout:
    """One prefix's scale-label layout, checked once (`parse`) and then applied to codes."""

    pattern: str
    prefix: str
    article: slice
    value: slice
    measure: Literal["weight", "price"]
    value_check: int | None

    @classmethod
    def parse(cls, pattern: str) -> VariableLayout:
        def bad(problem: str) -> ValueError:
            return ValueError(f"Format d'étiquette à poids/prix variable {pattern!r} : {problem}.")

        if not isinstance(pattern, str):
            raise ValueError(
                f'Format d\'étiquette à poids/prix variable : une chaîne comme "21PPPPPWWWWWC" est attendue, '
                f"pas {pattern!r}."
            )
        if len(pattern) != 13:
            raise bad(f"{len(pattern)} caractères au lieu des 13 d'un EAN-13")
        prefix = pattern[: len(pattern) - len(pattern.lstrip("0123456789"))]
        if len(prefix) < 2 or not prefix.startswith("2"):
            raise bad("il doit commencer par un préfixe GS1 de 20 à 29 (deux chiffres ou plus)")
        body = pattern[len(prefix) :]
        for char in body:
            if char not in "PWpVC":
                raise bad(
                    f"« {char} » inconnu après le préfixe (P article, W poids en grammes, p prix en centimes, "
                    "V clé du poids ou du prix, C clé EAN)"
                )
        if body.count("C") != 1 or not body.endswith("C"):
            raise bad("la clé EAN « C » doit être le dernier caractère, une seule fois")
        runs = {char: _run(pattern, char) for char in "PWp"}
        for char, run in runs.items():
            if run is None and char in pattern:
                raise bad(f"les « {char} » doivent se suivre")
        article = runs["P"]
        if article is None:
            raise bad("aucun chiffre d'article « P »")
        weight, price = runs["W"], runs["p"]
        if (weight is None) == (price is None):
            raise bad("il faut soit un poids « W », soit un prix « p » (pas les deux)")
        value = weight if weight is not None else price
        assert value is not None
        value_check = None
        if "V" in body:
            if body.count("V") != 1:
                raise bad("une seule clé de poids ou de prix « V »")
            if value.stop - value.start not in (4, 5):
                raise bad("la clé « V » ne s'applique qu'à un poids ou un prix de 4 ou 5 chiffres")
            value_check = pattern.index("V")
        return cls(pattern, prefix, article, value, "price" if weight is None else "weight", value_check)

    def read(self, code: str) -> Parsed:
        """A 13-digit code with this prefix and a right EAN check digit."""
        value = code[self.value]
        if self.value_check is not None and value_check_digit(value) != code[self.value_check]:
            what = "du poids" if self.measure == "weight" else "du prix"
            raise BarcodeError(
                f"Étiquette {code} mal lue (clé {what} fausse) : scannez de nouveau ou tapez le code."
            )
        key = code[self.article]
        if self.measure == "weight":
            return Parsed("variable_weight", code, key, weight=Decimal(int(value)).scaleb(-3))
        return Parsed("variable_price", code, key, price=int(value))


def _run(pattern: str, char: str) -> slice | None:
    """Where `char` sits in `pattern` as one unbroken run; None if absent or broken."""
    start = pattern.find(char)
    if start < 0:
        return None
    stop = start + pattern.count(char)
    return slice(start, stop) if pattern[start:stop] == char * (stop - start) else None


def compile_layouts(layouts: Iterable[str | VariableLayout]) -> tuple[VariableLayout, ...]:
    """Check every layout string, and that no two prefixes could claim the same code."""
    if isinstance(layouts, str):
        raise ValueError(f"Formats d'étiquettes : une liste est attendue, pas la chaîne {layouts!r}.")
    compiled = tuple(
        layout if isinstance(layout, VariableLayout) else VariableLayout.parse(layout) for layout in layouts
    )
    for i, first in enumerate(compiled):
        for second in compiled[i + 1 :]:
            if first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix):
                raise ValueError(
                    f"Formats d'étiquettes {first.pattern!r} et {second.pattern!r} : "
                    f"les préfixes {first.prefix} et {second.prefix} se recouvrent, gardez-en un seul."
                )
    return compiled


def credit_note_code(number: str) -> str:
    """The code printed on a credit note: "AV", the number, its GS1 mod-10 check digit."""
    if not number.isdigit():
        raise ValueError(f"a credit note number is digits, not {number!r}")
    return CREDIT_NOTE_PREFIX + number + ean.calc_check_digit(number)


def _misread(code: str) -> BarcodeError:
    return BarcodeError(
        f"Code-barres {code} mal lu (clé de contrôle fausse) : scannez de nouveau ou tapez le code."
    )


def parse_barcode(code: str, layouts: Iterable[str | VariableLayout] = ()) -> Parsed:
    """Classify a scanned or typed code and check its check digits; BarcodeError when it cannot be used."""
    variable = compile_layouts(layouts)
    code = code.strip()
    if not code:
        raise BarcodeError("Aucun code saisi : scannez l'article ou tapez son code.")
    prefix, number = code[: len(CREDIT_NOTE_PREFIX)], code[len(CREDIT_NOTE_PREFIX) :]
    if prefix.upper() == CREDIT_NOTE_PREFIX and number.isdigit() and len(number) >= 2:
        if ean.calc_check_digit(number[:-1]) != number[-1]:
            raise BarcodeError(
                f"Avoir {code} mal lu (clé de contrôle fausse) : scannez de nouveau ou tapez le numéro de l'avoir."
            )
        return Parsed("credit_note", code, number[:-1])
    if code.isdigit() and len(code) in _GTIN_KINDS:
        if not ean.is_valid(code):
            raise _misread(code)
        if len(code) == 13:
            for layout in variable:
                if code.startswith(layout.prefix):
                    return layout.read(code)
        return Parsed(_GTIN_KINDS[len(code)], code, code)
    if not _INTERNAL.fullmatch(code):
        raise BarcodeError(f"Code illisible « {code[:20]} » : scannez de nouveau ou tapez le code à la main.")
    return Parsed("internal", code, code)
