"""« Analyse fidélité »: per period, sales, enrolments, purchases by members, rewards, visit frequency;
best, member and inactive customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from peewee import SqliteDatabase

from fiscal.timeutil import stamp


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def utc_bounds(self, tz: Any) -> tuple[str, str]:
        low = stamp(datetime.combine(self.start, time.min, tz))[0]
        high = stamp(datetime.combine(self.end + timedelta(days=1), time.min, tz))[0]
        return low, high


def loyalty_stats(
    db: SqliteDatabase, till: str, period: Period, tz: Any, now: datetime, inactive_days: int, top: int = 5
) -> dict[str, Any]:
    low, high = period.utc_bounds(tz)
    sales_count, sales_cents = db.execute_sql(
        "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM fiscal_record "
        "WHERE till = ? AND journal = 'TICKET' AND rtype = 'SALE' AND day BETWEEN ? AND ?",
        (till, period.start.isoformat(), period.end.isoformat()),
    ).fetchone()
    enrolments = db.execute_sql(
        "SELECT COUNT(*) FROM customer WHERE created_utc >= ? AND created_utc < ?", (low, high)
    ).fetchone()[0]
    member_count, member_cents, members = db.execute_sql(
        "SELECT COUNT(*), COALESCE(SUM(total_cents), 0), COUNT(DISTINCT customer_id) FROM customer_sale "
        "WHERE total_cents > 0 AND created_utc >= ? AND created_utc < ?",
        (low, high),
    ).fetchone()
    rewards_count, rewards_cents = db.execute_sql(
        "SELECT COUNT(*), COALESCE(SUM(reward_cents), 0) FROM loyalty_entry "
        "WHERE kind = 'redeem' AND created_utc >= ? AND created_utc < ?",
        (low, high),
    ).fetchone()
    best = [
        {"customer": customer, "visits": visits, "spent_cents": spent}
        for customer, visits, spent in db.execute_sql(
            "SELECT customer_id, COUNT(*), SUM(total_cents) AS spent FROM customer_sale "
            "WHERE created_utc >= ? AND created_utc < ? GROUP BY customer_id ORDER BY spent DESC LIMIT ?",
            (low, high, top),
        )
    ]
    inactive_since = stamp(now - timedelta(days=inactive_days))[0]
    inactive = [
        row[0]
        for row in db.execute_sql(
            "SELECT id FROM customer WHERE erased_utc IS NULL AND COALESCE(last_visit_utc, created_utc) < ? "
            "ORDER BY id",
            (inactive_since,),
        )
    ]
    total_members = db.execute_sql("SELECT COUNT(*) FROM customer WHERE erased_utc IS NULL").fetchone()[0]
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "sales_count": sales_count,
        "sales_cents": sales_cents,
        "enrolments": enrolments,
        "member_purchases": member_count,
        "member_cents": member_cents,
        "member_share_bp": member_cents * 10_000 // sales_cents if sales_cents else 0,
        "active_members": members,
        "visits_per_member_x100": member_count * 100 // members if members else 0,
        "rewards_count": rewards_count,
        "rewards_cents": rewards_cents,
        "best": best,
        "members": total_members,
        "inactive": inactive,
    }
