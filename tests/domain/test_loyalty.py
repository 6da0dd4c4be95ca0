"""Loyalty and customers: the three programmes over scripted sales, legal exclusions, card tokens, RGPD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import peewee
import pytest

from fiscal.verify import verify_database
from kiosk.catalogue.articles import ArticleView
from kiosk.loyalty.directory import CustomerError
from kiosk.loyalty.phone import PhoneError, normalise_mobile
from kiosk.loyalty.service import LoyaltyError
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import CompletedSale, cash_payment
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.till import Till

MARC = StaffMember(2, "Marc", "manager")
CAMILLE = StaffMember(3, "Camille", "cashier")


def article(till: Till, category: str, skip: int = 0) -> ArticleView:
    found = [a for a in till.catalogue.active_articles() if a.category == category and not a.sold_by_weight]
    return found[skip]


def sell(till: Till, *items: tuple[ArticleView, int]) -> CompletedSale:
    basket = Basket()
    for item, qty in items:
        basket.add_article(item, Decimal(qty))
    tenders, change = cash_payment(basket.total, basket.total)
    return till.checkout.complete(basket, tenders, change, CAMILLE)


def attach(till: Till, customer: int, sale: CompletedSale):  # type: ignore[no-untyped-def]
    return till.loyalty.attach(customer, sale.number, sale.total, sale.body, sale.when)


def enrol(till: Till, phone: str = "06 12 34 56 78", **fields: str) -> int:
    return till.customers.create(phone, consent=True, **fields).id


def test_phone_numbers_are_normalised_mobiles() -> None:
    assert normalise_mobile("06 12 34 56 78") == "+33612345678"
    assert normalise_mobile("+32 470 12 34 56") == "+32470123456"
    with pytest.raises(PhoneError, match="pas un portable"):
        normalise_mobile("04 75 26 00 00")  # the shop's landline
    with pytest.raises(PhoneError, match="Numéro invalide"):
        normalise_mobile("06 12")


def test_percent_programme_skips_press_and_alcohol_and_reverses_on_return(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "5 % fidélité", {"rate_bp": 500})
    bread, press, wine = article(till, "boulangerie"), article(till, "presse"), article(till, "vins_bieres")
    customer = enrol(till)
    sale = sell(till, (bread, 4), (press, 1), (wine, 1))
    summary = attach(till, customer, sale)
    assert summary is not None
    expected = bread.price_cents * 4 * 500 // 10_000
    assert summary.earned_cents == expected and summary.balance.kitty_cents == expected
    assert "Gagné" in summary.receipt_lines()[1]
    # a return of 2 of the 4 breads, linked to the original ticket, takes back what they earned
    body = {
        "kind": "RETURN",
        "original": {"number": sale.number},
        "total": -bread.price_cents * 2,
        "lines": [
            {"ref": bread.reference, "qty": "-2", "amount": -bread.price_cents * 2, "vat": bread.vat_bp}
        ],
    }
    till.loyalty.on_ticket(till.db.connection(), "T01-999999", body, sale.when)
    assert till.loyalty.balance(customer).kitty_cents == expected - bread.price_cents * 2 * 500 // 10_000


def test_band_programme_and_the_full_kitty_notice(till: Till) -> None:
    till.loyalty.set_up(
        MARC, "band", "Cagnotte", {"per_cents": 1000, "credit_cents": 100, "full_at_cents": 200}
    )
    customer = enrol(till)
    bread = article(till, "boulangerie")
    qty = -(-2500 // bread.price_cents)  # at least 25 € of bread: two full bands
    summary = attach(till, customer, sell(till, (bread, qty)))
    assert summary is not None
    assert summary.earned_cents == (bread.price_cents * qty // 1000) * 100
    assert summary.full and "Cagnotte pleine" in summary.receipt_lines()[-1]


def test_stamps_programme_gives_the_cheapest_eligible_article(till: Till) -> None:
    till.loyalty.set_up(MARC, "stamps", "1 offert pour 5", {"buy": 5})
    customer = enrol(till)
    bread, croissant = article(till, "boulangerie"), article(till, "viennoiserie")
    first = attach(till, customer, sell(till, (bread, 3)))
    assert first is not None and first.balance.stamps == 3 and not first.full
    second = attach(till, customer, sell(till, (croissant, 2), (article(till, "presse"), 3)))
    assert second is not None and second.balance.stamps == 5 and second.full
    lines = till.loyalty.lines_of(sell(till, (bread, 1), (croissant, 1)).body)
    cents, _, _ = till.loyalty.reward_available(customer, lines)
    assert cents == min(bread.price_cents, croissant.price_cents)
    balance = till.loyalty.redeem(customer, cents, "T01-000099", lines)
    assert balance.stamps == 0
    assert till.customers.sheet(customer)["rewards_cents"] == cents


def test_books_reward_capped_at_five_percent(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "10 %", {"rate_bp": 1000})
    customer = enrol(till)
    book = article(till, "livres")
    attach(till, customer, sell(till, (book, 5)))
    kitty = till.loyalty.balance(customer).kitty_cents
    lines = till.loyalty.lines_of(sell(till, (book, 1)).body)
    cents, cap, note = till.loyalty.reward_available(customer, lines)
    assert cap is not None and cap.book_capped and "loi Lang" in note
    assert cents == min(kitty, book.price_cents * 500 // 10_000)
    with pytest.raises(LoyaltyError, match="impossible"):
        till.loyalty.redeem(customer, cents + 1, "T01-000100", lines)
    assert till.loyalty.balance(customer).kitty_cents == kitty  # nothing changed


def test_only_a_manager_sets_up_one_programme_at_a_time(till: Till) -> None:
    with pytest.raises(PermissionDenied):
        till.loyalty.set_up(CAMILLE, "percent", "5 %", {"rate_bp": 500})
    with pytest.raises(LoyaltyError, match="Pourcentage"):
        till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 0})
    till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 500}, valid_to=date(2099, 1, 1))
    with pytest.raises(LoyaltyError, match="déjà en place"):
        till.loyalty.set_up(MARC, "band", "x", {"per_cents": 1000, "credit_cents": 100})
    till.loyalty.set_state(MARC, "suspended")
    customer = enrol(till)
    assert attach(till, customer, sell(till, (article(till, "boulangerie"), 2))) is None
    assert till.loyalty.balance(customer).kitty_cents == 0  # a suspended programme credits nothing
    till.loyalty.set_state(MARC, "deleted")
    till.loyalty.set_up(MARC, "band", "Nouveau", {"per_cents": 1000, "credit_cents": 100})
    events = [r[0] for r in till.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal = 'JET'")]
    assert {"LOYALTY_PROGRAMME_CREATED", "LOYALTY_PROGRAMME_SUSPENDED", "LOYALTY_PROGRAMME_DELETED"} <= set(
        events
    )


def test_two_cards_on_one_account_recognise_the_customer(till: Till) -> None:
    customer = enrol(till, first_name="Hélène", last_name="Durand")
    till.customers.link_card(customer, "497010XXXXXX1234")
    till.customers.link_card(customer, "513100******9876")
    assert till.customers.by_card("497010XXXXXX1234").id == customer  # type: ignore[union-attr]
    assert till.customers.by_card("513100XXXXXX9876").id == customer  # type: ignore[union-attr]
    assert till.customers.by_card("497010XXXXXX9999") is None
    other = enrol(till, "06 98 76 54 32")
    with pytest.raises(CustomerError, match="déjà liée"):
        till.customers.link_card(other, "497010XXXXXX1234")
    stored = [row[0] for row in till.db.execute_sql("SELECT token FROM card_token")]
    assert all("1234" not in token and "497010" not in token for token in stored)
    assert [c.id for c in till.customers.search("helene")] == [customer]
    assert [c.id for c in till.customers.search("06 12 34")] == [customer]


def test_directory_refuses_bad_input_and_duplicates(till: Till) -> None:
    with pytest.raises(CustomerError, match="accepter les conditions"):
        till.customers.create("06 12 34 56 78", consent=False)
    with pytest.raises(CustomerError, match="Adresse e-mail invalide"):
        till.customers.create("06 12 34 56 78", email="marie@", consent=True)
    with pytest.raises(CustomerError, match="14/07/1980"):
        till.customers.create("06 12 34 56 78", birth_date="1980-07-14", consent=True)
    enrol(till)
    with pytest.raises(CustomerError, match="déjà dans l'annuaire"):
        enrol(till, "+33 6 12 34 56 78")
    assert till.db.execute_sql("SELECT COUNT(*) FROM customer").fetchone()[0] == 1


def test_erasure_keeps_the_fiscal_journals_verifiable(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 500})
    customer = enrol(till, first_name="Marie", last_name="Dupont", email="marie@exemple.fr")
    till.customers.link_card(customer, "497010XXXXXX1234")
    attach(till, customer, sell(till, (article(till, "boulangerie"), 3)))
    data, text = till.customers.export(customer, by="Marc")
    assert data["customer"]["email"] == "marie@exemple.fr" and "Marie Dupont" in text
    assert data["loyalty_ledger"] and data["purchases"]
    till.customers.erase(customer, by="Marc")
    erased, _ = till.customers.export(customer, by="Marc")
    assert erased["customer"]["phone"] == "" and erased["customer"]["email"] == "" and erased["cards"] == []
    assert till.customers.by_card("497010XXXXXX1234") is None
    assert till.customers.search("Marie") == []
    assert verify_database(till.db.connection()).ok
    dump = "\n".join(till.db.connection().iterdump())
    assert "marie@exemple.fr" not in dump and "Dupont" not in dump


def test_ledger_is_append_only_and_the_balance_is_its_sum(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 500})
    customer = enrol(till)
    for qty in (2, 3, 4):
        attach(till, customer, sell(till, (article(till, "boulangerie"), qty)))
    till.loyalty.adjust(MARC, customer, 150, 0, "geste commercial")
    total = till.db.execute_sql(
        "SELECT SUM(kitty_cents) FROM loyalty_entry WHERE customer_id = ?", (customer,)
    ).fetchone()[0]
    assert till.loyalty.balance(customer).kitty_cents == total
    with pytest.raises(peewee.IntegrityError, match="append-only"):
        till.db.execute_sql("UPDATE loyalty_entry SET kitty_cents = 99999")
    with pytest.raises(PermissionDenied):
        till.loyalty.adjust(CAMILLE, customer, 100, 0, "moi")


def test_retention_erases_inactive_customers(till: Till) -> None:
    stale, recent = enrol(till), enrol(till, "06 98 76 54 32")
    till.db.execute_sql(
        "UPDATE customer SET created_utc = '2022-01-10T10:00:00.000000Z', last_visit_utc = "
        "'2022-06-01T10:00:00.000000Z' WHERE id = ?",
        (stale,),
    )
    assert till.customers.purge_inactive(36, by="test") == [stale]
    assert till.customers.get(stale).erased and not till.customers.get(recent).erased


def test_cli_lists_exports_erases_and_prints_the_notice(
    till: Till, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.cli.main import main

    customer = enrol(till, first_name="Marie", last_name="Dupont")
    data = str(till.data_dir)
    till.db.close()
    assert main(["--data-dir", data, "customers", "list", "dup"]) == 0
    assert "06 12 34 56 78" in capsys.readouterr().out
    assert main(["--data-dir", data, "customers", "export", str(customer), "--format", "json"]) == 0
    assert '"last_name": "Dupont"' in capsys.readouterr().out
    assert main(["--data-dir", data, "customers", "erase", str(customer)]) == 0
    assert main(["--data-dir", data, "customers", "list"]) == 0
    assert "Dupont" not in capsys.readouterr().out
    assert main(["--data-dir", data, "customers", "erase", "999"]) == 1
    assert "introuvable" in capsys.readouterr().err
    assert main(["--data-dir", data, "customers", "notice"]) == 0
    assert "CNIL" in capsys.readouterr().out
    assert main(["--data-dir", data, "loyalty", "stats", "--json"]) == 0
    assert '"members": 0' in capsys.readouterr().out
    assert main(["--data-dir", data, "fiscal", "verify"]) == 0


def test_the_reward_tender_leaves_the_ledger_with_the_ticket_or_not_at_all(till: Till) -> None:
    from kiosk.sale.checkout import PaymentError, Tender

    till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 500})
    customer = enrol(till)
    till.loyalty.adjust(MARC, customer, 300, 0, "bienvenue")
    bread = article(till, "boulangerie")
    basket = Basket()
    basket.add_article(bread, Decimal(3))
    too_much = [Tender("loyalty", 400, str(customer)), Tender("cash", basket.total - 400)]
    with pytest.raises(PaymentError, match="au plus 3,00 €"):
        till.checkout.complete(basket, too_much, 0, CAMILLE)
    assert (
        till.db.execute_sql("SELECT COUNT(*) FROM fiscal_record WHERE journal = 'TICKET'").fetchone()[0] == 0
    )
    assert till.loyalty.balance(customer).kitty_cents == 300
    till.checkout.training = True
    with pytest.raises(PaymentError, match="mode formation"):
        till.checkout.complete(
            basket, [Tender("loyalty", 100, str(customer)), Tender("cash", basket.total - 100)], 0, CAMILLE
        )
    till.checkout.training = False
    sale = till.checkout.complete(
        basket, [Tender("loyalty", 300, str(customer)), Tender("cash", basket.total - 300)], 0, CAMILLE
    )
    assert till.loyalty.balance(customer).kitty_cents == 0
    assert {"type": "loyalty", "amount": 300} in sale.body["tenders"]
    assert verify_database(till.db.connection()).ok


def test_a_refund_at_the_till_takes_back_what_the_returned_lines_earned(till: Till) -> None:
    till.loyalty.set_up(MARC, "percent", "5 %", {"rate_bp": 500})
    customer = enrol(till)
    bread = article(till, "boulangerie")
    sale = sell(till, (bread, 4))
    attach(till, customer, sale)
    earned = till.loyalty.balance(customer).kitty_cents
    [line] = [line for line in till.refunds.refundable(sale) if line.left_amount > 0]
    refund = till.refunds.refund(sale, {line.index: Decimal(2)}, "cash", CAMILLE, MARC)
    assert refund.body["kind"] == "RETURN"
    assert till.loyalty.customer_of(refund.number) == customer  # the return follows its sale
    assert till.loyalty.balance(customer).kitty_cents == earned - 2 * bread.price_cents * 500 // 10_000
    assert till.customers.sheet(customer)["visits"] == 1  # a return is not a visit
