"""Schema migrations, applied in order at start; PRAGMA user_version holds the applied version.

Each migration runs in its own transaction. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import SqliteDatabase

from kiosk.store.models import MODELS, CreditNote, CreditNoteMove, PrintJob, ReturnedLine


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


def _v4_loyalty(db: SqliteDatabase) -> None:
    """Customers and the loyalty ledger; the ledger is append-only (balances are sums of its lines)."""
    from kiosk.store.loyalty_models import LOYALTY_MODELS

    db.create_tables(LOYALTY_MODELS)
    db.execute_sql("CREATE INDEX loyalty_entry_customer ON loyalty_entry (customer_id)")
    db.execute_sql("CREATE INDEX customer_sale_customer ON customer_sale (customer_id)")
    for action in ("UPDATE", "DELETE"):
        db.execute_sql(
            f"CREATE TRIGGER loyalty_entry_no_{action.lower()} BEFORE {action} ON loyalty_entry BEGIN "
            "SELECT RAISE(ABORT, 'the loyalty ledger is append-only: add a correcting line'); END"
        )


def _v5_receipt_requests(db: SqliteDatabase) -> None:
    """Receipts to send by e-mail or SMS (kiosk.receipts.digital_outbox); a finished row keeps no recipient."""
    db.execute_sql(
        "CREATE TABLE receipt_request ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "created_utc TEXT NOT NULL, "
        "kind TEXT NOT NULL CHECK (kind IN ('email', 'sms')), "
        "ticket TEXT NOT NULL, "
        "recipient TEXT, "
        "state TEXT NOT NULL DEFAULT 'pending' "
        "CHECK (state IN ('pending', 'sending', 'sent', 'handed', 'failed')), "
        "attempts INTEGER NOT NULL DEFAULT 0, "
        "next_try_utc TEXT NOT NULL, "
        "last_error TEXT, "
        "payload TEXT NOT NULL, "
        "done_utc TEXT, "
        "CHECK (state IN ('pending', 'sending') OR recipient IS NULL))"
    )
    db.execute_sql("CREATE INDEX receipt_request_due ON receipt_request (kind, state, next_try_utc)")


def _v6_credit_notes(db: SqliteDatabase) -> None:
    """Credit notes with their append-only moves, and the lines taken back by returns."""
    db.create_tables([CreditNote, CreditNoteMove, ReturnedLine])
    for table in ("credit_note", "credit_note_move", "returned_line"):
        db.execute_sql(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
        db.execute_sql(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _v7_cash_control(db: SqliteDatabase) -> None:
    """Cash movements (float, cash in, cash out) and drawer counts: append-only, like the journals."""
    db.execute_sql(
        "CREATE TABLE cash_movement (id INTEGER PRIMARY KEY, created_utc TEXT NOT NULL, day TEXT NOT NULL, "
        "kind TEXT NOT NULL CHECK (kind IN ('FLOAT', 'IN', 'OUT')), amount INTEGER NOT NULL CHECK (amount >= 0), "
        "reason TEXT NOT NULL, user_id INTEGER, user_name TEXT NOT NULL, authorised_by TEXT)"
    )
    db.execute_sql("CREATE INDEX cash_movement_day ON cash_movement (day)")
    db.execute_sql(
        "CREATE TABLE cash_count (id INTEGER PRIMARY KEY, created_utc TEXT NOT NULL, day TEXT NOT NULL, "
        "float INTEGER NOT NULL, sales INTEGER NOT NULL, refunds INTEGER NOT NULL, cash_in INTEGER NOT NULL, "
        "cash_out INTEGER NOT NULL, expected INTEGER NOT NULL, counted INTEGER NOT NULL, "
        "difference INTEGER NOT NULL, denominations TEXT NOT NULL, user_id INTEGER, user_name TEXT NOT NULL)"
    )
    db.execute_sql("CREATE INDEX cash_count_day ON cash_count (day)")
    for table in ("cash_movement", "cash_count"):
        for act in ("UPDATE", "DELETE"):
            db.execute_sql(
                f"CREATE TRIGGER {table}_no_{act.lower()} BEFORE {act} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a correction'); END"
            )


def _v8_parked_tickets(db: SqliteDatabase) -> None:
    """Sales put on hold (« mise en attente »): working data, not fiscal until paid."""
    db.execute_sql(
        "CREATE TABLE parked_ticket (id INTEGER PRIMARY KEY, created_utc TEXT NOT NULL, name TEXT NOT NULL, "
        "user_id INTEGER, user_name TEXT NOT NULL, total INTEGER NOT NULL, lines TEXT NOT NULL, "
        "basket TEXT NOT NULL DEFAULT '{}')"
    )


def _v9_stock_variants(db: SqliteDatabase) -> None:
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


def _v10_uplink_outbox(db: SqliteDatabase) -> None:
    """The uplink's outbox (events sent to the portal), fleet command nonces, inbound events applied."""
    from kiosk.uplink.outbox import CREATE_SQL

    for statement in CREATE_SQL:
        db.execute_sql(statement)


MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [
    _v1_base,
    _v2_article_search,
    _v3_print_queue,
    _v4_loyalty,
    _v5_receipt_requests,
    _v6_credit_notes,
    _v7_cash_control,
    _v8_parked_tickets,
    _v9_stock_variants,
    _v10_uplink_outbox,
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
