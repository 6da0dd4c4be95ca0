"""Parked sales: stored generically, survive a restart, checked against the catalogue on resume."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.sale.basket import Basket
from kiosk.sale.parked import ParkError, dump_lines, load_line
from kiosk.staff.service import StaffMember
from kiosk.store import Article
from kiosk.till import Till


def member(till: Till, name: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.name == name)


def test_lines_round_trip_every_field(till: Till) -> None:
    basket = Basket()
    weighed = next(a for a in till.catalogue.active_articles() if a.sold_by_weight)
    basket.add_article(weighed, Decimal("0.734"))
    basket.add_free_amount("Réparation", 1250, 2000)
    again = [load_line(d) for d in json.loads(dump_lines(basket.lines))]
    assert again == basket.lines
    assert isinstance(again[0].qty, Decimal)


def test_park_and_resume_across_a_restart(till: Till, data_dir: Path) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    articles = [a for a in till.catalogue.active_articles() if not a.sold_by_weight][:3]
    basket = Basket()
    for article in articles:
        basket.add_article(article)
    basket.set_qty(0, Decimal(2))
    parked = till.parked.park(camille, basket, "Mme Martin")
    assert parked.title == "Mme Martin" and parked.total == basket.total
    # meanwhile: the second article is repriced, the third archived
    Article.update(price_cents=articles[1].price_cents + 30).where(Article.id == articles[1].id).execute()
    Article.update(archived=True).where(Article.id == articles[2].id).execute()
    till.db.close()

    again = Till.open(data_dir)
    [listed] = again.parked.all()
    assert listed.name == "Mme Martin" and listed.cashier == "Camille" and listed.line_count == 3
    resumed, notes = again.parked.resume(marc, listed.id)
    assert [(line.label, line.qty) for line in resumed.lines] == [
        (articles[0].name, Decimal(2)),
        (articles[1].name, Decimal(1)),
    ]
    assert resumed.lines[1].unit_cents == articles[1].price_cents + 30
    assert any("nouveau prix" in n and articles[1].name in n for n in notes)
    assert any("n'est plus au catalogue" in n and articles[2].name in n for n in notes)
    assert again.parked.all() == []
    with pytest.raises(ParkError, match="déjà été reprise"):
        again.parked.resume(marc, listed.id)
    codes = [r for (r,) in again.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal = 'JET'")]
    assert "TICKET_PARKED" in codes and "TICKET_RESUMED" in codes
    tickets = again.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal = 'TICKET'").fetchone()
    assert tickets[0] == 0  # parking is not a sale
    again.db.close()


def test_add_to_an_existing_parked_sale(till: Till) -> None:
    camille = member(till, "Camille")
    first, second = [a for a in till.catalogue.active_articles() if not a.sold_by_weight][:2]
    basket = Basket()
    basket.add_article(first)
    parked = till.parked.park(camille, basket, "Table 4")
    more = Basket()
    more.add_article(second)
    till.parked.park(camille, more, into=parked.id)
    resumed, notes = till.parked.resume(camille, parked.id)
    assert [line.label for line in resumed.lines] == [first.name, second.name] and notes == []


def test_empty_basket_is_not_parked(till: Till) -> None:
    with pytest.raises(ParkError, match="vide"):
        till.parked.park(member(till, "Camille"), Basket())


def test_a_price_changed_by_a_manager_survives_parking(till: Till) -> None:
    """A parked line whose price a manager changed keeps it, with its discount, whatever the catalogue
    says on resume; the cashier is told the catalogue moved."""
    from kiosk.sale.basket import Discount
    from kiosk.sale.discounts import override_price, set_line_discount

    camille, marc = member(till, "Camille"), member(till, "Marc")
    article = next(a for a in till.catalogue.active_articles() if not a.sold_by_weight)
    basket = Basket()
    basket.add_article(article, Decimal(2))
    override_price(basket, 0, article.price_cents - 10, marc)
    set_line_discount(basket, 0, Discount(reason="abîmé", cents=5), 10)
    total = basket.total
    parked = till.parked.park(camille, basket, "")
    Article.update(price_cents=article.price_cents + 50).where(Article.id == article.id).execute()
    resumed, notes = till.parked.resume(camille, parked.id)
    line = resumed.lines[0]
    assert line.unit_cents == article.price_cents - 10 and line.override_by == marc
    assert line.discount is not None and line.discount.reason == "abîmé" and resumed.total == total
    assert any("prix modifié par Marc conservé" in n for n in notes)


def test_a_ticket_discount_is_never_lost_by_adding_to_a_parked_sale(till: Till) -> None:
    from kiosk.sale.basket import Discount
    from kiosk.sale.parked import ParkError

    camille = member(till, "Camille")
    first, second = [a for a in till.catalogue.active_articles() if not a.sold_by_weight][:2]
    basket = Basket()
    basket.add_article(first)
    basket.discount = Discount(reason="fidèle", percent_bp=500)
    parked = till.parked.park(camille, basket, "Table 4")
    more = Basket()
    more.add_article(second)
    with pytest.raises(ParkError, match="mettez celle-ci en attente à part"):
        till.parked.park(camille, more, into=parked.id)
    resumed, _ = till.parked.resume(camille, parked.id)
    assert [line.label for line in resumed.lines] == [first.name] and resumed.discount is not None
