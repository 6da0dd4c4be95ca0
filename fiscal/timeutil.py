"""Fiscal timestamps: stored in UTC with the local offset, and the local calendar day they belong to."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(when: datetime) -> tuple[str, int, str]:
    """(UTC ISO text with microseconds and Z, offset in minutes east of UTC, local day YYYY-MM-DD)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("fiscal timestamps must be timezone-aware")
    offset = when.utcoffset()
    assert offset is not None
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), int(offset.total_seconds() // 60), when.date().isoformat()


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
