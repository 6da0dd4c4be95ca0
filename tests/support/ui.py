"""Driving the till UI in tests: scannable codes, the basket as shown, tickets and drawer pulses."""

from __future__ import annotations

import json

from textual.widgets import DataTable

from drivers.concert import Timeouts
from kiosk.catalogue.articles import ArticleView
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.screens.payment import PaymentScreen


def scannable(till: Till, vat_bp: int, skip: int = 0) -> ArticleView:
    found = [a for a in till.catalogue.active_articles() if a.vat_bp == vat_bp and not a.sold_by_weight]
    for article in found[skip:]:
        barcode = till.db.execute_sql(
            "SELECT code FROM barcode WHERE article_id = ?", (article.id,)
        ).fetchone()
        if barcode:
            return till.catalogue.by_code(barcode[0])  # type: ignore[return-value]
    raise AssertionError("no scannable article")


def tickets(till: Till) -> list[dict]:
    rows = till.db.execute_sql("SELECT body FROM fiscal_record WHERE journal = 'TICKET' ORDER BY seq")
    return [json.loads(body) for (body,) in rows]


def basket_rows(app: KioskApp) -> list[list[str]]:
    table = app.screen.query_one("#basket", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def drawer_pulses(till: Till) -> int:
    states = [s.state for s in till.drawer.pin.states]  # type: ignore[attr-defined]
    return sum(1 for before, after in zip(states, states[1:], strict=False) if before and not after)


FAST = Timeouts(ack=0.5, byte=0.5, answer=1.0, retry_pause=0.1)


async def settle(app: KioskApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause(0.02)
        if not (isinstance(app.screen, PaymentScreen) and app.screen.card_busy):
            return
