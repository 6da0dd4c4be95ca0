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


def _v4_uplink_outbox(db: SqliteDatabase) -> None:
    """The uplink's outbox (events sent to the portal), fleet command nonces, inbound events applied."""
    from ..uplink.outbox import CREATE_SQL

    for statement in CREATE_SQL:
        db.execute_sql(statement)


MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [
    _v1_base,
    _v2_article_search,
    _v3_print_queue,
    _v4_uplink_outbox,
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
