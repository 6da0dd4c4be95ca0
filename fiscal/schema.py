"""Fiscal tables, created in the till's SQLite database; append-only by triggers."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

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
CREATE TABLE IF NOT EXISTS fiscal_purge (
    till TEXT NOT NULL,
    journal TEXT NOT NULL,
    up_to_seq INTEGER NOT NULL,
    purge_seq INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS fiscal_purge_no_update BEFORE UPDATE ON fiscal_purge
BEGIN SELECT RAISE(ABORT, 'fiscal purges are append-only'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_purge_no_delete BEFORE DELETE ON fiscal_purge
BEGIN SELECT RAISE(ABORT, 'fiscal purges are append-only'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_key_no_update BEFORE UPDATE ON fiscal_key
BEGIN SELECT RAISE(ABORT, 'fiscal keys are append-only'); END;
CREATE TRIGGER IF NOT EXISTS fiscal_key_no_delete BEFORE DELETE ON fiscal_key
BEGIN SELECT RAISE(ABORT, 'fiscal keys are append-only'); END;
"""

# Only the rows a purge (fiscal.purge: a signed JET PURGE record, then a fiscal_purge row, in one
# transaction) covers may be deleted; nothing else, ever. Version 1 refused every delete.
NO_DELETE = """
CREATE TRIGGER fiscal_record_no_delete BEFORE DELETE ON fiscal_record
WHEN NOT EXISTS (
    SELECT 1 FROM fiscal_purge p
    WHERE p.till = old.till AND p.journal = old.journal AND old.seq <= p.up_to_seq
)
BEGIN SELECT RAISE(ABORT, 'fiscal records are append-only: they are never deleted'); END;
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the fiscal tables if needed, or bring them to SCHEMA_VERSION (never alters fiscal rows)."""
    conn.executescript(DDL)
    row = conn.execute("SELECT value FROM fiscal_meta WHERE key = 'schema_version'").fetchone()
    if row is None or int(row[0]) < SCHEMA_VERSION:
        conn.executescript(
            "BEGIN IMMEDIATE; DROP TRIGGER IF EXISTS fiscal_record_no_delete;"
            + NO_DELETE
            + f"INSERT OR REPLACE INTO fiscal_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');"
            + "COMMIT;"
        )
