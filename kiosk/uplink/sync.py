"""Shop-wide ledgers over the uplink: each till's stock movements and loyalty lines go out through the
outbox (in the transaction that writes them) and come back to the shop's other tills, relayed by the
portal, where they are merged once by id — so a sale on one till lowers the stock seen on another, and a
kitty earned on one is spent on another. Merged lines are never sent on again."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.uplink.inbound import HANDLERS, Handler
from kiosk.uplink.outbox import emit

if TYPE_CHECKING:
    from kiosk.till import Till

STOCK_MOVEMENT = "stock_movement"
LOYALTY_LINE = "loyalty_line"


def install_sync(till: Till) -> None:
    """The till's new stock movements and loyalty lines also become outbox events."""

    def movement(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
        emit(conn, STOCK_MOVEMENT, row)

    def loyalty_line(conn: sqlite3.Connection, line: dict[str, Any]) -> None:
        emit(conn, LOYALTY_LINE, line)

    if not any(getattr(f, "__name__", "") == "movement" for f in till.stock.on_movement):
        till.stock.on_movement.append(movement)
        till.loyalty.on_line.append(loyalty_line)
    till.loyalty.offline_allowance = till.config.loyalty.offline_allowance_cents
    hand_over_sms(till)  # SMS receipts asked before the uplink was on, or before a stop
    till.loyalty.offline_since = lambda: offline_since(till.db.connection())


OFFLINE_AFTER_S = 60  # an event the portal has not acknowledged for this long: the till is cut off


def offline_since(conn: sqlite3.Connection) -> str | None:
    """The creation time of the oldest event waiting for the portal's ack for over OFFLINE_AFTER_S, else
    None (in touch)."""
    row = conn.execute("SELECT MIN(created_at) FROM outbox").fetchone()
    if row is None or row[0] is None:
        return None
    oldest = datetime.strptime(str(row[0]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return str(row[0]) if datetime.now(UTC) - oldest > timedelta(seconds=OFFLINE_AFTER_S) else None


def till_handlers(till: Till) -> dict[str, Handler]:
    """The inbound handlers of `till`: the shared ones (catalogue updates...) and its ledgers' merges."""

    def movement(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
        till.stock.merge_rows(conn, [event["payload"]])

    def loyalty_line(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
        till.loyalty.merge_line(conn, event["payload"])

    return {**HANDLERS, STOCK_MOVEMENT: movement, LOYALTY_LINE: loyalty_line}


SMS_REQUEST = "sms_request"


def hand_over_sms(till: Till) -> int:
    """Every waiting SMS receipt becomes an outbox event for the portal's SMS gateway (number, text,
    receipt), in the transaction that erases the number from the till's queue."""
    from kiosk.receipts.digital_outbox import ReceiptOutbox, SmsRequest

    conn = till.db.connection()

    def take(request: SmsRequest) -> None:
        emit(
            conn,
            SMS_REQUEST,
            {
                "ticket": request.ticket,
                "phone": request.phone,
                "text": request.text,
                "receipt": request.receipt,
            },
        )

    return ReceiptOutbox(till.db).hand_over_sms(take)
