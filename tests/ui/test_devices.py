"""Sales with devices answering, refusing, going silent or running out of paper: the sale is always safe."""

from __future__ import annotations

import json

from textual.widgets import Static

from drivers.payment import SimulatedTerminal
from kiosk.common.money import format_eur
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import CardOutcomeDialog
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.sale import SaleScreen
from tests.support.ui import FAST, basket_rows, drawer_pulses, scannable, settle, tickets


def jet(till: Till, code: str) -> list[dict]:
    rows = till.db.execute_sql("SELECT body FROM fiscal_record WHERE journal = 'JET' AND rtype = ?", (code,))
    return [json.loads(body) for (body,) in rows]


async def _to_payment(app: KioskApp, pilot, till: Till) -> int:  # type: ignore[no-untyped-def]
    article = scannable(till, 550)
    await pilot.press("tab", "tab", "enter", *"333333", "enter")
    await pilot.press(*str(article.barcode), "enter")
    await pilot.press("f12")
    assert isinstance(app.screen, PaymentScreen)
    return article.price_cents


async def test_card_approved_sells_without_opening_the_drawer(till: Till) -> None:
    till.terminal = SimulatedTerminal("ok", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        price = await _to_payment(app, pilot, till)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
        await pilot.press("f10")
        assert isinstance(app.screen, SaleScreen) and basket_rows(app) == []
        await app.workers.wait_for_complete()
    [ticket] = tickets(till)
    assert ticket["tenders"] == [{"type": "card", "amount": price}] and ticket["change"] == 0
    assert drawer_pulses(till) == 0
    assert "Merci" in till.display.lines[0], till.display.history  # type: ignore[attr-defined]


async def test_card_refused_keeps_the_basket_and_cash_still_works(till: Till) -> None:
    till.terminal = SimulatedTerminal("refused", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        price = await _to_payment(app, pilot, till)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is None
        error = str(app.screen.query_one("#pay-error", Static).render())
        assert "refus" in error.lower()
        assert tickets(till) == []
        await pilot.press(*"20", "enter")
        assert app.screen.sale is not None
    [ticket] = tickets(till)
    assert ticket["tenders"] == [{"type": "cash", "amount": 2000}] and ticket["change"] == 2000 - price


async def test_silent_terminal_is_never_assumed_paid_the_cashier_decides(till: Till) -> None:
    till.terminal = SimulatedTerminal("silent", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_payment(app, pilot, till)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, CardOutcomeDialog)
        assert "regardez" in str(app.screen.query_one("#card-unknown-reason", Static).render()).lower()
        await pilot.press("escape")  # no default decision
        assert isinstance(app.screen, CardOutcomeDialog) and tickets(till) == []
        await pilot.click("#card-not-paid")
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is None
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.click("#card-paid")
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
    [ticket] = tickets(till)
    assert ticket["tenders"][0]["type"] == "card"
    assert [e["details"]["paid"] for e in jet(till, "CARD_OUTCOME_RESOLVED")] == [False, True]


async def test_paper_out_keeps_the_sale_and_prints_after_the_roll_is_changed(till: Till) -> None:
    till.printer.paper = "out"  # type: ignore[attr-defined]
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_payment(app, pilot, till)
        await pilot.press("enter", "f9")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReceiptScreen)
        assert any("Plus de papier" in n.message for n in app._notifications)
        assert len(tickets(till)) == 1 and till.printer.jobs == 0  # type: ignore[attr-defined]
        await pilot.press("enter")
        till.printer.paper = "ok"  # type: ignore[attr-defined]
        await pilot.press("f7")
        await app.workers.wait_for_complete()
        assert till.printer.jobs == 1  # type: ignore[attr-defined]
        assert b"TOTAL TTC" in till.printer.last_bytes  # type: ignore[attr-defined]


async def test_customer_display_follows_the_sale(till: Till) -> None:
    article = scannable(till, 2000)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*str(article.barcode), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = till.display.lines  # type: ignore[attr-defined]
        assert "EUR" in shown[1] and len(shown[0]) == 20
        mirror = str(app.screen.query_one("#customer-display", Static).render())
        assert shown[0].strip() in mirror
        await pilot.press("f12")
        await app.workers.wait_for_complete()
        assert till.display.lines[0].startswith("Total")  # type: ignore[attr-defined]


async def test_drawer_outside_a_sale_needs_a_manager_and_is_journaled(till: Till) -> None:
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press("f11")
        assert [b.id for b in app.screen.query(".manager")] == ["manager-1", f"manager-{marc.id}"]
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"111111", "enter")
        assert "Code PIN incorrect" in str(app.screen.query_one("#manager-error", Static).render())
        await pilot.press(*"222222", "enter")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, SaleScreen)
    assert drawer_pulses(till) == 1
    assert jet(till, "DRAWER_NO_SALE")[0]["details"] == {"user": "Camille", "authorised_by": "Marc"}


