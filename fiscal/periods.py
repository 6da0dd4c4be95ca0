"""Fiscal periods: a day, a calendar month, a fiscal year (or a calendar year for archives), their
bounds and their French names. Pure date arithmetic: no database, no signature."""

from __future__ import annotations

import calendar
import re
from datetime import date

DAY = "DAY"
MONTH = "MONTH"
YEAR = "YEAR"
KINDS = (DAY, MONTH, YEAR)

MONTH_NAMES = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class PeriodError(ValueError):
    """A period that cannot be read (message in French)."""


def fr_date(value: date | str) -> str:
    """2026-11-25 → 25/11/2026."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")


def period_label(kind: str, period: str) -> str:
    """« la journée du 25/11/2026 », « le mois de novembre 2026 », « l'exercice 2026 »."""
    if kind == DAY:
        return f"la journée du {fr_date(period)}"
    if kind == MONTH:
        return f"le mois de {MONTH_NAMES[int(period[5:7]) - 1]} {period[:4]}"
    if kind == YEAR:
        return f"l'exercice {period}"
    return f"la période {period}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} out of range")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def fiscal_year_bounds(year: int, first_month: int = 1) -> tuple[date, date]:
    """First and last day of the fiscal year named `year` (the calendar year it starts in)."""
    if not 1 <= first_month <= 12:
        raise ValueError(f"first_month {first_month} out of range")
    start = date(year, first_month, 1)
    end_year, end_month = (year, 12) if first_month == 1 else (year + 1, first_month - 1)
    return start, month_bounds(end_year, end_month)[1]


def fiscal_year_of(day: date, first_month: int = 1) -> int:
    return day.year if day.month >= first_month else day.year - 1


def period_bounds(period: str) -> tuple[date, date]:
    """First and last local day of "YYYY-MM-DD", "YYYY-MM" or "YYYY" (the *calendar* year)."""
    match = _PERIOD.match(period)
    if not match:
        raise PeriodError(f"période {period!r} : attendu AAAA-MM-JJ, AAAA-MM ou AAAA")
    year, month, day = (int(part) if part else None for part in match.groups())
    assert year is not None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return month_bounds(year, month)
        return date(year, month, day), date(year, month, day)
    except ValueError as exc:
        raise PeriodError(f"période {period!r} : date impossible") from exc
