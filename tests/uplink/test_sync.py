"""Two tills of one shop, a real Mosquitto and the portal ingest: a sale on A lowers the stock seen on B;
a kitty earned on A is spent on B, and A sees it spent (the issue's multi-till scenarios). Till A runs in
its own process, as on a real shop (peewee binds one database per process)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.sale.basket import Basket
from kiosk.sale.checkout import Tender
from kiosk.staff.service import StaffMember
from kiosk.uplink.publisher import Publisher
from tests.support.broker import Broker, broker, open_uplink_till, pg_url, wait_until
from tests.support.portal import RunningIngest, drained, ingest

__all__ = ["broker", "ingest", "pg_url"]

ALICE = StaffMember(1, "Alice", "admin")
ROOT = Path(__file__).resolve().parents[2]


def run_till_a(data_dir: Path, *args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.uplink_till", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_stock_and_kitty_follow_the_customer_from_till_a_to_till_b(
    tmp_path: Path, broker: Broker, ingest: RunningIngest
) -> None:
    till_a = open_uplink_till(tmp_path / "a", broker.port, till="T01")
    till_a.loyalty.set_up(ALICE, "percent", "5 %", {"rate_bp": 500})  # the portal would set both
    till_a.db.close()
    till_b = open_uplink_till(tmp_path / "b", broker.port, till="T02")
    till_b.start()
    till_b.loyalty.set_up(ALICE, "percent", "5 %", {"rate_bp": 500})
    publisher = Publisher(till_b)
    publisher.start()
    try:
        wait_until(lambda: drained(till_b), what="till B known to the portal")
        sold = run_till_a(tmp_path / "a", "sell-and-earn")
        article = till_b.catalogue.by_code(str(sold["reference"]))
        assert article is not None and sold["earned"] > 0
        wait_until(lambda: till_b.stock.balance(article.id) == -20_000, what="A's sale lowers B's stock")
        wait_until(
            lambda: (
                (c := till_b.customers.by_phone("06 12 34 56 78")) is not None
                and till_b.loyalty.balance(c.id).kitty_cents == sold["earned"]
            ),
            what="the kitty earned on A, on B",
        )
        customer = till_b.customers.by_phone("06 12 34 56 78")
        assert customer is not None and customer.last_name == "Durand"
        basket = Basket()
        basket.add_article(article, Decimal(3))
        tenders = [Tender("loyalty", int(sold["earned"]), str(customer.id))]
        tenders.append(Tender("cash", basket.total - int(sold["earned"])))
        cashier = next(m for m in till_b.staff.members() if m.role == "cashier")
        till_b.checkout.complete(basket, tenders, 0, cashier)  # spent on B
        assert till_b.loyalty.balance(customer.id).kitty_cents == 0
        wait_until(lambda: drained(till_b), what="B's spending sent")
    finally:
        publisher.stop()
    assert run_till_a(tmp_path / "a", "kitty", "0") == {"kitty": 0}  # A sees it spent
    lines = till_b.db.execute_sql("SELECT COUNT(*), COUNT(DISTINCT id) FROM loyalty_entry").fetchone()
    assert lines == (2, 2)  # earned on A, spent on B: each once
    till_b.db.close()


def test_offline_the_kitty_is_bounded_per_customer(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """While the portal acknowledges nothing, the kitty may have been spent on another till: each customer
    may use at most `loyalty.offline_allowance_cents` here until the till is back in touch."""
    import kiosk.uplink.sync as sync
    from kiosk.loyalty.service import LoyaltyError
    from tests.support.broker import free_port

    till = open_uplink_till(tmp_path / "t", free_port())  # nobody listens: the till is cut off
    till.loyalty.set_up(ALICE, "percent", "5 %", {"rate_bp": 500})
    customer = till.customers.create("06 12 34 56 78", consent=True).id
    till.loyalty.adjust(ALICE, customer, 3000, 0, "report d'une autre caisse")  # also an outbox event
    bread = next(a for a in till.catalogue.active_articles() if a.category == "boulangerie")
    basket = Basket()
    basket.add_article(bread, Decimal(20))
    lines = till.loyalty.basket_lines(basket)
    assert till.loyalty.reward_available(customer, lines)[0] == min(3000, basket.total)  # in touch
    monkeypatch.setattr(sync, "OFFLINE_AFTER_S", -1)  # every waiting event is now overdue
    cents, _, note = till.loyalty.reward_available(customer, lines)
    assert cents == 1000 and "Portail injoignable" in note
    till.loyalty.redeem(customer, 1000, "T01-000001", lines)
    with pytest.raises(LoyaltyError, match="au plus 0,00 €"):
        till.loyalty.redeem(customer, 100, "T01-000002", lines)
    till.db.execute_sql("DELETE FROM outbox")  # the portal acknowledged everything: back in touch
    assert till.loyalty.reward_available(customer, lines)[0] == min(2000, basket.total)
    till.db.close()


def test_an_sms_receipt_leaves_for_the_portal_and_its_number_leaves_the_till(tmp_path: Path) -> None:
    from kiosk.receipts.digital import queue_receipt
    from kiosk.sale.checkout import cash_payment
    from kiosk.uplink import outbox
    from tests.support.broker import free_port

    till = open_uplink_till(tmp_path / "t", free_port())
    bread = next(a for a in till.catalogue.active_articles() if a.category == "boulangerie")
    basket = Basket()
    basket.add_article(bread, Decimal(1))
    cashier = next(m for m in till.staff.members() if m.role == "cashier")
    sale = till.checkout.complete(basket, *cash_payment(basket.total, basket.total), cashier)
    queue_receipt(till, sale, "sms", "06 12 34 56 78")
    [event] = [e for e in outbox.pending(till.db.connection(), 0, 1000) if e.type == "sms_request"]
    payload = json.loads(event.payload)
    assert payload["phone"] == "+33612345678" and payload["ticket"] == sale.number
    assert sale.number in payload["receipt"]
    rows = till.db.execute_sql("SELECT state, recipient FROM receipt_request").fetchall()
    assert rows == [("handed", None)]  # the number is no longer on the till
    till.db.close()
