"""`kiosk demo init`: fill an empty data directory with the demo shop (idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kiosk.catalogue.articles import PLU_PREFIX
from kiosk.demo.catalogue_data import ARTICLES, CATEGORIES
from kiosk.store import Article, Barcode, Category, Meta, User
from kiosk.store.loyalty_models import Customer
from kiosk.till import Till

DEMO_USERS = (  # name, role, PIN — printed in the README
    ("Alice", "admin", "111111"),
    ("Marc", "manager", "222222"),
    ("Camille", "cashier", "333333"),
)


# Every device simulated: what the tests and benchmarks run on, whatever is plugged into the machine.
SIMULATED_DEVICES = """
[devices.printer]
backend = "simulated"
[devices.drawer]
backend = "simulated"
[devices.scanner]
backend = "simulated"
[devices.display]
backend = "simulated"
[devices.scale]
backend = "simulated"
[devices.payment]
backend = "simulated"
[cash]
float_at_login = false
"""


DEMO_DEVICES = """# Written by `kiosk demo init`: a card terminal and a scale for the demo, simulated.
[devices.payment]
backend = "simulated"
[devices.scale]
backend = "simulated"
"""


class NotADemoDirectory(Exception):
    pass


def init_demo(till: Till) -> bool:
    """Create the demo shop; False when it already exists. Refuses a data directory with real data."""
    if till.is_demo:
        return False
    if Article.select().exists() or User.select().exists():
        raise NotADemoDirectory(
            f"{till.data_dir} contient déjà des données qui ne sont pas celles de la démonstration : "
            "choisissez un répertoire vide (--data-dir)."
        )
    settings = till.data_dir / "kiosk.toml"
    if not settings.exists():  # the demo shop has every device, simulated where none is plugged in
        settings.write_text(DEMO_DEVICES, "utf-8")
    with till.db.atomic():
        Meta.create(key="demo", value="1")
        categories = {}
        for cat in CATEGORIES:
            categories[cat.key] = Category.create(
                key=cat.key,
                name=cat.name,
                color=cat.color,
                position=cat.position,
                flags=",".join(sorted(cat.flags)),
            )
        weighed = 0
        for art in ARTICLES:
            article = Article.create(
                reference=art.reference,
                name=art.name,
                category=categories[art.category],
                vat_bp=art.vat_bp,
                price_cents=art.price_cents,
                sold_by_weight=art.sold_by_weight,
                favourite=art.favourite,
            )
            if art.barcode:
                Barcode.create(code=art.barcode, article=article)
            if art.sold_by_weight:  # the scale's article number, printed in its labels
                weighed += 1
                Barcode.create(code=f"{PLU_PREFIX}{weighed:05d}", article=article)
    for name, role, pin in DEMO_USERS:
        till.staff.create(name, role, pin)
    return True


def open_demo_till(data_dir: Path, clock: Callable[[], datetime] | None = None) -> Till:
    """A new data directory with simulated devices and the demo shop (tests, benchmarks)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
    till = Till.open(data_dir, clock=clock)
    init_demo(till)
    return till


# Fictitious customers: the 06 39 98 xx xx numbers are reserved by ARCEP for fiction, never allocated.
DEMO_CUSTOMERS = (
    ("06 39 98 00 01", "Hélène", "Durand"),
    ("06 39 98 00 02", "Marc", "Lefèvre"),
    ("06 39 98 00 03", "Inès", "Moreau"),
    ("06 39 98 00 04", "Jules", "Garnier"),
    ("06 39 98 00 05", "Chloé", "Fabre"),
    ("06 39 98 00 06", "Louis", "Chevalier"),
    ("06 39 98 00 07", "Emma", "Roux"),
    ("06 39 98 00 08", "Hugo", "Bonnet"),
)


def init_demo_loyalty(till: Till) -> bool:
    """The demo shop's loyalty programme (5 % in a kitty, full at 10 €) and a few fictitious customers;
    False when a programme is already set up."""
    if till.loyalty.programme() is not None:
        return False
    admin = next(m for m in till.staff.members() if m.role == "admin")
    till.loyalty.set_up(admin, "percent", "Cagnotte du marché", {"rate_bp": 500, "full_at_cents": 1000})
    now = till.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with till.db.atomic():  # stored as is: these fiction numbers are not valid for phonenumbers, by design
        for phone, first, last in DEMO_CUSTOMERS:
            e164 = "+33" + phone.replace(" ", "")[1:]
            if not Customer.select().where(Customer.phone == e164).exists():
                Customer.create(
                    phone=e164,
                    first_name=first,
                    last_name=last,
                    consent_utc=now,
                    consent_text="demo",
                    created_utc=now,
                )
    return True
