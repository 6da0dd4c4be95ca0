"""The after-sale service: what a signed ticket sets off (drawer, display, credit notes, loyalty,
receipt, duplicates), the same for the screen, the command line and the simulation."""

from __future__ import annotations

import pytest

from kiosk.after_sale import AfterSale, Devices, LoyaltyRefused, QuietDevices
from kiosk.demo.simulation import simulate_sales
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, Tender, cash_payment
from kiosk.till import Till
from tests.support.ui import drawer_pulses


def _sell(till: Till, card: bool = False) -> CompletedSale:
    articles = [a for a in till.catalogue.active_articles() if not a.sold_by_weight]
    basket = Basket()
    basket.add_article(articles[0])
    member = till.staff.members()[0]
    if card:
        return till.checkout.complete(basket, [Tender("card", basket.total)], 0, member)
    tenders, change = cash_payment(basket.total, basket.total + 1000)
    return till.checkout.complete(basket, tenders, change, member)


def test_a_cash_sale_opens_the_drawer_and_shows_the_change(till: Till) -> None:
    said: list[str] = []
    after = AfterSale(till, Devices.inline(till, say=said.append))
    sale = _sell(till)
    before = drawer_pulses(till)
    assert after.settle(sale) is None  # nobody to attach
    assert drawer_pulses(till) == before + 1
    assert "10,00" in " ".join(till.display.lines)  # type: ignore[attr-defined]
    assert said == []


def test_a_card_sale_leaves_the_drawer_shut_and_the_card_recognises_its_customer(till: Till) -> None:
    after = AfterSale(till, Devices.inline(till))
    customer = till.customers.create("0612345678", first_name="Léa", last_name="Martin", consent=True)
    first = _sell(till, card=True)
    attached = after.attach(first, customer.id, card_pan="497010******1234")
    assert "Léa" in attached.said and "•••• 1234 liée" in attached.said
    before = drawer_pulses(till)
    again = after.settle(_sell(till, card=True), card_pan="497010******1234")
    assert drawer_pulses(till) == before  # nothing to give back: the drawer stays shut
    assert again is not None and again.recognised and again.customer_id == customer.id


def test_attaching_twice_is_refused_in_french(till: Till) -> None:
    after = AfterSale(till, Devices.inline(till))
    customer = till.customers.create("0612345679", first_name="Jo", consent=True)
    sale = _sell(till)
    after.attach(sale, customer.id)
    with pytest.raises(LoyaltyRefused, match="déjà"):
        after.attach(sale, customer.id)


def test_receipt_and_duplicate_go_through_the_print_queue(till: Till) -> None:
    after = AfterSale(till, Devices.inline(till))
    sale = _sell(till)
    printer = till.printer
    jobs = printer.jobs  # type: ignore[attr-defined]
    text = after.print_receipt(sale)
    assert sale.number in text and printer.jobs == jobs + 1  # type: ignore[attr-defined]
    copy = after.reprint(int(sale.number.rsplit("-", 1)[1]), "Marc")
    assert "DUPLICATA n°1" in copy and printer.jobs == jobs + 2  # type: ignore[attr-defined]
    assert "DUPLICATA n°2" in after.reprint(int(sale.number.rsplit("-", 1)[1]), "Marc")
    assert till.print_queue.state().pending == 0


def test_the_simulation_neither_prints_nor_opens_the_drawer(till: Till) -> None:
    quiet = QuietDevices()
    before = drawer_pulses(till)
    AfterSale(till, quiet.devices()).settle(_sell(till))
    simulate_sales(till, 30, seed=3)
    assert drawer_pulses(till) == before
    assert quiet.drawer_pulses == 1
    assert till.print_queue.state().pending == 0 and till.printer.jobs == 0  # type: ignore[attr-defined]
