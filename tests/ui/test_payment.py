"""Payment screen with Pilot: splits between tenders, meal vouchers on food only, credit notes, card failures."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Digits, Static

from drivers.payment import SimulatedTerminal
from kiosk.common.money import format_eur
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import Tender
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.code import CodeDialog
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.sale import SaleScreen
from tests.support.domain import article, member
from tests.support.ui import FAST, drawer_pulses, settle, tickets


async def _login_and_ring(app: KioskApp, pilot, codes: list[str]) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("tab", "tab", "enter", *"333333", "enter")
    for code in codes:
        await pilot.press(*code, "enter")


def error_text(app: KioskApp) -> str:
    return str(app.screen.query_one("#pay-error", Static).render())


async def test_meal_voucher_then_cash_with_the_keyboard(till: Till) -> None:
    bread = article(till, "boulangerie")
    wine = article(till, "vins_bieres")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login_and_ring(app, pilot, [bread.reference, wine.reference])
        await pilot.press("f12")
        screen = app.screen
        assert isinstance(screen, PaymentScreen)
        # the whole ticket in meal vouchers: refused, only the bread may be paid so
        await pilot.press(*format_eur(wine.price_cents + bread.price_cents, symbol=False), "f11")
        assert "alimentaires" in error_text(app) and screen.plan.tenders == []
        await pilot.press("end", "ctrl+u")
        await pilot.press("f11")  # nothing typed: the meal voucher pays what it may
        assert [(t.kind, t.amount) for t in screen.plan.tenders] == [("meal_voucher", bread.price_cents)]
        await app.workers.wait_for_complete()
        assert "Reste" in till.display.lines[0]  # type: ignore[attr-defined]
        assert screen.query_one("#remaining", Digits).value.startswith(f"{wine.price_cents // 100},")
        await pilot.press(*"50", "enter")  # 50 € in cash for the wine
        assert screen.sale is not None
        await pilot.press("f10")
        assert isinstance(app.screen, SaleScreen)
    [ticket] = tickets(till)
    assert ticket["tenders"] == [
        {"type": "meal_voucher", "amount": bread.price_cents},
        {"type": "cash", "amount": 5000},
    ]
    assert ticket["change"] == 5000 - wine.price_cents


async def test_cheque_and_holiday_vouchers_by_touch_with_a_removed_tender(till: Till) -> None:
    wine = article(till, "vins_bieres")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login_and_ring(app, pilot, [wine.reference])
        await pilot.click("#pay")
        screen = app.screen
        assert isinstance(screen, PaymentScreen)
        await pilot.press(*"1,5")
        await pilot.click("#pay-holiday")
        await pilot.press(*"2.00")
        await pilot.click("#pay-cheque")
        assert [t.kind for t in screen.plan.tenders] == ["holiday_voucher", "cheque"]
        await pilot.click("#tenders .tender-del")  # the holiday vouchers go back
        await pilot.pause()
        assert [(t.kind, t.amount) for t in screen.plan.tenders] == [("cheque", 200)]
        await pilot.press(*"9999", "f4")
        assert "dépasse le reste à payer" in error_text(app)
        await pilot.press("end", "ctrl+u")
        await pilot.click("#pay-cheque")
        assert screen.sale is not None
        await app.workers.wait_for_complete()
    assert drawer_pulses(till) == 1  # the cheques go in the drawer
    [ticket] = tickets(till)
    assert ticket["tenders"] == [
        {"type": "cheque", "amount": 200},
        {"type": "cheque", "amount": wine.price_cents - 200},
    ]


async def test_refused_card_keeps_the_tenders_taken_and_an_approved_card_cannot_be_removed(
    till: Till,
) -> None:
    wine = article(till, "vins_bieres")
    till.terminal = SimulatedTerminal("refused", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login_and_ring(app, pilot, [wine.reference])
        await pilot.press("f12", *"1", "f4")
        screen = app.screen
        assert isinstance(screen, PaymentScreen)
        await pilot.press("f3")
        await settle(app, pilot)
        assert "refus" in error_text(app).lower()
        assert [(t.kind, t.amount) for t in screen.plan.tenders] == [("cheque", 100)]
        till.terminal = SimulatedTerminal("ok", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
        await pilot.press(*"2", "f3")
        await settle(app, pilot)
        assert [t.kind for t in screen.plan.tenders] == ["cheque", "card"]
        await pilot.press("escape")
        assert isinstance(app.screen, PaymentScreen) and "carte est déjà accepté" in error_text(app)
        await pilot.press("enter")  # the rest in cash, exact
        assert screen.sale is not None
    [ticket] = tickets(till)
    assert [t["type"] for t in ticket["tenders"]] == ["cheque", "card", "cash"]


async def test_credit_note_typed_pays_and_its_rest_is_printed_as_a_new_one(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = Basket()
    basket.add_article(article(till, "vins_bieres"), Decimal(3))
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    back = till.refunds.refund(sale, {0: Decimal(3)}, "voucher", camille, marc)
    [(number, amount, _)] = back.issued_credit_notes()
    bread = article(till, "boulangerie")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login_and_ring(app, pilot, [bread.reference])
        await pilot.press("f12", "f2")
        assert isinstance(app.screen, CodeDialog)
        await pilot.press(*"AV-T01-424242", "enter")
        assert "inconnu" in str(app.screen.query_one("#code-error", Static).render())
        await pilot.press("end", "ctrl+u", *number.lower(), "enter")
        screen = app.screen
        assert isinstance(screen, PaymentScreen) and screen.sale is not None
        await pilot.press("f10")
        await app.workers.wait_for_complete()
    ticket = tickets(till)[-1]
    [tender] = ticket["tenders"]
    assert tender["credit_note"] == number and tender["issued_amount"] == amount - bread.price_cents
    assert tender["issued"].encode() in till.printer.last_bytes  # type: ignore[attr-defined]
    assert b"AVOIR" in till.printer.last_bytes  # type: ignore[attr-defined]
    assert b"\x1dk" in till.printer.last_bytes  # type: ignore[attr-defined]  # GS k: a real barcode


async def test_absurd_amounts_are_refused_and_a_meal_voucher_card_pays_the_food(till: Till) -> None:
    till.terminal = SimulatedTerminal("ok", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    bread = article(till, "boulangerie")
    wine = article(till, "vins_bieres")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login_and_ring(app, pilot, [bread.reference, wine.reference])
        await pilot.press("f12")
        screen = app.screen
        assert isinstance(screen, PaymentScreen)
        await pilot.press(*"900", "enter")  # 900 € for a few euros: mistyped
        assert "mal saisi" in error_text(app) and screen.plan.tenders == [] and screen.sale is None
        await pilot.press("end", "ctrl+u", *"12,345", "enter")
        assert "invalide" in error_text(app) and screen.plan.tenders == []
        await pilot.press("end", "ctrl+u", "ctrl+t")  # the meal voucher card: the bread only
        await settle(app, pilot)
        assert [(t.kind, t.amount) for t in screen.plan.tenders] == [("meal_voucher_card", bread.price_cents)]
        await pilot.press("enter")
        assert screen.sale is not None
    [ticket] = tickets(till)
    assert ticket["tenders"] == [
        {"type": "meal_voucher_card", "amount": bread.price_cents},
        {"type": "cash", "amount": wine.price_cents},
    ]
