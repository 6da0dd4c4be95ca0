"""One till of the two-till uplink tests, in its own process: peewee binds its models to one database
per process, as on a real till. Prints one JSON line with what the test checks.

    python -m tests.support.uplink_till DATA_DIR sell-and-earn | kitty EXPECTED_CENTS
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path

from kiosk.sale.basket import Basket
from kiosk.sale.checkout import cash_payment
from kiosk.till import Till
from kiosk.uplink import outbox
from kiosk.uplink.publisher import Publisher

PHONE = "06 12 34 56 78"


def wait(condition, seconds: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def main(data_dir: str, action: str, *args: str) -> int:
    till = Till.open(Path(data_dir))
    till.start()
    publisher = Publisher(till)
    publisher.start()
    result: dict[str, object] = {}
    try:
        if action == "sell-and-earn":
            customer = till.customers.create(PHONE, last_name="Durand", consent=True).id
            bread = next(
                a
                for a in till.catalogue.active_articles()
                if a.category == "boulangerie" and not a.sold_by_weight
            )
            basket = Basket()
            basket.add_article(bread, Decimal(20))
            tenders, change = cash_payment(basket.total, basket.total)
            cashier = next(m for m in till.staff.members() if m.role == "cashier")
            sale = till.checkout.complete(basket, tenders, change, cashier)
            summary = till.loyalty.attach(customer, sale.number, sale.total, sale.body, sale.when)
            result = {"earned": summary.earned_cents if summary else 0, "reference": bread.reference}
        elif action == "kitty":
            expected = int(args[0])
            found = till.customers.by_phone(PHONE)
            assert found is not None
            wait(lambda: till.loyalty.balance(found.id).kitty_cents == expected)
            result = {"kitty": till.loyalty.balance(found.id).kitty_cents}
        wait(lambda: outbox.backlog(till.db.connection()).events == 0)
    finally:
        publisher.stop()
        till.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
