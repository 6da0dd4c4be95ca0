"""Discounts, refunds and exchanges from the sale screen's menu, with Pilot (keyboard and touch)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.widgets import Digits, OptionList, Static

from drivers.payment import SimulatedTerminal
from drivers.scanner import ScanResult
from kiosk.common.money import format_eur
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import Tender
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import CardOutcomeDialog, ManagerPinDialog
from kiosk.ui.menu import MENU
from kiosk.ui.screens.discount import DiscountDialog
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.refund import RefundScreen
from kiosk.ui.screens.sale import SaleScreen
from tests.support.domain import article, assert_verified, member
from tests.support.ui import FAST, tickets


async def menu(app: KioskApp, pilot, entry: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f1")
    options = app.screen.query_one("#menu-options", OptionList)
    options.highlighted = [e.id for e in MENU].index(entry)
    await pilot.press("enter")


def message(app: KioskApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


def sold(till: Till, *articles: tuple[str, int], tender: str = "cash") -> str:
    basket = Basket()
    for category, qty in articles:
        basket.add_article(article(till, category), Decimal(qty))
    return till.checkout.complete(basket, [Tender(tender, basket.total)], 0, member(till, "Camille")).number


async def test_small_discount_by_the_cashier_big_one_needs_marc(till: Till) -> None:
    wine = article(till, "vins_bieres")
    marc = member(till, "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*wine.reference, "enter")
        await menu(app, pilot, "discount-line")
        assert isinstance(app.screen, DiscountDialog)
        await pilot.press(*"10", "enter", *"Fin de série", "enter")
        assert isinstance(app.screen, SaleScreen)
        screen = app.screen
        assert screen.basket.total == wine.price_cents - wine.price_cents // 10
        await menu(app, pilot, "discount-ticket")
        await pilot.press(*"50%", "enter")
        await pilot.click("#discount-reason-1")  # « Article abîmé » by touch
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.press("escape")  # no PIN: no discount
        assert screen.basket.discount is None
        await menu(app, pilot, "discount-ticket")
        await pilot.press(*"50%", "enter", *"Abîmé", "enter")
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        assert isinstance(app.screen, SaleScreen) and "accordée par Marc" in message(app)
        total = screen.basket.total
        await pilot.press("f12", "enter")
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
        await pilot.press("f9")
        await app.workers.wait_for_complete()
    [ticket] = tickets(till)
    assert ticket["total"] == total and ticket["discount"]["by"] == "Marc"
    assert ticket["lines"][0]["discount_reason"] == "Fin de série"
    assert b"Fin de s" in till.printer.last_bytes  # type: ignore[attr-defined]


async def test_partial_refund_as_credit_note_by_keyboard_then_spent(till: Till, data_dir: Path) -> None:
    number = sold(till, ("boulangerie", 3), ("vins_bieres", 1))
    bread = article(till, "boulangerie")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "refund")
        assert isinstance(app.screen, RefundScreen)
        await pilot.press(*"T01-999", "enter")
        assert "introuvable" in str(app.screen.query_one("#refund-error", Static).render())
        await pilot.press("end", "ctrl+u", *number, "enter")
        await pilot.press("plus", "plus", "plus", "plus")  # only 3 breads were sold
        assert "il reste 3" in str(app.screen.query_one("#refund-error", Static).render())
        await pilot.press("minus", "f7")
        assert isinstance(app.screen, ManagerPinDialog)
        await pilot.press("tab", "enter", *"222222", "enter")  # Alice (admin) first, then Marc
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, SaleScreen), app.screen
        assert "avoir AV-" in message(app)
    back = tickets(till)[-1]
    assert back["kind"] == "RETURN" and back["original"]["number"] == number
    assert back["authorised_by"]["name"] == "Marc" and back["total"] == -2 * bread.price_cents
    credit = back["tenders"][0]["issued"]
    assert till.checkout.credit_notes.get(credit).balance == 2 * bread.price_cents  # type: ignore[union-attr]
    # the credit note is scanned on a later sale
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*article(till, "vins_bieres").reference, "enter", "f12")
        payment = app.screen
        assert isinstance(payment, PaymentScreen)
        app.scanned(ScanResult("scanner", code=credit))
        assert [t.ref for t in payment.plan.tenders] == [credit]
        await pilot.press("enter", "f10")
    assert tickets(till)[-1]["tenders"][0]["credit_note"] == credit
    assert_verified(data_dir)


async def test_card_refund_by_touch_cancels_on_the_terminal(till: Till) -> None:
    till.terminal = SimulatedTerminal("ok", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    number = sold(till, ("vins_bieres", 2), tender="card")
    marc = member(till, "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "refund")
        await pilot.press(*number)
        await pilot.click("#refund-search")
        await pilot.click("#refund-all")
        await pilot.click("#refund-card")
        await pilot.click(f"#manager-{marc.id}")
        for digit in "222222":
            await pilot.press(digit)
        await pilot.click("#manager-ok")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
    back = tickets(till)[-1]
    assert back["tenders"] == [{"type": "card", "amount": back["total"], "mode": "cancel"}]
    assert b"(annulation)" in till.printer.last_bytes  # type: ignore[attr-defined]


async def test_camille_cannot_authorise_a_refund(till: Till) -> None:
    number = sold(till, ("vins_bieres", 1))
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "refund")
        app.scanned(ScanResult("scanner", code=number))
        await pilot.press("f4", "f5")  # the receipt's barcode read: every line, in cash
        dialog = app.screen
        assert isinstance(dialog, ManagerPinDialog)
        assert "Camille" not in [str(b.label) for b in dialog.query(".manager")]
        await pilot.press("escape")
        assert isinstance(app.screen, RefundScreen)
    assert len(tickets(till)) == 1


async def test_exchange_returns_then_sells_the_new_article_paid_by_the_credit_note(till: Till) -> None:
    number = sold(till, ("vins_bieres", 1))
    dearer = max(
        (a for a in till.catalogue.active_articles() if a.category == "vins_bieres" and not a.sold_by_weight),
        key=lambda a: a.price_cents,
    )
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "exchange")
        await pilot.press(*number, "enter", "f4", "f8", "tab", "enter", *"222222", "enter")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, SaleScreen) and "Échange" in message(app)
        await pilot.press(*dearer.reference, "enter", "f12")
        payment = app.screen
        assert isinstance(payment, PaymentScreen)
        assert payment.plan.remaining == dearer.price_cents - article(till, "vins_bieres").price_cents
        assert payment.query_one("#remaining", Digits).value == format_eur(payment.plan.remaining)
        await pilot.press("enter", "f10")
    back, swap = tickets(till)[-2:]
    assert back["kind"] == "RETURN" and back["exchange"] is True
    assert swap["kind"] == "SALE" and swap["tenders"][0]["credit_note"] == back["tenders"][0]["issued"]


async def test_ticket_found_by_date_and_amount_among_two(till: Till) -> None:
    sold(till, ("vins_bieres", 1))
    second = sold(till, ("vins_bieres", 1))
    wine = article(till, "vins_bieres")
    today = till.clock()
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "refund")
        await pilot.press("tab", "tab", *f"{today:%d/%m/%Y}", "enter", *"1,00", "enter")
        assert "Aucune vente" in str(app.screen.query_one("#refund-error", Static).render())
        await pilot.press("end", "ctrl+u", *format_eur(wine.price_cents, symbol=False), "enter")
        found = app.screen.query_one("#refund-found", OptionList)
        assert found.option_count == 2
        await pilot.press("down", "enter")
        assert isinstance(app.screen, RefundScreen) and app.screen.sale is not None
        assert app.screen.sale.number == second


async def test_silent_terminal_on_a_card_refund_the_cashier_decides(till: Till) -> None:
    number = sold(till, ("vins_bieres", 1), tender="card")
    till.terminal = SimulatedTerminal("silent", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "refund")
        await pilot.press(*number, "enter", "f4", "f6", "tab", "enter", *"222222", "enter")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)
            if isinstance(app.screen, CardOutcomeDialog):
                break
        assert isinstance(app.screen, CardOutcomeDialog) and len(tickets(till)) == 1
        await pilot.click("#card-paid")
        assert isinstance(app.screen, SaleScreen)
    back = tickets(till)[-1]
    assert back["kind"] == "RETURN" and back["tenders"][0]["type"] == "card"


async def test_credit_note_balance_from_the_menu(till: Till) -> None:
    number = sold(till, ("vins_bieres", 1))
    sale = till.refunds.find(number)
    back = till.refunds.refund(
        sale, {0: Decimal(1)}, "voucher", member(till, "Camille"), member(till, "Marc")
    )
    [(credit, amount, expires)] = back.issued_credit_notes()
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await menu(app, pilot, "credit-note")
        await pilot.press(*credit, "enter")
        assert f"reste {format_eur(amount)}" in message(app) and expires in message(app)
