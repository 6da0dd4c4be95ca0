"""Stock as a ledger: sales and refunds move it with their ticket; manual movements, alerts, counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fiscal.tickets import record_ticket
from kiosk.catalogue.articles import ArticleView
from kiosk.catalogue.stock import InventoryCount, StockError
from kiosk.cli.main import main
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, Tender
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.till import Till


def member(till: Till, role: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.role == role)


def unit_article(till: Till, skip: int = 0) -> ArticleView:
    return [a for a in till.catalogue.active_articles() if not a.sold_by_weight][skip]


def sell(till: Till, *items: tuple[ArticleView, Decimal]) -> CompletedSale:
    basket = Basket()
    for article, qty in items:
        basket.add_article(article, qty)
    return till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "cashier"))


def refund(till: Till, article: ArticleView, qty: Decimal) -> CompletedSale:
    """A RETURN ticket as the refund screen writes it, with the listeners inside its transaction."""
    amount = -int(article.price_cents * qty)
    ht = round(amount * 10000 / (10000 + article.vat_bp))
    body = {
        "kind": "RETURN",
        "cashier": {"id": 2, "name": "Marc"},
        "lines": [
            {
                "ref": article.reference,
                "label": article.name,
                "qty": str(-qty),
                "unit": article.price_cents,
                "vat": article.vat_bp,
                "amount": amount,
                "weight": False,
            },
        ],
        "vat": [{"rate": article.vat_bp, "ht": ht, "tva": amount - ht, "ttc": amount}],
        "total": amount,
        "tenders": [{"type": "cash", "amount": amount}],
        "change": 0,
    }
    conn = till.db.connection()
    with till.db.atomic():
        record = record_ticket(till.ledger, conn, body, when=till.clock())
        sale = CompletedSale(record=record, body=record.data(), when=till.clock())
        for listener in till.checkout.listeners:
            listener(conn, sale)
    return sale


def test_sales_and_refunds_are_movements_with_their_ticket(till: Till) -> None:
    jam, soap = unit_article(till, 0), unit_article(till, 1)
    manager = member(till, "manager")
    till.stock.move(manager, jam.id, Decimal(10), "reception", "livraison")
    sale = sell(till, (jam, Decimal(3)), (soap, Decimal(1)), (jam, Decimal(1)))
    assert till.stock.balance(jam.id) == 6000 and till.stock.balance(soap.id) == -1000
    history = till.stock.history(jam.id)
    assert [(m.kind, m.qty_milli, m.ticket) for m in history[:1]] == [("sale", -4000, sale.number)]
    assert history[0].user == "Camille"

    back = refund(till, jam, Decimal(2))
    assert till.stock.balance(jam.id) == 8000
    assert (
        till.stock.history(jam.id)[0].kind == "refund" and till.stock.history(jam.id)[0].ticket == back.number
    )

    # the cached balance is what the ledger adds up to, and can be rebuilt from it
    till.db.execute_sql("UPDATE stock_balance SET qty_milli = 0")
    till.stock.rebuild_balances()
    assert till.stock.balance(jam.id) == 8000 and till.stock.balance(soap.id) == -1000


def test_a_failed_sale_moves_no_stock_and_training_never_does(till: Till) -> None:
    jam = unit_article(till)

    def broken(conn, sale):  # type: ignore[no-untyped-def]
        raise RuntimeError("another listener failed")

    till.checkout.listeners.append(broken)
    with pytest.raises(RuntimeError):
        sell(till, (jam, Decimal(2)))
    till.checkout.listeners.remove(broken)
    assert till.stock.balance(jam.id) == 0 and till.stock.history(jam.id) == []
    till.checkout.training = True
    sell(till, (jam, Decimal(2)))
    assert till.stock.history(jam.id) == []


def test_manual_movements_need_a_manager_and_a_reason(till: Till) -> None:
    jam = unit_article(till)
    with pytest.raises(PermissionDenied, match="Camille ne peut pas modifier le catalogue"):
        till.stock.move(member(till, "cashier"), jam.id, Decimal(5), "reception", "")
    manager = member(till, "manager")
    with pytest.raises(StockError, match="Indiquez la raison"):
        till.stock.move(manager, jam.id, Decimal(-2), "adjustment", "  ")
    with pytest.raises(StockError, match="Quantité nulle"):
        till.stock.move(manager, jam.id, Decimal(0), "reception", "")
    loss = till.stock.move(manager, jam.id, Decimal(2), "loss", "pots cassés")
    assert loss.qty_milli == -2000 and loss.label == "Perte / casse" and loss.reason == "pots cassés"
    assert till.stock.balance(jam.id) == -2000


def test_threshold_alert_and_valuation(till: Till) -> None:
    jam, soap = unit_article(till, 0), unit_article(till, 1)
    manager = member(till, "manager")
    till.stock.move(manager, jam.id, Decimal(5), "reception", "")
    till.stock.move(manager, soap.id, Decimal(2), "reception", "")
    till.stock.set_threshold(manager, jam.id, Decimal(3))
    assert till.stock.alerts() == []
    sell(till, (jam, Decimal(2)))
    alerts = till.stock.alerts()
    assert [(a.article_id, a.balance_milli, a.threshold_milli) for a in alerts] == [(jam.id, 3000, 3000)]
    assert till.stock.alert_count() == 1
    till.db.execute_sql("UPDATE article SET cost_cents = 100 WHERE id = ?", (jam.id,))
    value = till.stock.valuation()
    assert value.sale_cents == 3 * jam.price_cents + 2 * soap.price_cents
    assert value.cost_cents == 300 and value.without_cost == 1 and value.articles == 2


def test_inventory_count_posts_only_differences(till: Till) -> None:
    jam, soap, tea = unit_article(till, 0), unit_article(till, 1), unit_article(till, 2)
    manager = member(till, "manager")
    till.stock.move(manager, jam.id, Decimal(5), "reception", "")
    till.stock.move(manager, soap.id, Decimal(2), "reception", "")
    till.stock.move(manager, tea.id, Decimal(7), "reception", "")
    count = InventoryCount(till.stock)
    for _ in range(4):
        count.add(jam.id, jam.reference, jam.name)
    count.add(soap.id, soap.reference, soap.name, Decimal(2))
    assert [(line.article_id, line.difference_milli) for line in count.differences()] == [(jam.id, -1000)]
    with pytest.raises(PermissionDenied):
        count.post(member(till, "cashier"))
    assert count.post(manager) == 1
    assert till.stock.balance(jam.id) == 4000 and till.stock.balance(soap.id) == 2000
    assert till.stock.balance(tea.id) == 7000  # not counted: untouched
    last = till.stock.history(jam.id)[0]
    assert last.kind == "inventory" and last.reason.startswith("Inventaire du ")


def test_merge_from_another_till_is_idempotent(till: Till) -> None:
    jam = unit_article(till)
    moved = {
        "id": "0b5d2f6e-4c58-4b8e-9d39-1b1b0f9a8f10",
        "article_id": jam.id,
        "qty_milli": 12000,
        "kind": "reception",
        "reason": "livraison portail",
        "user": "portail",
        "ticket": None,
        "till": "T02",
        "created_utc": "2026-01-02T09:00:00+00:00",
    }
    assert till.stock.merge([moved]) == 1
    assert till.stock.merge([moved]) == 0
    assert till.stock.balance(jam.id) == 12000


def test_cli_stock_commands(till: Till, capsys) -> None:  # type: ignore[no-untyped-def]
    jam = unit_article(till)
    data = ["--data-dir", str(till.data_dir)]
    till.db.close()
    assert main([*data, "stock", "move", jam.reference, "12", "--kind", "reception", "--user", "Marc"]) == 0
    assert "Réception 12 enregistré ; stock : 12" in capsys.readouterr().out
    assert main([*data, "stock", "move", jam.reference, "-1", "--kind", "adjustment"]) == 1
    assert "Indiquez la raison" in capsys.readouterr().err
    assert main([*data, "stock", "show", jam.reference]) == 0
    assert "stock 12" in capsys.readouterr().out
    assert main([*data, "stock", "valuation"]) == 0
    assert "Valorisation au prix de vente TTC" in capsys.readouterr().out
    assert main([*data, "stock", "alerts"]) == 0
    assert "0 article(s) au seuil d'alerte" in capsys.readouterr().out
    assert main([*data, "stock", "threshold", jam.reference, "12"]) == 0
    capsys.readouterr()
    assert main([*data, "stock", "alerts"]) == 0
    assert "1 article(s) au seuil d'alerte" in capsys.readouterr().out
    assert main([*data, "stock", "threshold", jam.reference, "-1"]) == 1
    assert "négative" in capsys.readouterr().err


def test_movements_of_another_till_merge_by_reference(till: Till, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.demo.shop import open_demo_till
    from kiosk.store import database_proxy

    other = open_demo_till(tmp_path / "other")  # same demo catalogue, its own article ids
    try:
        jam = unit_article(other, 3)
        sell(other, (jam, Decimal(2)))
        other.stock.move(member(other, "manager"), jam.id, Decimal(10), "reception", "livraison")
        batch = other.stock.movements_after(0)
        assert [m["reference"] for _, m in batch] == [jam.reference, jam.reference]
    finally:
        other.db.close()
        database_proxy.initialize(till.db)
    here = till.db.execute_sql("SELECT id FROM article WHERE reference = ?", (jam.reference,)).fetchone()[0]
    assert till.stock.merge(m for _, m in batch) == 2
    assert till.stock.merge(m for _, m in batch) == 0  # idempotent
    assert till.stock.balance(here) == 8000
    assert {m.id for m in till.stock.history(here)} == {m["id"] for _, m in batch}  # same uuids
    assert till.stock.movements_after(batch[-1][0]) == []
