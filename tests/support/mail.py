"""A real SMTP server on a free port and a till configured to mail through it."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, Tender, cash_payment
from kiosk.till import Till
from tests.support.broker import free_port  # noqa: F401


class Inbox:
    """aiosmtpd handler: keeps every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("inconnu@"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if any(rcpt.startswith("filtre@") for rcpt in envelope.rcpt_tos):  # a content filter says no
            return "554 5.6.0 Message refused"
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def mail_config(port: int) -> str:
    return (
        SIMULATED_DEVICES
        + f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "caisse@epicerie.example"\n'
        + "timeout = 5\n"
    )


def open_till(data_dir: Path, port: int) -> Till:
    (data_dir / "kiosk.toml").write_text(mail_config(port), "utf-8")
    till = Till.open(data_dir)
    init_demo(till)
    return till


def rows(till: Till) -> list[tuple[Any, ...]]:
    return list(
        till.db.execute_sql(
            "SELECT kind, ticket, recipient, state, attempts FROM receipt_request ORDER BY id"
        ).fetchall()
    )


def sell(till: Till, card: bool = False) -> CompletedSale:
    articles = [a for a in till.catalogue.active_articles() if not a.sold_by_weight]
    basket = Basket()
    basket.add_article(articles[0])
    basket.add_article(articles[1])
    member = till.staff.members()[0]
    if card:
        return till.checkout.complete(basket, [Tender("card", basket.total)], 0, member)
    tenders, change = cash_payment(basket.total, basket.total + 500)
    return till.checkout.complete(basket, tenders, change, member)
