"""Loyalty at the till, with Pilot: the card recognises the customer, a sale attached after payment earns,
the kitty pays part of a sale with the customer's consent (and leaves the ledger with the ticket)."""

from __future__ import annotations

from textual.widgets import Static

from drivers.payment import SimulatedTerminal
from kiosk.staff.service import StaffMember
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.screens.customers import ConfirmDialog, CustomerPickerScreen
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from tests.support.domain import article
from tests.support.ui import FAST, settle, tickets

MARC = StaffMember(2, "Marc", "manager")


def status(app: KioskApp) -> str:
    return str(app.screen.query_one("#loyalty-status", Static).render())


async def login_and_ring(pilot, *codes: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("tab", "tab", "enter", *"333333", "enter")
    for code in codes:
        await pilot.press(*code, "enter")


async def test_cash_sale_attached_after_payment_earns_and_the_receipt_says_so(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "Fidélité 5 %", {"rate_bp": 500})
    customer = till.customers.create("06 12 34 56 78", last_name="Durand", consent=True).id
    bread = article(till, "boulangerie")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await login_and_ring(pilot, bread.reference, bread.reference)
        await pilot.press("f12", "enter")  # exact cash
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, CustomerPickerScreen)
        await pilot.press(*"durand", "enter", "enter")
        await pilot.pause()
        earned = 2 * bread.price_cents * 500 // 10_000
        assert "Vente rattachée à Durand" in status(app)
        assert till.loyalty.balance(customer).kitty_cents == earned
        await pilot.press("f9")
        assert isinstance(app.screen, ReceiptScreen)
        preview = str(app.screen.query_one("#receipt-text", Static).render())
        assert "Fidélité : Fidélité 5 %" in preview and "Gagné" in preview


async def test_the_card_recognises_its_customer_after_the_first_attach(till: Till) -> None:
    till.loyalty.set_up(MARC, "band", "Cagnotte", {"per_cents": 500, "credit_cents": 50})
    customer = till.customers.create("06 12 34 56 78", last_name="Martin", consent=True).id
    till.terminal = SimulatedTerminal("ok", timeouts=FAST, think_time=0.05)  # type: ignore[misc]
    bread = article(till, "boulangerie")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await login_and_ring(pilot, *[bread.reference] * 4)
        await pilot.press("f12", "f3")
        await settle(app, pilot)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
        await pilot.press("ctrl+f", *"martin", "enter", "enter")  # first time: the cashier attaches
        await pilot.pause()
        assert "carte •••• 7890 liée" in status(app)
        await pilot.press("f10")
        for _ in range(4):
            await pilot.press(*bread.reference, "enter")
        await pilot.press("f12", "f3")
        await settle(app, pilot)
        assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
        assert "Client reconnu par sa carte : Martin" in status(app)  # the second time: the card alone
    rows = till.db.execute_sql("SELECT ticket FROM customer_sale WHERE customer_id = ?", (customer,))
    assert len(rows.fetchall()) == 2
    tokens = [row[0] for row in till.db.execute_sql("SELECT token FROM card_token")]
    assert len(tokens) == 1 and "4970" not in tokens[0]


async def test_the_kitty_pays_part_of_a_sale_with_consent(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "Fidélité", {"rate_bp": 500})
    customer = till.customers.create("06 12 34 56 78", last_name="Petit", consent=True).id
    till.loyalty.adjust(MARC, customer, 150, 0, "bienvenue")
    bread = article(till, "boulangerie")
    app = KioskApp(till)
    async with app.run_test(size=(120, 40)) as pilot:
        await login_and_ring(pilot, *[bread.reference] * 3)
        await pilot.press("f12", "ctrl+f", *"petit", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "Utiliser 1,50 € de la cagnotte de Petit" in str(
            app.screen.query_one("#confirm-question", Static).render()
        )
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PaymentScreen)
        assert [(t.kind, t.amount, t.ref) for t in screen.plan.tenders] == [("loyalty", 150, str(customer))]
        await pilot.press("enter")  # the rest in cash
        assert screen.sale is not None
        number = screen.sale.number
        assert "Vente rattachée à Petit" in status(app)
    [ticket] = tickets(till)
    assert {"type": "loyalty", "amount": 150} in ticket["tenders"]
    redeems = till.db.execute_sql(
        "SELECT kitty_cents, ticket FROM loyalty_entry WHERE kind = 'redeem' AND customer_id = ?", (customer,)
    ).fetchall()
    assert redeems == [(-150, number)]
    assert till.loyalty.balance(customer).kitty_cents == 150 - 150 + (3 * bread.price_cents) * 500 // 10_000
