"""The SQLite connection: WAL, synchronous=FULL (a committed sale survives a power cut), foreign keys."""

from __future__ import annotations

from pathlib import Path

from peewee import SqliteDatabase

from kiosk.store.migrations import migrate
from kiosk.store.models import database_proxy

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "busy_timeout": 10000,
}

DB_NAME = "kiosk.sqlite"


def connect(path: Path) -> SqliteDatabase:
    """A peewee database on `path` (BEGIN IMMEDIATE transactions), bound to the models."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = SqliteDatabase(str(path), pragmas=PRAGMAS, lock_type="IMMEDIATE")
    database_proxy.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def open_database(path: Path) -> SqliteDatabase:
    """Connect and bring the schema up to date."""
    db = connect(path)
    migrate(db)
    return db
