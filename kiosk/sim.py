"""`kiosk sim sales`: ring up varied sales through the same checkout service as the UI (demo data only)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
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


def simulate_sales(till: Till, count: int, seed: int = 0, step: timedelta | None = None) -> SimSummary:
    """Ring up `count` varied cash sales; with `step`, a SimClock moves on by that much after each."""
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
        if step is not None and isinstance(till.clock, SimClock):
            till.clock.now += step
    return summary


class SimClock:
    """A clock the simulation moves; the till's services read it as they read the real one."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def simulate_days(till: Till, count: int, days: int, seed: int = 0) -> SimSummary:
    """Spread `count` sales over the `days` days ending today (simulated clock, shop hours).

    Each new day's first sale closes the previous day (and month, year) as it would in the shop; today's
    sales stop before the real time so that the cashier can go on selling in the demo.
    """
    clock = till.clock
    if not isinstance(clock, SimClock):
        raise TypeError("simulate_days needs a Till built on a SimClock")
    if days < 1 or count < days:
        raise NotDemoData("--days doit être au moins 1, et --count au moins égal à --days.")
    real_now = datetime.now(till.config.timezone)
    today = real_now.date()
    first_day = today - timedelta(days=days - 1)
    head = till.ledger.head(till.db.connection(), "TICKET")
    if head is not None and head.day >= first_day.isoformat():
        raise NotDemoData(
            f"Des tickets existent déjà après le {first_day:%d/%m/%Y} : la simulation sur {days} jours "
            "demande un répertoire de démonstration neuf (kiosk demo init dans un répertoire vide)."
        )
    total = SimSummary()
    tz = till.config.timezone
    for index in range(days):
        day = first_day + timedelta(days=index)
        n = count // days + (1 if index < count % days else 0)
        start = datetime.combine(day, time(8, 0), tz)
        end = datetime.combine(day, time(19, 0), tz)
        if day == today:
            end = min(end, real_now - timedelta(minutes=1))
            start = min(start, datetime.combine(day, time(0, 0), tz))
        clock.now = start
        step = (end - start) / max(n, 1)
        part = simulate_sales(till, n, seed=seed * 100_003 + index, step=step)
        total.tickets += part.tickets
        total.total += part.total
    return total
