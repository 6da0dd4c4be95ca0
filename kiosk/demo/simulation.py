"""`kiosk sim sales`: ring up varied sales through the same checkout service as the UI (demo data only)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from kiosk.after_sale import AfterSale, QuietDevices
from kiosk.common.money import format_eur
from kiosk.sale.basket import Basket, Discount
from kiosk.sale.checkout import CompletedSale, cash_payment
from kiosk.sale.discounts import book_categories
from kiosk.sale.tenders import CARD, CASH, CHEQUE, HOLIDAY, MEAL, MEAL_CARD, VOUCHER, PaymentPlan
from kiosk.staff.service import StaffMember
from kiosk.till import Till


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


def _basket(till: Till, rng: random.Random, articles: list, managers: list[StaffMember]) -> Basket:  # type: ignore[type-arg]
    books = book_categories()
    basket = Basket()
    for _ in range(rng.choice((1, 1, 2, 3, 4, 5, 7))):
        article = rng.choice(articles)
        if article.sold_by_weight:
            qty = Decimal(rng.randint(80, 1500)) / 1000
        else:
            qty = Decimal(rng.choice((1, 1, 1, 2, 3)))
        basket.add_article(article, qty)
    roll = rng.randrange(100)
    if roll < 8:  # a small discount on a line, within what a cashier may give
        line = rng.randrange(len(basket.lines))
        basket.lines[line].discount = Discount(rng.choice(("Date courte", "Fin de série")), percent_bp=500)
    elif roll < 10 and managers and not any(line.category in books for line in basket.lines):
        # a larger one on the ticket, with a manager's PIN (never on books: 5 % at most)
        basket.discount = Discount("Geste commercial", percent_bp=2000, authorised_by=rng.choice(managers))
    return basket


def _pay(till: Till, basket: Basket, rng: random.Random, notes: list[str]) -> tuple[list, int]:  # type: ignore[type-arg]
    """The mix of a small shop's tenders: cash, card, cheques, meal and holiday vouchers, splits, and the
    credit notes issued earlier in the run spent again."""
    total = basket.total
    if notes and rng.randrange(2) == 0:  # a customer back with a credit note
        number = notes.pop(0)
        note = till.checkout.credit_notes.get(number)
        if note is not None and note.balance > 0:
            plan = PaymentPlan(total, meal_eligible=0, meal_max=0)
            plan.add(VOUCHER, min(note.balance, total), number)
            if plan.remaining:
                plan.add(CASH, _cash_given(plan.remaining, rng))
            return plan.tenders, plan.change
    roll = rng.randrange(100)
    plan = PaymentPlan(
        total, meal_eligible=till.checkout.meal_eligible(basket), meal_max=till.checkout.meal_voucher_max
    )
    if roll < 45:
        return cash_payment(total, _cash_given(total, rng))
    if roll < 75:
        plan.add(CARD, total)
    elif roll < 80:
        plan.add(CHEQUE, total)
    elif roll < 91 and plan.meal_room:
        plan.add(MEAL_CARD if roll >= 88 else MEAL, min(plan.meal_room, plan.remaining))
    elif roll < 94:
        plan.add(HOLIDAY, max(1, min(total, rng.choice((1000, 2000)))))
    else:
        plan.add(CARD, max(1, total // 2))
    if plan.remaining:
        plan.add(CASH, _cash_given(plan.remaining, rng))
    return plan.tenders, plan.change


def _refund(
    till: Till, sale: CompletedSale, rng: random.Random, cashier: StaffMember, manager: StaffMember
) -> CompletedSale | None:
    """A customer brings back one line: mostly a credit note, sometimes cash."""
    lines = [line for line in till.refunds.refundable(sale) if line.left_amount > 0]
    if not lines:
        return None
    line = rng.choice(lines)
    qty = line.left_qty if line.weight else Decimal(1)
    tender = VOUCHER if rng.randrange(3) else CASH
    return till.refunds.refund(sale, {line.index: qty}, tender, cashier, manager)


def simulate_sales(
    till: Till, count: int, seed: int = 0, step: timedelta | None = None, park: bool = True
) -> SimSummary:
    """Ring up `count` varied tickets (sales, and a few refunds as credit notes or cash, those credit
    notes spent later); with `step`, a SimClock moves on by that much after each."""
    if not till.is_demo:
        raise NotDemoData(
            "La simulation ne tourne que sur un répertoire de démonstration (kiosk demo init) : "
            "elle écrirait sinon de faux tickets dans un journal fiscal réel."
        )
    rng = random.Random(seed)
    articles = till.catalogue.active_articles()
    cashiers = till.staff.members()
    managers = till.staff.managers()
    summary = SimSummary()
    sold: list[CompletedSale] = []
    notes: list[str] = []
    waiting: list[int] = []  # parked sales, resumed a few customers later
    after_sale = AfterSale(till, QuietDevices().devices())  # no drawer pulse, no paper: a simulation
    programme = till.loyalty.programme()
    members = (
        [c.id for c in till.customers.search("", limit=1000)]
        if programme is not None and programme.state == "active"
        else []
    )
    for _ in range(count):
        cashier = rng.choice(cashiers)
        done = None
        if len(sold) >= 3 and managers and rng.randrange(100) < 5:
            done = _refund(till, rng.choice(sold), rng, cashier, rng.choice(managers))
            if done is not None:
                notes += [number for number, _, _ in done.issued_credit_notes()]
        if done is None:
            basket = None
            if waiting and rng.randrange(3) == 0:  # the customer is back: their parked sale is resumed
                basket, _ = till.parked.resume(cashier, waiting.pop(0))
            if basket is None or basket.is_empty:
                basket = _basket(till, rng, articles, managers)
                if (
                    park and rng.randrange(100) < 4
                ):  # forgot something: this sale waits, the next customer is served
                    waiting.append(till.parked.park(cashier, basket, f"Client {len(waiting) + 1}").id)
                    basket = _basket(till, rng, articles, managers)
            tenders, change = _pay(till, basket, rng, notes)
            done = till.checkout.complete(basket, tenders, change, cashier)
            sold.append(done)
            member = rng.choice(members) if members and rng.randrange(10) < 3 else None  # a loyalty member
            after_sale.settle(done, customer_id=member)
            notes += [number for number, _, _ in done.issued_credit_notes()]  # the rest of a credit note
        summary.tickets += 1
        summary.total += done.total
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
        # No parked sales here: parking is journaled (JET), and these days are earlier than the JET of
        # the demo's creation.
        part = simulate_sales(till, n, seed=seed * 100_003 + index, step=step, park=False)
        total.tickets += part.tickets
        total.total += part.total
    return total
