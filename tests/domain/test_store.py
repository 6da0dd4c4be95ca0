"""The SQLite store: durability pragmas and upgrade of a data directory from an older schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.catalogue.articles import Catalogue
from kiosk.store import Article, Category
from kiosk.store.db import connect, open_database
from kiosk.store.migrations import LATEST, NewerSchemaError, migrate, schema_version


def test_pragmas_make_commits_durable(tmp_path: Path) -> None:
    db = open_database(tmp_path / "k.sqlite")
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == LATEST
    db.close()


def test_data_directory_from_version_1_upgrades_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = connect(path)
    assert migrate(db, target=1) == [1]
    bread = Category.create(key="pain", name="Pain")
    Article.create(reference="P1", name="Crème fraîche épaisse", category=bread, vat_bp=550, price_cents=189)
    db.close()

    db = open_database(path)
    assert schema_version(db) == LATEST
    found = Catalogue(db).search("creme")
    assert [a.name for a in found] == ["Crème fraîche épaisse"]
    db.close()


def test_newer_schema_is_refused_in_french(tmp_path: Path) -> None:
    db = open_database(tmp_path / "k.sqlite")
    db.execute_sql(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(NewerSchemaError, match="mettez la caisse à jour"):
        migrate(db)
    db.close()


def test_frozen_migrations_create_every_column_the_models_use(tmp_path) -> None:
    """Migrations hold the SQL of their version; a model that gains a field needs a new migration, or
    the till would fail on that column in the shop, not here."""
    from kiosk.store import models
    from kiosk.store.loyalty_models import LOYALTY_MODELS

    db = open_database(tmp_path / "kiosk.sqlite")
    every_model = {*models.MODELS, models.PrintJob, models.CreditNote, models.CreditNoteMove}
    every_model |= {models.ReturnedLine, *LOYALTY_MODELS}
    for model in every_model:
        table = model._meta.table_name
        columns = {row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()}
        wanted = {field.column_name for field in model._meta.sorted_fields}
        assert wanted <= columns, f"{table}: no migration creates {sorted(wanted - columns)}"
