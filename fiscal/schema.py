"""Fiscal tables, created in the till's SQLite database; append-only by triggers."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS fiscal_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fiscal_key (
    key_id TEXT PRIMARY KEY,
    till TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fiscal_record (
    id INTEGER PRIMARY KEY,
    till TEXT NOT NULL,
    journal TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rtype TEXT NOT NULL,
    ts_utc TEXT NOT NULL,
    tz_offset INTEGER NOT NULL,
    day TEXT NOT NULL,
    total INTEGER,
    body TEXT NOT NULL,
    prev_sig TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sig TEXT NOT NULL,
    UNIQUE (till, journal, seq)
);
CREATE INDEX IF NOT EXISTS fiscal_record_day ON fiscal_record (till, journal, day);
CREATE TRIGGER IF NOT EXISTS fiscal_record_no_update BEFORE UPDATE ON fiscal_record
BEGIN SELECT RAISE(ABORT, 'fiscal records are append-only: record a correction instead'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_record_no_delete BEFORE DELETE ON fiscal_record
BEGIN SELECT RAISE(ABORT, 'fiscal records are append-only: they are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_key_no_update BEFORE UPDATE ON fiscal_key
BEGIN SELECT RAISE(ABORT, 'fiscal keys are append-only'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_key_no_delete BEFORE DELETE ON fiscal_key
BEGIN SELECT RAISE(ABORT, 'fiscal keys are append-only'); END;
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the fiscal tables if needed (idempotent; never alters existing fiscal rows)."""
    conn.executescript(DDL)
    conn.execute(
        "INSERT OR IGNORE INTO fiscal_meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
