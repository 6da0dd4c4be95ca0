"""The checkout's services called directly: tenders and splits, discounts, credit notes, refunds, exchanges.

Every refusal says what to do in French and changes nothing (no ticket, no credit note move)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from fiscal.tickets import check_ticket, record_ticket
from fiscal.verify import verify_path
from kiosk.common.money import format_eur
from kiosk.receipts.render import credit_note_receipt, sale_receipt
from kiosk.sale.basket import Basket, Discount
from kiosk.sale.checkout import PaymentError, Tender
from kiosk.sale.credit_notes import CreditNoteError
from kiosk.sale.discounts import (
    DiscountError,
    make_discount,
    override_price,
    set_line_discount,
    set_ticket_discount,
)
from kiosk.sale.refunds import RefundError
from kiosk.sale.tenders import PaymentPlan
from kiosk.staff.permissions import PermissionDenied
from kiosk.store.db import DB_NAME
from kiosk.till import Till
from tests.support.domain import article, assert_verified, member
from tests.support.ui import tickets


def credit_moves(till: Till) -> int:
    return int(till.db.execute_sql("SELECT COUNT(*) FROM credit_note_move").fetchone()[0])


def food_and_wine(till: Till) -> Basket:
    basket = Basket()
    basket.add_article(article(till, "boulangerie"), Decimal(2))
    basket.add_article(article(till, "vins_bieres"))
    return basket


def plan_for(till: Till, basket: Basket) -> PaymentPlan:
    return PaymentPlan(
        basket.total,
        meal_eligible=till.checkout.meal_eligible(basket),
        meal_max=till.checkout.meal_voucher_max,
    )


@pytest.mark.parametrize("kind", ["cash", "card", "cheque", "holiday_voucher"])
def test_each_tender_alone_settles_a_sale(till: Till, kind: str) -> None:
    basket = food_and_wine(till)
    plan = plan_for(till, basket)
    plan.add(kind, basket.total)
    sale = till.checkout.complete(basket, plan.tenders, plan.change, member(till, "Camille"))
    assert sale.body["tenders"] == [{"type": kind, "amount": basket.total}]
    assert check_ticket(sale.body) == []


def test_split_meal_voucher_pays_only_the_food_and_cash_gives_the_change(till: Till) -> None:
    basket = food_and_wine(till)
    bread, wine = basket.lines
    plan = plan_for(till, basket)
    assert plan.meal_eligible == bread.amount
    with pytest.raises(PaymentError, match="alimentaires"):
        plan.add("meal_voucher", bread.amount + 1)
    assert plan.tenders == []
    plan.add("meal_voucher", bread.amount)
    assert plan.remaining == wine.amount
    with pytest.raises(PaymentError, match="Pas de rendu"):
        plan.add("cheque", wine.amount + 100)
    plan.add("cash", wine.amount + 1000)
    assert plan.change == 1000
    sale = till.checkout.complete(basket, plan.tenders, plan.change, member(till, "Camille"))
    assert [t["type"] for t in sale.body["tenders"]] == ["meal_voucher", "cash"]
    assert sale.change == 1000


def test_the_service_itself_refuses_meal_vouchers_on_wine_and_change_on_a_card(till: Till) -> None:
    basket = food_and_wine(till)
    camille = member(till, "Camille")
    with pytest.raises(PaymentError, match="alimentaires"):
        till.checkout.complete(basket, [Tender("meal_voucher_card", basket.total)], 0, camille)
    with pytest.raises(PaymentError, match="espèces"):
        till.checkout.complete(basket, [Tender("card", basket.total + 500)], 500, camille)
    with pytest.raises(PaymentError, match="mal saisi"):
        till.checkout.complete(basket, [Tender("cash", basket.total + 900_000)], 900_000, camille)
    assert tickets(till) == []


def test_an_approved_card_cannot_be_removed_from_the_split(till: Till) -> None:
    basket = food_and_wine(till)
    plan = plan_for(till, basket)
    plan.add("card", 100)
    plan.add("cheque", 100)
    assert plan.remove(1).kind == "cheque"
    with pytest.raises(PaymentError, match="carte"):
        plan.remove(0)
    assert plan.paid == 100


def test_discount_within_the_threshold_needs_no_manager_and_vat_is_on_discounted_amounts(till: Till) -> None:
    basket = food_and_wine(till)
    set_line_discount(basket, 0, make_discount("10", percent=True, reason="Fin de journée"), 10)
    before = basket.subtotal
    set_ticket_discount(basket, make_discount("1,00", percent=False, reason="Fidèle"), 10)
    assert basket.total == before - 100
    assert sum(basket.final_amounts()) == basket.total
    assert sum(v.ttc for v in basket.vat_lines()) == basket.total
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "Camille"))
    body = sale.body
    assert body["lines"][0]["discount_reason"] == "Fin de journée" and body["discount"]["amount"] == 100
    assert check_ticket(body) == []
    body["lines"][0]["discount"] += 1  # a forged discount no longer adds up
    assert any("remises" in p for p in check_ticket(body))
    text = till.render(sale_receipt(till.config, sale)).text
    assert "Remise -10 %" in text and "Fin de journée" in text and "Fidèle" in text


def test_discount_above_the_threshold_needs_a_manager_pin(till: Till) -> None:
    basket = food_and_wine(till)
    big = make_discount("30", percent=True, reason="Abîmé")
    with pytest.raises(PermissionDenied, match="responsable"):
        set_line_discount(basket, 1, big, 10)
    with pytest.raises(PermissionDenied, match="Camille"):
        set_line_discount(
            basket, 1, Discount("Abîmé", percent_bp=3000, authorised_by=member(till, "Camille")), 10
        )
    assert basket.lines[1].discount is None
    marc = member(till, "Marc")
    set_line_discount(basket, 1, Discount("Abîmé", percent_bp=3000, authorised_by=marc), 10)
    # a screen that slipped a big discount in without a PIN is stopped by the checkout itself
    basket.discount = Discount("Copain", percent_bp=5000)
    with pytest.raises(PermissionDenied):
        till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "Camille"))
    basket.discount = None
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "Camille"))
    assert sale.body["lines"][1]["discount_by"] == "Marc"
    with pytest.raises(DiscountError, match="motif"):
        make_discount("5", percent=True, reason=" ")
    with pytest.raises(DiscountError, match="100 %"):
        make_discount("100", percent=True, reason="x")


def test_price_override_needs_a_manager(till: Till) -> None:
    basket = food_and_wine(till)
    with pytest.raises(PermissionDenied):
        override_price(basket, 1, 500, member(till, "Camille"))
    override_price(basket, 1, 500, member(till, "Marc"))
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "Camille"))
    assert sale.body["lines"][1]["unit"] == 500 and sale.body["lines"][1]["override_by"] == "Marc"
    assert check_ticket(sale.body) == []


def test_partial_refund_by_credit_note_then_spent_on_a_later_sale(till: Till, data_dir: Path) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("card", basket.total)], 0, camille)
    bread = sale.body["lines"][0]
    refunds = till.refunds
    found = refunds.find(sale.number.lower())
    assert found.number == sale.number
    assert [s.number for s in refunds.search(sale.when.date(), sale.total)] == [sale.number]

    back = refunds.refund(found, {0: Decimal(1)}, "voucher", camille, marc)
    assert back.body["kind"] == "RETURN" and back.total == -(bread["amount"] // 2)
    assert back.body["original"] == {
        "number": sale.number,
        "seq": sale.record.seq,
        "sig": sale.record.sig,
        "date": f"{sale.when:%d/%m/%Y}",
    }
    [(number, amount, _)] = back.issued_credit_notes()
    assert amount == -back.total and number == f"AV-{back.number}"
    text = till.render(credit_note_receipt(till.config, back, number, amount, _)).text
    assert "AVOIR" in text and number in text

    # the second bread can still be refunded, not a third one
    with pytest.raises(RefundError, match="il reste 1"):
        refunds.refund(found, {0: Decimal(2)}, "cash", camille, marc)

    # the credit note pays part of a new sale; the rest becomes a new credit note
    small = Basket()
    small.add_article(article(till, "viennoiserie"))
    assert small.total < amount
    plan = plan_for(till, small)
    note = till.checkout.credit_notes.usable(number, sale.when.date())
    plan.add("voucher", min(note.balance, plan.remaining), ref=number)
    later = till.checkout.complete(small, plan.tenders, plan.change, camille)
    [tender] = later.body["tenders"]
    assert tender["credit_note"] == number and tender["issued_amount"] == amount - small.total
    assert till.checkout.credit_notes.get(number).balance == 0  # type: ignore[union-attr]
    moves = credit_moves(till)
    with pytest.raises(PaymentError, match="déjà été utilisé"):
        till.checkout.complete(small, [Tender("voucher", small.total, number)], 0, camille)
    with pytest.raises(PaymentError, match="inconnu"):
        till.checkout.complete(small, [Tender("voucher", small.total, "AV-T01-999999")], 0, camille)
    assert credit_moves(till) == moves
    rest = tender["issued"]
    assert till.checkout.credit_notes.get(rest).balance == amount - small.total  # type: ignore[union-attr]
    assert_verified(data_dir)


def test_expired_credit_note_is_refused(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    back = till.refunds.refund(sale, {1: Decimal(1)}, "voucher", camille, marc)
    [(number, _, _)] = back.issued_credit_notes()
    later = sale.when.date() + timedelta(days=366)
    with pytest.raises(CreditNoteError, match="expiré"):
        till.checkout.credit_notes.usable(number, later)


def test_refund_needs_a_member_allowed_to_refund(till: Till) -> None:
    camille = member(till, "Camille")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    with pytest.raises(PermissionDenied, match="Camille ne peut pas rembourser"):
        till.refunds.refund(sale, {0: Decimal(1)}, "cash", camille, camille)
    with pytest.raises(RefundError, match="responsable"):
        till.refunds.refund(sale, {0: Decimal(1)}, "cash", camille, None)
    assert len(tickets(till)) == 1


def test_card_refund_cancels_the_same_day_and_never_exceeds_the_card(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    plan = plan_for(till, basket)
    plan.add("card", 100)
    plan.add("cash", plan.remaining)
    sale = till.checkout.complete(basket, plan.tenders, plan.change, camille)
    assert till.refunds.card_mode(sale) == "cancel"
    with pytest.raises(RefundError, match="carte n'a payé que 1,00"):
        till.refunds.refund(sale, {1: Decimal(1)}, "card", camille, marc)
    clock = till.checkout.clock
    till.checkout.clock = lambda: clock() + timedelta(days=1)  # type: ignore[method-assign]
    assert till.refunds.card_mode(sale) == "refund"


def test_full_refund_gives_back_exactly_what_was_paid_after_discounts(till: Till, data_dir: Path) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    basket.lines[0].qty = Decimal(3)
    set_ticket_discount(basket, make_discount("5", percent=True, reason="Promo"), 10)
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    first = till.refunds.refund(sale, {0: Decimal(1)}, "cash", camille, marc)
    second = till.refunds.refund(sale, {0: Decimal(2), 1: Decimal(1)}, "cash", camille, marc)
    assert first.total + second.total == -sale.total
    with pytest.raises(RefundError):
        till.refunds.refund(sale, {1: Decimal(1)}, "cash", camille, marc)
    with pytest.raises(RefundError, match="déjà un remboursement"):
        till.refunds.find(second.number)
    with pytest.raises(RefundError, match="introuvable"):
        till.refunds.find("T01-000999")
    assert_verified(data_dir)


def test_exchange_is_a_return_then_a_sale_paid_by_its_credit_note(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    back = till.refunds.refund(sale, {1: Decimal(1)}, "voucher", camille, marc, exchange=True)
    assert back.body["exchange"] is True
    [(number, amount, _)] = back.issued_credit_notes()
    new = Basket()
    new.add_article(article(till, "vins_bieres", skip=1))
    new.add_article(article(till, "vins_bieres", skip=2))
    plan = plan_for(till, new)
    plan.add("voucher", min(amount, plan.remaining), ref=number)
    if plan.remaining:
        plan.add("cash", plan.remaining)
    swap = till.checkout.complete(new, plan.tenders, plan.change, camille)
    assert swap.body["tenders"][0]["credit_note"] == number


def test_books_never_get_more_than_five_percent(till: Till) -> None:
    basket = Basket()
    basket.add_article(article(till, "livres"))
    basket.add_article(article(till, "vins_bieres"))
    with pytest.raises(DiscountError, match="prix unique du livre"):
        set_line_discount(basket, 0, make_discount("8", percent=True, reason="Abîmé"), 10)
    assert basket.lines[0].discount is None
    set_line_discount(basket, 0, make_discount("5", percent=True, reason="Remise libraire"), 10)
    with pytest.raises(DiscountError, match="prix unique du livre"):
        set_ticket_discount(basket, make_discount("5", percent=True, reason="Fidèle"), 10)
    assert basket.discount is None
    basket.discount = Discount("Ami", percent_bp=800)  # slipped past the screen: the checkout refuses it
    with pytest.raises(DiscountError):
        till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "Camille"))


def test_the_verifier_reports_a_return_beyond_the_sale_or_of_a_forged_ticket(
    till: Till, data_dir: Path
) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    back = till.refunds.refund(sale, {1: Decimal(1)}, "cash", camille, marc)
    assert_verified(data_dir)
    again = {k: v for k, v in back.body.items() if k != "gt"}  # the same return slipped in a second time
    forged = again | {"original": again["original"] | {"sig": "AAAA"}}
    conn = till.db.connection()
    with till.db.atomic():
        record_ticket(till.ledger, conn, again, when=till.clock())
        record_ticket(till.ledger, conn, forged, when=till.clock())
    report = verify_path(data_dir / DB_NAME)
    texts = [p.message for p in report.problems if p.code == "return"]
    assert any("remboursée au-delà de la vente" in t for t in texts)
    assert any("absent ou différent" in t for t in texts)


def test_return_receipt_names_the_original_ticket_and_who_allowed_it(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = food_and_wine(till)
    sale = till.checkout.complete(basket, [Tender("card", basket.total)], 0, camille)
    back = till.refunds.refund(sale, {1: Decimal(1)}, "card", camille, marc)
    text = till.render(sale_receipt(till.config, back)).text
    assert "REMBOURSEMENT" in text and f"Ticket d'origine n° {sale.number}" in text
    assert "Autorisé par : Marc" in text and "(annulation)" in text
    assert format_eur(back.total) in text


def test_only_one_credit_note_may_be_left_with_a_rest(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    basket = Basket()
    basket.add_article(article(till, "vins_bieres"), Decimal(2))
    sale = till.checkout.complete(basket, [Tender("cash", basket.total)], 0, camille)
    first = till.refunds.refund(sale, {0: Decimal(1)}, "voucher", camille, marc).issued_credit_notes()[0][0]
    second = till.refunds.refund(sale, {0: Decimal(1)}, "voucher", camille, marc).issued_credit_notes()[0][0]
    small = Basket()
    small.add_article(article(till, "boulangerie"), Decimal(2))
    moves = credit_moves(till)
    half = small.total // 2
    with pytest.raises(PaymentError, match="Un seul avoir"):
        till.checkout.complete(
            small, [Tender("voucher", half, first), Tender("voucher", small.total - half, second)], 0, camille
        )
    assert credit_moves(till) == moves
