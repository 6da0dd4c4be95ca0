"""`kiosk sim sales`: ring up varied sales through the same checkout service as the UI (demo data only)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .money import format_eur
from .sale.basket import Basket
from .sale.checkout import cash_payment
from .till import Till


class NotDemoData(Exception):
    pass


@dataclass
class SimSummary:
    tickets: int = 0
    total: int = 0

    def line(self) -> str:
        return f"{self.tickets} tickets, total TTC {format_eur(self.total)}"


def _cash_given(total: int, rng: random.Random) -> int:
    """What a customer hands over: exact, or the next round amount, or a note above."""
    choice = rng.randrange(10)
    if choice < 3:
        return total
    for step in (100, 500, 1000, 2000, 5000, 10000):
        if choice < 6 and total <= step * 5:
            return -(-total // step) * step
    return -(-total // 5000) * 5000


def simulate_sales(till: Till, count: int, seed: int = 0) -> SimSummary:
    if not till.is_demo:
        raise NotDemoData(
            "La simulation ne tourne que sur un répertoire de démonstration (kiosk demo init) : "
            "elle écrirait sinon de faux tickets dans un journal fiscal réel."
        )
    rng = random.Random(seed)
    articles = till.catalogue.active_articles()
    cashiers = till.staff.members()
    summary = SimSummary()
    for _ in range(count):
        basket = Basket()
        for _ in range(rng.choice((1, 1, 2, 3, 4, 5, 7))):
            article = rng.choice(articles)
            if article.sold_by_weight:
                qty = Decimal(rng.randint(80, 1500)) / 1000
            else:
                qty = Decimal(rng.choice((1, 1, 1, 2, 3)))
            basket.add_article(article, qty)
        tenders, change = cash_payment(basket.total, _cash_given(basket.total, rng))
        sale = till.checkout.complete(basket, tenders, change, rng.choice(cashiers))
        summary.tickets += 1
        summary.total += sale.total
    return summary
