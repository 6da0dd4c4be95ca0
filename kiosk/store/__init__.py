"""Persistence: peewee models over SQLite (WAL, synchronous=FULL, foreign keys), versioned migrations."""

from .db import open_database
from .models import Article, Barcode, Category, Meta, User, database_proxy

__all__ = ["Article", "Barcode", "Category", "Meta", "User", "database_proxy", "open_database"]
