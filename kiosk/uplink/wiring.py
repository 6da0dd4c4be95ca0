"""Plugging the uplink into a till: what it listens to (sales, fiscal records, stock and loyalty lines,
SMS receipts). The till calls `install` at opening when `uplink.enabled`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.uplink.outbox import record_event, sale_event
from kiosk.uplink.sync import hand_over_sms, install_sync

if TYPE_CHECKING:
    from kiosk.till import Till


def install(till: Till) -> None:
    """Register the outbox on the till's checkout and fiscal ledger (only when the uplink is enabled)."""
    if sale_event not in till.checkout.listeners:
        till.checkout.listeners.append(sale_event)
    if record_event not in till.ledger.observers:
        till.ledger.observers.append(record_event)
    install_sync(till)  # stock movements and loyalty lines, shared with the shop's tills
    if not till.sms_handovers:  # SMS receipts leave through the portal's SMS gateway
        till.sms_handovers.append(lambda: hand_over_sms(till))
