"""A clock the test sets; every reading moves it on by one second, like time passing at the till."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(seconds=1)
        return now

    def set(self, day: date, hour: int = 9, minute: int = 0) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