def test_a_cashier_cannot_authorise(till: Till) -> None:
    import pytest

    from kiosk.staff.service import LoginError

    camille = next(m for m in till.staff.members() if m.name == "Camille")
    with pytest.raises(LoginError, match="n'est pas responsable"):
        till.staff.authorize(camille.id, "333333", "Ouvrir le tiroir")


def weighed_article(till: Till):  # type: ignore[no-untyped-def]
    return next(a for a in till.catalogue.active_articles() if a.sold_by_weight)


async def test_weighed_article_is_priced_from_the_scale(till: Till) -> None:
    article = weighed_article(till)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*article.reference, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        [row] = basket_rows(app)
    assert row[1] == "0,35 kg"
    from decimal import Decimal

    from drivers.scale import price_for_weight

    assert row[3] == format_eur(price_for_weight(article.price_cents, Decimal("0.350")))


async def test_overloaded_scale_says_why_and_offers_to_type_the_weight(till: Till) -> None:
    from decimal import Decimal

    from drivers.scale import simulated_scale
    from kiosk.ui.dialogs.basic import QuantityDialog

    till.scale = simulated_scale(Decimal("0.500"), "overload")  # type: ignore[misc]
    article = weighed_article(till)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*article.reference, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, QuantityDialog)
        sale = app.screen_stack[-2]
        assert "surcharge" in str(sale.query_one("#message", Static).render())
        await pilot.press(*"1,2", "enter")
        assert basket_rows(app)[0][1] == "1,2 kg"


async def test_scale_label_scan_adds_the_weighed_line(till: Till) -> None:
    from stdnum import ean

    stem = "2100001" + "00750"  # PLU 00001, 750 g
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*(stem + ean.calc_check_digit(stem)), "enter")
        [row] = basket_rows(app)
    assert row[1] == "0,75 kg"


async def test_drawer_sensor_shows_tiroir_ouvert(till: Till) -> None:
    from drivers.drawer import simulated_drawer

    drawer = simulated_drawer(sensor_pin=27)
    till.drawer = drawer  # type: ignore[misc]
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        drawer.sensor.drive_high()  # type: ignore[union-attr]  # switch opens: drawer out
        await pilot.pause(0.7)
        assert "TIROIR OUVERT" in app.sub_title
        drawer.sensor.drive_low()  # type: ignore[union-attr]
        await pilot.pause(0.7)
        assert "TIROIR OUVERT" not in app.sub_title and "Camille" in app.sub_title


async def test_training_mode_sells_fictitious_tickets_outside_the_grand_totals(till: Till) -> None:
    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press("f9")
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        assert "MODE FORMATION" in app.sub_title
        await pilot.press(*"BOUL-001", "enter", "f12", "enter", "f9")
        preview = str(app.screen.query_one("#receipt-text", Static).render())
        assert "MODE FORMATION - ticket fictif" in preview and "T01-F000001" in preview
    assert tickets(till) == []  # nothing in the real ticket journal, so nothing in the grand totals
    training = till.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal = 'TRAINING'").fetchone()
    assert training[0] == 1 and jet(till, "TRAINING_ON")[0]["details"]["authorised_by"] == "Marc"


async def test_manager_reads_x_then_closes_the_day_and_the_z_prints(till: Till) -> None:
    from kiosk.ui.screens.reports import ReportsScreen

    marc = next(m for m in till.staff.members() if m.name == "Marc")
    app = KioskApp(till)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*"BOUL-001", "enter", "f12", "enter", "f10")
        await pilot.press("f5")
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        assert isinstance(app.screen, ReportsScreen)
        assert "RAPPORT X" in str(app.screen.query_one("#report-text", Static).render())
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        assert "RAPPORT Z" in str(app.screen.query_one("#report-text", Static).render())
        await pilot.press("f5")  # a day closes once
        assert "déjà clôturée" in str(app.screen.query_one("#report-error", Static).render())
        await pilot.click("#archive-day")
        await app.workers.wait_for_complete()  # the archive is built by a worker thread
        await pilot.pause()
        archives = list((till.data_dir / "archives").glob("*.zip"))
        assert len(archives) == 1 and any("Archive enregistrée" in n.message for n in app._notifications)
    assert b"RAPPORT Z" in till.printer.last_bytes  # type: ignore[attr-defined]
    closures = till.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal='CLOSURE'").fetchone()
    assert closures[0] == 1


async def test_quantity_is_typed_on_the_on_screen_keypad_by_touch_alone(till: Till) -> None:
    from kiosk.ui.dialogs.basic import QuantityDialog

    article = scannable(till, 550)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*str(article.barcode), "enter")
        await pilot.click("#qty-set")
        assert isinstance(app.screen, QuantityDialog)
        for key in ("#qty-keypad-1", "#qty-keypad-2", "#qty-keypad-back", "#qty-keypad-3", "#qty-keypad-ok"):
            await pilot.click(key)
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        assert basket_rows(app)[0][1] == "13"
