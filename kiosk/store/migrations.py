"""Schema migrations, applied in order at start; PRAGMA user_version holds the applied version.

Each migration runs in its own transaction. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import SqliteDatabase

from .models import MODELS, PrintJob


def _v1_base(db: SqliteDatabase) -> None:
    db.create_tables(MODELS)


def _v2_article_search(db: SqliteDatabase) -> None:
    """Accent- and case-insensitive prefix search on name and reference (FTS5, unicode61)."""
    db.execute_sql(
        "CREATE VIRTUAL TABLE article_search USING fts5("
        "name, reference, content='article', content_rowid='id', "
        "tokenize=\"unicode61 remove_diacritics 2 tokenchars '-'\", prefix='1 2 3')"
    )
    db.execute_sql(
        "CREATE TRIGGER article_search_ai AFTER INSERT ON article BEGIN "
        "INSERT INTO article_search (rowid, name, reference) VALUES (new.id, new.name, new.reference); END"
    )
    db.execute_sql(
        "CREATE TRIGGER article_search_ad AFTER DELETE ON article BEGIN "
        "INSERT INTO article_search (article_search, rowid, name, reference) "
        "VALUES ('delete', old.id, old.name, old.reference); END"
    )
    db.execute_sql(
        "CREATE TRIGGER article_search_au AFTER UPDATE OF name, reference ON article BEGIN "
        "INSERT INTO article_search (article_search, rowid, name, reference) "
        "VALUES ('delete', old.id, old.name, old.reference); "
        "INSERT INTO article_search (rowid, name, reference) VALUES (new.id, new.name, new.reference); END"
    )
    db.execute_sql("INSERT INTO article_search (article_search) VALUES ('rebuild')")


def _v3_print_queue(db: SqliteDatabase) -> None:
    db.create_tables([PrintJob])


def _v4_catalogue_stock_variants(db: SqliteDatabase) -> None:
    """Stock as a ledger of movements (uuid ids: other tills merge them idempotently), its cached
    balance (rebuildable from the movements) and the alert thresholds; quantities in thousandths."""
    db.execute_sql(
        "CREATE TABLE stock_movement ("
        "id TEXT PRIMARY KEY, article_id INTEGER NOT NULL REFERENCES article (id) ON DELETE RESTRICT, "
        "variant_id INTEGER, qty_milli INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', "
        "user TEXT NOT NULL DEFAULT '', ticket TEXT, till TEXT NOT NULL DEFAULT '', created_utc TEXT NOT NULL)"
    )
    db.execute_sql("CREATE INDEX stock_movement_article ON stock_movement (article_id, created_utc)")
    db.execute_sql(
        "CREATE TABLE stock_balance (article_id INTEGER PRIMARY KEY REFERENCES article (id) ON DELETE CASCADE, "
        "qty_milli INTEGER NOT NULL)"
    )
    db.execute_sql(
        "CREATE TABLE stock_alert (article_id INTEGER PRIMARY KEY REFERENCES article (id) ON DELETE CASCADE, "
        "threshold_milli INTEGER NOT NULL)"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS barcode_article ON barcode (article_id)")
    # Variants (size x colour) are articles of their own (reference, barcodes, price, stock), tied to
    # their model article; the price delta keeps their price following the model's.
    db.execute_sql(
        "CREATE TABLE article_variant ("
        "article_id INTEGER PRIMARY KEY REFERENCES article (id) ON DELETE CASCADE, "
        "parent_id INTEGER NOT NULL REFERENCES article (id) ON DELETE CASCADE, "
        "size TEXT NOT NULL DEFAULT '', colour TEXT NOT NULL DEFAULT '', price_delta_cents INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute_sql("CREATE INDEX article_variant_parent ON article_variant (parent_id)")
    # image references (a file name in the data directory's images/), for the sheet, buttons, the portal
    for table in ("article", "category"):
        columns = {row[1] for row in db.execute_sql(f"PRAGMA table_info({table})").fetchall()}
        if "image" not in columns:
            db.execute_sql(f"ALTER TABLE {table} ADD COLUMN image TEXT NOT NULL DEFAULT ''")


MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [
    _v1_base,
    _v2_article_search,
    _v3_print_queue,
    _v4_catalogue_stock_variants,
]
LATEST = len(MIGRATIONS)


class NewerSchemaError(Exception):
    pass


def schema_version(db: SqliteDatabase) -> int:
    return int(db.execute_sql("PRAGMA user_version").fetchone()[0])


def migrate(db: SqliteDatabase, target: int = LATEST) -> list[int]:
    """Apply the missing migrations up to `target`; returns the versions applied."""
    current = schema_version(db)
    if current > LATEST:
        raise NewerSchemaError(
            f"Ces données viennent d'une version plus récente du logiciel (schéma {current} > {LATEST}) : "
            "mettez la caisse à jour."
        )
    applied = []
    for version in range(current + 1, target + 1):
        with db.atomic():
            MIGRATIONS[version - 1](db)
            db.execute_sql(f"PRAGMA user_version = {version}")
        applied.append(version)
    return applied
