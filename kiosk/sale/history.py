"""« Mes ventes »: a day's tickets, each cashier seeing only their own, a manager everyone's (seed)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from fiscal.journal import TICKET, TRAINING
from fiscal.timeutil import parse_utc
from kiosk.staff.permissions import allowed, require
from kiosk.staff.service import StaffMember

TENDER_SHORT = {"cash": "Esp.", "card": "CB", "cheque": "Chq", "voucher": "Bon", "meal_voucher": "TR"}


@dataclass(frozen=True)
class HistoryEntry:
    number: str
    when: datetime
    kind: str  # SALE | RETURN
    cashier_id: int | None
    cashier: str
    total: int
    tenders: str

    @property
    def time_text(self) -> str:
        return f"{self.when:%H:%M}"


def sales_history(
    conn: sqlite3.Connection, till: str, member: StaffMember, day: date, *, training: bool = False
) -> list[HistoryEntry]:
    """The tickets of `day`, newest first: all of them for a manager, only `member`'s own otherwise."""
    require(member, "own_history")
    everyone = allowed(member, "all_history")
    journal = TRAINING if training else TICKET
    rows = conn.execute(
        "SELECT seq, ts_utc, tz_offset, body, journal FROM fiscal_record "
        "WHERE till = ? AND journal = ? AND day = ? ORDER BY seq DESC",
        (till, journal, day.isoformat()),
    )

    entries = []
    for seq, ts_utc, offset, body_text, journal_name in rows:
        body = json.loads(body_text)
        cashier = body.get("cashier") or {}
        if not everyone and cashier.get("id") != member.id:
            continue
        paid: dict[str, int] = {}
        for tender in body.get("tenders", []):
            paid[str(tender["type"])] = paid.get(str(tender["type"]), 0) + int(tender["amount"])
        training_mark = "F" if journal_name == TRAINING else ""
        entries.append(
            HistoryEntry(
                number=f"{till}-{training_mark}{seq:06d}",
                when=parse_utc(ts_utc).astimezone(timezone(timedelta(minutes=offset))),
                kind=str(body.get("kind", "SALE")),
                cashier_id=cashier.get("id"),
                cashier=str(cashier.get("name", "?")),
                total=int(body["total"]),
                tenders=" + ".join(TENDER_SHORT.get(kind, kind) for kind in paid),
            )
        )
    return entries
