"""Peewee models of the till's own data (catalogue, staff, settings). Fiscal records live in `fiscal`."""

from __future__ import annotations

from peewee import (
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

database_proxy = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy


class Meta(BaseModel):
    """Key/value settings of this data directory (demo flag, creation date...)."""

    key = CharField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "meta"


class Category(BaseModel):
    id = AutoField()
    key = CharField(unique=True)
    name = CharField()
    color = CharField(default="#888888")
    position = IntegerField(default=0)
    flags = CharField(default="")  # comma-separated: meal_voucher, no_loyalty, book

    class Meta:
        table_name = "category"


class Article(BaseModel):
    id = AutoField()
    reference = CharField(unique=True)
    name = CharField()
    category = ForeignKeyField(Category, backref="articles", on_delete="RESTRICT")
    vat_bp = IntegerField()  # VAT rate in basis points: 550 = 5,5 %
    price_cents = IntegerField()  # TTC; per kg when sold by weight
    cost_cents = IntegerField(null=True)
    sold_by_weight = BooleanField(default=False)
    favourite = BooleanField(default=False)
    archived = BooleanField(default=False)

    class Meta:
        table_name = "article"


class Barcode(BaseModel):
    code = CharField(primary_key=True)
    article = ForeignKeyField(Article, backref="barcodes", on_delete="CASCADE")

    class Meta:
        table_name = "barcode"


class User(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    role = CharField()  # admin | manager | cashier
    pin_hash = CharField()
    failed_logins = IntegerField(default=0)
    locked_until = CharField(null=True)  # UTC ISO text
    active = BooleanField(default=True)

    class Meta:
        table_name = "user"


class PrintJob(BaseModel):
    """A receipt waiting for, or sent to, the printer: survives a restart, printed at most once."""

    id = AutoField()
    created_utc = CharField()
    label = CharField()
    data = BlobField()
    state = CharField(default="pending", index=True)  # pending | printing | done | uncertain | cancelled
    error = CharField(null=True)
    printed_utc = CharField(null=True)

    class Meta:
        table_name = "print_job"


MODELS = [Meta, Category, Article, Barcode, User]
