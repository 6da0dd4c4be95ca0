"""Peewee models of the customer directory and the loyalty ledger (never in the fiscal journals)."""

from __future__ import annotations

from peewee import AutoField, CharField, ForeignKeyField, IntegerField, TextField

from kiosk.store.models import BaseModel


class Customer(BaseModel):
    """A directory entry. Only the phone number is mandatory; an erased customer keeps its id (the
    ledger and the sales it is linked to stay whole) and loses every personal field."""

    id = AutoField()
    phone = CharField(null=True, unique=True)  # E.164, None once erased
    first_name = CharField(default="")
    last_name = CharField(default="")
    email = CharField(default="")
    birth_date = CharField(default="")  # YYYY-MM-DD or ""
    address = TextField(default="")
    consent_utc = CharField(null=True)  # when the customer agreed to the programme's terms
    consent_text = CharField(default="")  # which notice they agreed to
    created_utc = CharField()
    last_visit_utc = CharField(null=True)
    erased_utc = CharField(null=True)

    class Meta:
        table_name = "customer"


class CardToken(BaseModel):
    """A payment card recognised by a keyed, non-reversible token (never the card number)."""

    token = CharField(primary_key=True)
    customer = ForeignKeyField(Customer, backref="cards", on_delete="CASCADE")
    masked_tail = CharField(default="")  # the last 4 digits, as the seed says the shop sees them
    created_utc = CharField()

    class Meta:
        table_name = "card_token"


class Programme(BaseModel):
    """A loyalty programme: kind stamps | band | percent; params as JSON; one active or suspended."""

    id = AutoField()
    kind = CharField()
    name = CharField()
    params = TextField()  # JSON
    valid_from = CharField(default="")  # YYYY-MM-DD or ""
    valid_to = CharField(default="")
    state = CharField(default="active")  # active | suspended | deleted
    created_utc = CharField()

    class Meta:
        table_name = "loyalty_programme"


class LoyaltyEntry(BaseModel):
    """One line of a customer's loyalty ledger (earn, redeem, expire, adjust, reverse): append-only, its
    id global, so the shop's tills and the portal merge ledgers by id; balances are sums."""

    id = CharField(primary_key=True)  # uuid4 hex
    customer = ForeignKeyField(Customer, backref="entries", on_delete="RESTRICT")
    programme = IntegerField(null=True)
    kind = CharField()
    kitty_cents = IntegerField(default=0)
    stamps = IntegerField(default=0)
    reward_cents = IntegerField(default=0)  # redeem: what the reward was worth to the customer
    ticket = CharField(default="")  # T01-000042
    till = CharField()
    created_utc = CharField()
    note = CharField(default="")

    class Meta:
        table_name = "loyalty_entry"


class CustomerSale(BaseModel):
    """A fiscal ticket attached to a customer after payment (the fiscal record itself is never touched)."""

    ticket = CharField(primary_key=True)  # T01-000042
    customer = ForeignKeyField(Customer, backref="sales", on_delete="RESTRICT")
    total_cents = IntegerField()
    created_utc = CharField()

    class Meta:
        table_name = "customer_sale"


LOYALTY_MODELS = [Customer, CardToken, Programme, LoyaltyEntry, CustomerSale]
