"""Schema migrations, applied in order at start; PRAGMA user_version holds the applied version.

Each migration runs in its own transaction. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import SqliteDatabase

# The SQL each model-based migration created when it was released, frozen here: a later change to a
# model (kiosk.store.models) or to another room's tables must not change what an old migration does.
V1_BASE = (
    'CREATE TABLE "category" ("id" INTEGER NOT NULL PRIMARY KEY, "key" VARCHAR(255) NOT NULL, "name" VARCHAR(255) NOT NULL, "color" VARCHAR(255) NOT NULL, "position" INTEGER NOT NULL, "flags" VARCHAR(255) NOT NULL)',
    'CREATE UNIQUE INDEX "category_key" ON "category" ("key")',
    'CREATE TABLE "article" ("id" INTEGER NOT NULL PRIMARY KEY, "reference" VARCHAR(255) NOT NULL, "name" VARCHAR(255) NOT NULL, "category_id" INTEGER NOT NULL, "vat_bp" INTEGER NOT NULL, "price_cents" INTEGER NOT NULL, "cost_cents" INTEGER, "sold_by_weight" INTEGER NOT NULL, "favourite" INTEGER NOT NULL, "archived" INTEGER NOT NULL, FOREIGN KEY ("category_id") REFERENCES "category" ("id") ON DELETE RESTRICT)',
    'CREATE UNIQUE INDEX "article_reference" ON "article" ("reference")',
    'CREATE INDEX "article_category_id" ON "article" ("category_id")',
    'CREATE TABLE "barcode" ("code" VARCHAR(255) NOT NULL PRIMARY KEY, "article_id" INTEGER NOT NULL, FOREIGN KEY ("article_id") REFERENCES "article" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "barcode_article_id" ON "barcode" ("article_id")',
    'CREATE TABLE "meta" ("key" VARCHAR(255) NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
    'CREATE TABLE "user" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "role" VARCHAR(255) NOT NULL, "pin_hash" VARCHAR(255) NOT NULL, "failed_logins" INTEGER NOT NULL, "locked_until" VARCHAR(255), "active" INTEGER NOT NULL)',
    'CREATE UNIQUE INDEX "user_name" ON "user" ("name")',
)

V3_PRINT_QUEUE = (
    'CREATE TABLE "print_job" ("id" INTEGER NOT NULL PRIMARY KEY, "created_utc" VARCHAR(255) NOT NULL, "label" VARCHAR(255) NOT NULL, "data" BLOB NOT NULL, "state" VARCHAR(255) NOT NULL, "error" VARCHAR(255), "printed_utc" VARCHAR(255))',
    'CREATE INDEX "printjob_state" ON "print_job" ("state")',
)

V4_LOYALTY = (
    'CREATE TABLE "customer" ("id" INTEGER NOT NULL PRIMARY KEY, "phone" VARCHAR(255), "first_name" VARCHAR(255) NOT NULL, "last_name" VARCHAR(255) NOT NULL, "email" VARCHAR(255) NOT NULL, "birth_date" VARCHAR(255) NOT NULL, "address" TEXT NOT NULL, "consent_utc" VARCHAR(255), "consent_text" VARCHAR(255) NOT NULL, "created_utc" VARCHAR(255) NOT NULL, "last_visit_utc" VARCHAR(255), "erased_utc" VARCHAR(255))',
    'CREATE UNIQUE INDEX "customer_phone" ON "customer" ("phone")',
    'CREATE TABLE "card_token" ("token" VARCHAR(255) NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, "masked_tail" VARCHAR(255) NOT NULL, "created_utc" VARCHAR(255) NOT NULL, FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "cardtoken_customer_id" ON "card_token" ("customer_id")',
    'CREATE TABLE "customer_sale" ("ticket" VARCHAR(255) NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, "total_cents" INTEGER NOT NULL, "created_utc" VARCHAR(255) NOT NULL, FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE RESTRICT)',
    'CREATE INDEX "customersale_customer_id" ON "customer_sale" ("customer_id")',
    'CREATE TABLE "loyalty_entry" ("id" VARCHAR(255) NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, "programme" INTEGER, "kind" VARCHAR(255) NOT NULL, "kitty_cents" INTEGER NOT NULL, "stamps" INTEGER NOT NULL, "reward_cents" INTEGER NOT NULL, "ticket" VARCHAR(255) NOT NULL, "till" VARCHAR(255) NOT NULL, "created_utc" VARCHAR(255) NOT NULL, "note" VARCHAR(255) NOT NULL, FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE RESTRICT)',
    'CREATE INDEX "loyaltyentry_customer_id" ON "loyalty_entry" ("customer_id")',
    'CREATE TABLE "loyalty_programme" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(255) NOT NULL, "name" VARCHAR(255) NOT NULL, "params" TEXT NOT NULL, "valid_from" VARCHAR(255) NOT NULL, "valid_to" VARCHAR(255) NOT NULL, "state" VARCHAR(255) NOT NULL, "created_utc" VARCHAR(255) NOT NULL)',
    "CREATE INDEX loyalty_entry_customer ON loyalty_entry (customer_id)",
    "CREATE INDEX customer_sale_customer ON customer_sale (customer_id)",
    "CREATE TRIGGER loyalty_entry_no_update BEFORE UPDATE ON loyalty_entry BEGIN SELECT RAISE(ABORT, 'the loyalty ledger is append-only: add a correcting line'); END",
    "CREATE TRIGGER loyalty_entry_no_delete BEFORE DELETE ON loyalty_entry BEGIN SELECT RAISE(ABORT, 'the loyalty ledger is append-only: add a correcting line'); END",
)

V6_CREDIT_NOTES = (
    'CREATE TABLE "credit_note" ("id" INTEGER NOT NULL PRIMARY KEY, "number" VARCHAR(255) NOT NULL, "amount" INTEGER NOT NULL, "issued_utc" VARCHAR(255) NOT NULL, "expires" VARCHAR(255) NOT NULL, "ticket" VARCHAR(255) NOT NULL)',
    'CREATE UNIQUE INDEX "creditnote_number" ON "credit_note" ("number")',
    'CREATE TABLE "credit_note_move" ("id" INTEGER NOT NULL PRIMARY KEY, "credit_note_id" INTEGER NOT NULL, "kind" VARCHAR(255) NOT NULL, "amount" INTEGER NOT NULL, "ticket" VARCHAR(255) NOT NULL, "created_utc" VARCHAR(255) NOT NULL, FOREIGN KEY ("credit_note_id") REFERENCES "credit_note" ("id") ON DELETE RESTRICT)',
    'CREATE INDEX "creditnotemove_credit_note_id" ON "credit_note_move" ("credit_note_id")',
    'CREATE TABLE "returned_line" ("id" INTEGER NOT NULL PRIMARY KEY, "original" VARCHAR(255) NOT NULL, "line" INTEGER NOT NULL, "qty" VARCHAR(255) NOT NULL, "amount" INTEGER NOT NULL, "return_ticket" VARCHAR(255) NOT NULL)',
    'CREATE INDEX "returnedline_original" ON "returned_line" ("original")',
    "CREATE TRIGGER credit_note_no_update BEFORE UPDATE ON credit_note BEGIN SELECT RAISE(ABORT, 'credit_note is append-only'); END",
    "CREATE TRIGGER credit_note_no_delete BEFORE DELETE ON credit_note BEGIN SELECT RAISE(ABORT, 'credit_note is append-only'); END",
    "CREATE TRIGGER credit_note_move_no_update BEFORE UPDATE ON credit_note_move BEGIN SELECT RAISE(ABORT, 'credit_note_move is append-only'); END",
    "CREATE TRIGGER credit_note_move_no_delete BEFORE DELETE ON credit_note_move BEGIN SELECT RAISE(ABORT, 'credit_note_move is append-only'); END",
    "CREATE TRIGGER returned_line_no_update BEFORE UPDATE ON returned_line BEGIN SELECT RAISE(ABORT, 'returned_line is append-only'); END",
    "CREATE TRIGGER returned_line_no_delete BEFORE DELETE ON returned_line BEGIN SELECT RAISE(ABORT, 'returned_line is append-only'); END",
)

V10_UPLINK_OUTBOX = (
    "CREATE TABLE outbox ( seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, schema INTEGER NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE outbox_state ( id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL)",
    "INSERT INTO outbox_state (id, last_seq, acked_seq) VALUES (1, 0, 0)",
    "CREATE TABLE fleet_nonce (nonce TEXT PRIMARY KEY, expires TEXT NOT NULL)",
    "CREATE TABLE inbound_applied (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, applied_at TEXT NOT NULL)",
)


def _run(db: SqliteDatabase, statements: tuple[str, ...]) -> None:
    for statement in statements:
        db.execute_sql(statement)


def _v1_base(db: SqliteDatabase) -> None:
    _run(db, V1_BASE)


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
    _run(db, V3_PRINT_QUEUE)


def _v4_loyalty(db: SqliteDatabase) -> None:
    """Customers and the loyalty ledger; the ledger is append-only (balances are sums of its lines)."""
    _run(db, V4_LOYALTY)


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
    _run(db, V6_CREDIT_NOTES)


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
    _run(db, V10_UPLINK_OUTBOX)


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
