"""Inbound events from the portal (other tills' stock movements and loyalty lines, catalogue updates).

Each is applied at most once, by event id: the id is recorded in `inbound_applied` in the same
transaction as the handler's writes. Other features register their handler by event type, at import:

    from kiosk.uplink.inbound import register
    register("stock_movement", apply_movement)   # apply_movement(conn, event) -> None

`event` is {"id", "shop", "from" (the till it comes from), "seq", "type", "v", "at", "payload"}. The portal
relays the types listed in `kiosk.uplink.ingest.RELAYED` to every other till of the shop.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from fiscal.journal import transaction
from kiosk.uplink.outbox import utc_now

log = logging.getLogger(__name__)

Handler = Callable[[sqlite3.Connection, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def register(type: str, handler: Handler) -> None:
    HANDLERS[type] = handler


class Inbound:
    def __init__(self, handlers: dict[str, Handler] | None = None):
        self.handlers: dict[str, Handler] = HANDLERS if handlers is None else handlers

    def receive(self, conn: sqlite3.Connection, payload: bytes) -> bool:
        """Apply one event; False when it was malformed, unknown or already applied."""
        try:
            event = json.loads(payload)
            event_id, type = str(event["id"]), str(event["type"])
        except (ValueError, KeyError, TypeError):
            log.warning("uplink: événement entrant illisible ignoré")
            return False
        handler = self.handlers.get(type)
        if handler is None:
            return False
        with transaction(conn):
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbound_applied (event_id, type, applied_at) VALUES (?, ?, ?)",
                (event_id, type, utc_now()),
            )
            if cur.rowcount == 1:
                handler(conn, event)
        return cur.rowcount == 1
