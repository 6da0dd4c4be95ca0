"""« Ticket ? » → E-mail / SMS / Ticket manuel, and « Renvoyer un ticket » from the F1 menu, driven
through the real UI with the keyboard and by touch; e-mails reach a real local SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import OptionList, Static

from drivers.concert import Timeouts
from drivers.payment import SimulatedTerminal
from kiosk.common.money import format_eur
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.menu import MENU
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.sale import SaleScreen
from kiosk.ui.screens.send_receipt import SendReceiptDialog, key_name
from tests.support.mail import SmtpServer, free_port, open_till, rows, smtp  # noqa: F401  (fixture)
from tests.support.ui import scannable, tickets


@pytest.fixture
def mail_till(data_dir: Path, smtp: SmtpServer) -> Iterator[Till]:  # noqa: F811
    till = open_till(data_dir, smtp.port)
    yield till
    till.db.close()


async def _pay_cash(app: KioskApp, pilot, till: Till) -> int:  # type: ignore[no-untyped-def]
    article = scannable(till, 550)
    await pilot.press("tab", "tab", "enter", *"333333", "enter")
    await pilot.press(*str(article.barcode), "enter", "f12", "enter")
    assert isinstance(app.screen, PaymentScreen) and app.screen.sale is not None
    return article.price_cents


def error_text(app: KioskApp) -> str:
    return str(app.screen.query_one("#send-error", Static).render())


async def test_email_receipt_typed_at_the_keyboard_reaches_the_customer(
    mail_till: Till,
    smtp: SmtpServer,  # noqa: F811
) -> None:
    app = KioskApp(mail_till)
    async with app.run_test(size=(100, 30)) as pilot:
        price = await _pay_cash(app, pilot, mail_till)
        assert not app.screen.query_one("#ticket-manual").display  # cash: no card slip
        await pilot.press("f11")
        assert isinstance(app.screen, SendReceiptDialog)
        await pilot.press(*"jeanne.martin@exemple", "enter")
        assert "vérifiez le domaine" in error_text(app)
        assert rows(mail_till) == []  # nothing queued
        await pilot.press(*".fr", "enter")
        assert isinstance(app.screen, SaleScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("envoyé par e-mail" in m for m in messages), messages
    [message] = smtp.inbox.messages
    number = f"{mail_till.config.till_id}-000001"
    assert message["To"] == "jeanne.martin@exemple.fr" and number in message["Subject"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and f"d'un montant de {format_eur(price)}" in body.get_content()
    assert rows(mail_till) == [("email", number, None, "sent", 1)]
    assert mail_till.printer.jobs == 0  # type: ignore[attr-defined]


async def test_sms_receipt_typed_by_touch_is_queued_with_an_international_number(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_cash(app, pilot, till)
        await pilot.click("#ticket-sms")
        assert isinstance(app.screen, SendReceiptDialog)
        for digit in "0612":
            await pilot.click(f"#osk-{digit}")
        await pilot.click("#send-ok")
        assert "nombre de chiffres" in error_text(app)
        assert rows(till) == []
        for digit in "345678":
            await pilot.click(f"#osk-{digit}")
        await pilot.click("#send-ok")
        assert isinstance(app.screen, SaleScreen)
        await app.workers.wait_for_complete()
    [ticket] = tickets(till)
    assert rows(till) == [("sms", "T01-000001", "+33612345678", "pending", 0)]
    assert ticket["total"] > 0


async def test_email_without_a_mail_server_is_refused_and_the_cashier_can_go_back(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_cash(app, pilot, till)
        await pilot.press("f11")
        await pilot.click(f"#osk-{key_name('a')}")
        await pilot.click(f"#osk-{key_name('@')}")
        await pilot.click("#osk-short-1")  # @orange.fr
        assert app.screen.query_one("#send-recipient").value == "a@orange.fr"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert "non configuré" in error_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, PaymentScreen)  # back to « Ticket ? », the sale is kept
        await pilot.press("f10")
        assert isinstance(app.screen, SaleScreen)
    assert rows(till) == []


async def test_card_sale_offers_the_handwritten_ticket(till: Till) -> None:
    till.terminal = SimulatedTerminal(  # type: ignore[misc]
        "ok", timeouts=Timeouts(ack=0.5, byte=0.5, answer=1.0, retry_pause=0.1), think_time=0.05
    )
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        article = scannable(till, 550)
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*str(article.barcode), "enter", "f12", "f3")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)
            if isinstance(app.screen, PaymentScreen) and app.screen.sale is not None:
                break
        assert app.screen.query_one("#ticket-manual").display
        await pilot.click("#ticket-manual")
        assert isinstance(app.screen, ReceiptScreen)
        text = str(app.screen.query_one("#receipt-text", Static).render())
        assert "TICKET CARTE MANUEL" in text and "Signature du titulaire" in text
        assert format_eur(article.price_cents) in text
        await app.workers.wait_for_complete()
        assert b"TICKET CARTE MANUEL" in till.printer.last_bytes  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert isinstance(app.screen, PaymentScreen)
        await pilot.press("f10")
        assert isinstance(app.screen, SaleScreen)


async def open_menu_entry(app: KioskApp, pilot, entry_id: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f1")
    assert isinstance(app.screen.query_one("#menu-options"), OptionList)
    await pilot.press("home", *["down"] * [e.id for e in MENU].index(entry_id), "enter")


async def test_resend_an_earlier_ticket_from_the_menu(mail_till: Till, smtp: SmtpServer) -> None:  # noqa: F811
    app = KioskApp(mail_till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_cash(app, pilot, mail_till)
        await pilot.press("f10")
        assert isinstance(app.screen, SaleScreen)
        await open_menu_entry(app, pilot, "resend")
        assert isinstance(app.screen, SendReceiptDialog)
        await pilot.press(*"99", "enter", *"client@exemple.fr", "enter")
        assert "introuvable" in error_text(app)
        await pilot.click("#send-ticket")
        await pilot.press(
            "end", "backspace", "backspace", "1", "enter"
        )  # Entrée in the ticket field moves on to the address
        await pilot.press("enter")
        assert isinstance(app.screen, SaleScreen), (
            error_text(app),
            app.screen.query_one("#send-ticket").value,  # type: ignore[attr-defined]
        )
        await app.workers.wait_for_complete()
    [message] = smtp.inbox.messages
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "DUPLICATA n°1" in body.get_content()
    duplicates = mail_till.db.execute_sql(
        "SELECT COUNT(*) FROM fiscal_record WHERE journal = 'DUPLICATE'"
    ).fetchone()[0]
    assert duplicates == 1


async def test_manual_slip_from_the_menu(till: Till) -> None:
    from tests.support.mail import sell

    sell(till, card=True)  # ticket 1, by card; ticket 2 below, in cash
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pay_cash(app, pilot, till)
        await pilot.press("f10")
        await open_menu_entry(app, pilot, "manual-slip")
        await pilot.press("2", "enter")
        assert "pas été payé par carte" in error_text(app)
        await pilot.press("backspace", "1")
        await pilot.click("#send-ok")
        assert isinstance(app.screen, ReceiptScreen)
        text = str(app.screen.query_one("#receipt-text", Static).render())
        assert "TICKET CARTE MANUEL" in text and "T01-000001" in text
        await pilot.press("enter")
        assert isinstance(app.screen, SaleScreen)
        await app.workers.wait_for_complete()
    assert b"TICKET CARTE MANUEL" in till.printer.last_bytes  # type: ignore[attr-defined]


async def test_mail_server_down_the_cashier_is_told_and_the_email_waits(data_dir: Path) -> None:
    server = SmtpServer(free_port())  # not started: the server is down
    till = open_till(data_dir, server.port)
    app = KioskApp(till)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await _pay_cash(app, pilot, till)
            await pilot.press("f11", *"client@exemple.fr", "enter")
            assert isinstance(app.screen, SaleScreen)  # the next customer is served meanwhile
            await app.workers.wait_for_complete()
            await pilot.pause()
            messages = [n.message for n in app._notifications]
            assert (
                "E-mail en attente : le serveur de messagerie ne répond pas, nouvel essai automatique "
                "(ticket T01-000001)." in messages
            ), messages
            assert rows(till) == [("email", "T01-000001", "client@exemple.fr", "pending", 1)]
            server.start()
            pump = app.receipt_mail
            pump.tick()  # the timer, before the wait is over: nothing is tried
            assert not pump.busy
            later = datetime.now(UTC) + timedelta(seconds=31)
            pump.outbox.now = lambda: later
            pump.tick()  # the timer, 30 s later
            assert pump.busy
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "Ticket T01-000001 envoyé par e-mail." in [n.message for n in app._notifications]
        assert len(server.inbox.messages) == 1
        assert rows(till) == [("email", "T01-000001", None, "sent", 2)]
    finally:
        server.stop()
        till.db.close()


async def test_an_email_left_waiting_by_the_last_session_goes_at_start(
    mail_till: Till,
    smtp: SmtpServer,  # noqa: F811
) -> None:
    from kiosk.receipts.digital import queue_receipt
    from tests.support.mail import sell

    queue_receipt(mail_till, sell(mail_till), "email", "client@exemple.fr")
    mail_till.db.execute_sql("UPDATE receipt_request SET state = 'sending'")  # the till stopped mid-send
    app = KioskApp(mail_till)
    async with app.run_test(size=(100, 30)):
        await app.workers.wait_for_complete()
    assert [to for _, to in smtp.inbox.envelopes] == [["client@exemple.fr"]]
    assert rows(mail_till) == [("email", "T01-000001", None, "sent", 1)]
