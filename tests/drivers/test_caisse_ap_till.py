"""The till's payment screen with a Caisse-AP terminal behind the same PaymentTerminal interface as
Concert: the simulated terminal over a real TCP socket, approving, declining and going silent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from textual.widgets import Static

from drivers.caisse_ap import Timeouts
from drivers.caisse_ap_sim import SimulatedCaisseApTerminal
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import CardOutcomeDialog
from kiosk.ui.screens.payment import PaymentScreen
from tests.support.ui import scannable, settle, tickets

FAST = Timeouts(connect=2, answer=1, byte=0.5, settle=0.05)


@pytest.fixture
def caisse_ap(till: Till) -> Iterator[Callable[[str], SimulatedCaisseApTerminal]]:
    """Puts a simulated Caisse-AP terminal in mode `mode` behind the till."""

    def use(mode: str) -> SimulatedCaisseApTerminal:
        terminal = SimulatedCaisseApTerminal(mode, timeouts=FAST, think_time=0.02)  # type: ignore[arg-type]
        till.terminal = terminal  # type: ignore[misc]
        return terminal

    yield use
    terminal = till.__dict__.get("terminal")
    if terminal is not None:
        terminal.close()


async def _pay_by_card(app: KioskApp, pilot, till: Till) -> int:  # type: ignore[no-untyped-def]
    article = scannable(till, 550)
    await pilot.press("tab", "tab", "enter", *"333333", "enter")
    await pilot.press(*str(article.barcode), "enter")
    await pilot.press("f12")
    assert isinstance(app.screen, PaymentScreen)
    await pilot.press("f3")
    await settle(app, pilot)
    return article.price_cents


async def test_card_approved_by_a_caisse_ap_terminal_makes_the_sale(caisse_ap, till: Till) -> None:
    terminal = caisse_ap("by_amount")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        price = await _pay_by_card(app, pilot, till)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
    [ticket] = tickets(till)
    assert ticket["tenders"] == [{"type": "card", "amount": price}]
    assert [r.amount_cents for r in terminal.server.log.requests] == [price]


async def test_card_declined_by_a_caisse_ap_terminal_keeps_the_basket(caisse_ap, till: Till) -> None:
    caisse_ap("refused")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_by_card(app, pilot, till)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is None
        error = str(app.screen.query_one("#pay-error", Static).render())
        assert "Paiement refusé par la banque" in error
    assert tickets(till) == []


async def test_lost_caisse_ap_answer_is_left_to_the_cashier(caisse_ap, till: Till) -> None:
    caisse_ap("silent")
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_by_card(app, pilot, till)
        assert isinstance(app.screen, CardOutcomeDialog)
        reason = str(app.screen.query_one("#card-unknown-reason", Static).render())
        assert "Délai dépassé : vérifiez sur le terminal si le paiement est passé" in reason
        assert tickets(till) == []
        await pilot.click("#card-not-paid")
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is None
    assert tickets(till) == []
