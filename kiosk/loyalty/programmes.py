"""The three loyalty programmes of the seed, as pure rules over a ticket's lines.

1. stamps  — « un article offert pour N achetés »: each eligible unit (a weighed line counts one) earns a
   stamp; N stamps give one eligible article free (a discount of its price at checkout).
2. band    — « cagnotte selon un montant par tranche d'achat »: X € per full band of Y € of eligible lines.
3. percent — « cagnotte en pourcentage des achats »: p % of the eligible lines, rounded down to the cent
   (the customer is never credited a cent the shop did not mean to give).

Eligible: the programme's scope (whole catalogue, some categories or some articles) minus what French law
excludes — tobacco, press and games of chance (category flag `no_loyalty`) and, unless the shop allows
it, alcohol (flag `alcohol`). Books (flag `book`) earn, but a reward spent on them is capped at 5 % of
their price (loi Lang, prix unique du livre).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

KINDS = {
    "stamps": "Un article offert pour N achetés",
    "band": "Cagnotte par tranche d'achat",
    "percent": "Cagnotte en pourcentage des achats",
}
BOOK_CAP_BP = 500  # loi Lang: at most 5 % off a book's price


class ProgrammeError(ValueError):
    """A programme setting refused; the message says what to change (French)."""


@dataclass(frozen=True)
class Line:
    """A ticket or basket line as loyalty sees it."""

    ref: str
    category: str
    flags: frozenset[str]
    amount: int  # cents, TTC after discounts; negative on a return
    units: int  # eligible units for stamps (a weighed line counts one)


@dataclass(frozen=True)
class Rules:
    kind: str
    name: str
    params: dict[str, Any]
    categories: frozenset[str] = frozenset()  # empty: whole catalogue
    articles: frozenset[str] = frozenset()
    valid_from: str = ""
    valid_to: str = ""
    alcohol_earns: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, kind: str, name: str, params_json: str, valid_from: str, valid_to: str) -> Rules:
        params = json.loads(params_json)
        return cls(
            kind=kind,
            name=name,
            params=params,
            categories=frozenset(params.get("categories", [])),
            articles=frozenset(params.get("articles", [])),
            valid_from=valid_from,
            valid_to=valid_to,
        )

    def in_scope(self, line: Line) -> bool:
        if "no_loyalty" in line.flags or ("alcohol" in line.flags and not self.alcohol_earns):
            return False
        if not self.categories and not self.articles:
            return True
        return line.category in self.categories or line.ref in self.articles

    def valid_on(self, day: date) -> bool:
        text = day.isoformat()
        return (not self.valid_from or self.valid_from <= text) and (
            not self.valid_to or text <= self.valid_to
        )

    @property
    def goal(self) -> int:
        """Stamps for a free article, or the kitty amount (cents) that makes it « pleine »."""
        return int(self.params.get("buy" if self.kind == "stamps" else "full_at_cents", 0))


def check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate a programme's parameters; returns them cleaned. Raises ProgrammeError (French)."""

    def positive(key: str, label: str, high: int) -> int:
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= high:
            raise ProgrammeError(f"{label} : un nombre entier de 1 à {high}.")
        return value

    cleaned: dict[str, Any] = {
        "categories": sorted({str(c) for c in params.get("categories", [])}),
        "articles": sorted({str(a) for a in params.get("articles", [])}),
    }
    if kind == "stamps":
        cleaned["buy"] = positive("buy", "Nombre d'articles achetés pour un offert", 100)
    elif kind == "band":
        cleaned["per_cents"] = positive("per_cents", "Tranche d'achat (centimes)", 1_000_00)
        cleaned["credit_cents"] = positive("credit_cents", "Montant crédité par tranche (centimes)", 100_00)
        if cleaned["credit_cents"] >= cleaned["per_cents"]:
            raise ProgrammeError("Le montant crédité doit être inférieur à la tranche d'achat.")
    elif kind == "percent":
        cleaned["rate_bp"] = positive("rate_bp", "Pourcentage (en centièmes de %)", 5000)
    else:
        raise ProgrammeError(f"Programme inconnu {kind!r} : stamps, band ou percent.")
    if kind != "stamps":
        full = params.get("full_at_cents", 0)
        if not isinstance(full, int) or isinstance(full, bool) or full < 0:
            raise ProgrammeError("Cagnotte pleine à : un montant en centimes (0 : jamais).")
        cleaned["full_at_cents"] = full
    return cleaned


@dataclass(frozen=True)
class Earning:
    kitty_cents: int
    stamps: int
    eligible_cents: int


def earn(rules: Rules, lines: list[Line]) -> Earning:
    """What a ticket's lines earn (negative for returned lines: the reversal of what they earned)."""
    eligible = [line for line in lines if rules.in_scope(line)]
    amount = sum(line.amount for line in eligible)
    if rules.kind == "stamps":
        return Earning(0, sum(line.units for line in eligible), amount)
    sign = -1 if amount < 0 else 1
    if rules.kind == "band":
        bands = abs(amount) // int(rules.params["per_cents"])
        return Earning(sign * bands * int(rules.params["credit_cents"]), 0, amount)
    credit = abs(amount) * int(rules.params["rate_bp"]) // 10_000
    return Earning(sign * credit, 0, amount)


@dataclass(frozen=True)
class RewardCap:
    cents: int
    book_capped: bool
    note: str


def reward_cap(rules: Rules, lines: list[Line]) -> RewardCap:
    """The most of a reward this basket may take: nothing on excluded lines, 5 % of the books' price."""
    books = sum(line.amount for line in lines if rules.in_scope(line) and "book" in line.flags)
    others = sum(line.amount for line in lines if rules.in_scope(line) and "book" not in line.flags)
    book_cap = books * BOOK_CAP_BP // 10_000
    note = ""
    if books:
        from kiosk.common.money import format_eur

        note = f"Livres : remise plafonnée à 5 % (loi Lang), soit {format_eur(book_cap)} au plus."
    return RewardCap(max(0, others) + max(0, book_cap), bool(books), note)


def line_units(qty: str, by_weight: bool) -> int:
    if by_weight:
        return 1 if Decimal(qty) > 0 else -1
    return int(Decimal(qty))
