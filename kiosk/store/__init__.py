"""Persistence: peewee models over SQLite (WAL, synchronous=FULL, foreign keys), versioned migrations."""

from kiosk.store.db import open_database
from kiosk.store.models import Article, Barcode, Category, Meta, User, database_proxy

__all__ = ["Article", "Barcode", "Category", "Meta", "User", "database_proxy", "open_database"]
