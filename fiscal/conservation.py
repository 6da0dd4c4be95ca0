"""Conservation (NF525): fiscal records are kept at least six years and only archived periods may ever
leave the database. This module says whether a purge may happen; fiscal.purge does it."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from .journal import ARCHIVE, FiscalError

KEEP_YEARS = 6


def _months(start: str, end: date) -> list[str]:
    year, month = int(start[:4]), int(start[5:7])
    months = []
    while (year, month) < (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def check_purge(conn: sqlite3.Connection, till: str, before: date, today: date) -> None:
    """Raise FiscalError (French, says why) unless every record before `before` is older than six years
    and archived: each month by its own archive, its year's, or archives of every day it has records."""
    limit = today.replace(year=today.year - KEEP_YEARS)
    if before > limit:
        raise FiscalError(
            f"Les données fiscales se conservent {KEEP_YEARS} ans : rien d'antérieur au "
            f"{limit:%d/%m/%Y} ne peut être purgé, et rien n'est supprimé."
        )
    first = conn.execute(
        "SELECT MIN(day) FROM fiscal_record WHERE till = ? AND journal != ?", (till, ARCHIVE)
    ).fetchone()[0]
    archived: set[str] = set()
    for (body,) in conn.execute(
        "SELECT body FROM fiscal_record WHERE till = ? AND journal = ?", (till, ARCHIVE)
    ):
        archived.add(str(json.loads(body).get("period", "")))

    def covered(month: str) -> bool:
        if month in archived or month[:4] in archived:
            return True
        days = conn.execute(
            "SELECT DISTINCT day FROM fiscal_record WHERE till = ? AND journal != ? AND day LIKE ?",
            (till, ARCHIVE, f"{month}-%"),
        )
        return all(day in archived for (day,) in days)

    missing = [m for m in _months(first, before) if not covered(m)] if first else []
    if missing:
        raise FiscalError(
            f"Période(s) non archivée(s) ({', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}) : "
            "faites d'abord les archives (kiosk fiscal archive). Rien n'est supprimé."
        )
