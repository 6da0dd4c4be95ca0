"""Managing users by the seed's table: who may create, edit, deactivate and reset whom; all journaled."""

from __future__ import annotations

import json

import pytest

from kiosk.sale.basket import Basket
from kiosk.sale.checkout import cash_payment
from kiosk.sale.history import sales_history
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import LoginError, StaffError, StaffMember
from kiosk.till import Till


def member(till: Till, name: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.name == name)


def jet(till: Till, code: str) -> list[dict]:
    rows = till.db.execute_sql(
        "SELECT body FROM fiscal_record WHERE journal = 'JET' AND rtype = ? ORDER BY seq", (code,)
    )
    return [json.loads(body)["details"] for (body,) in rows]


def test_manager_creates_a_cashier_but_not_a_manager(till: Till) -> None:
    marc = member(till, "Marc")
    lea = till.staff.create("Léa", "cashier", "444444", by=marc)
    assert lea.role == "cashier" and till.staff.authenticate(lea.id, "444444").name == "Léa"
    assert jet(till, "USER_CREATED")[-1] == {"user": "Léa", "role": "cashier", "by": "Marc"}
    with pytest.raises(PermissionDenied, match="Marc ne peut pas gérer les gestionnaires"):
        till.staff.create("Paul", "manager", "555555", by=marc)
    assert "Paul" not in [m.name for m in till.staff.members()]
    assert jet(till, "PERMISSION_DENIED")[-1]["act"] == "create"


def test_cashier_manages_nobody(till: Till) -> None:
    camille = member(till, "Camille")
    with pytest.raises(PermissionDenied, match="Camille ne peut pas gérer les utilisateurs"):
        till.staff.create("Léa", "cashier", "444444", by=camille)
    marc = member(till, "Marc")
    with pytest.raises(PermissionDenied):
        till.staff.reset_pin(camille, marc.id, "999999")
    assert till.staff.authenticate(marc.id, "222222").name == "Marc"


def test_manager_cannot_promote_a_cashier_nor_touch_a_manager(till: Till) -> None:
    marc, camille, alice = member(till, "Marc"), member(till, "Camille"), member(till, "Alice")
    with pytest.raises(PermissionDenied):
        till.staff.update(marc, camille.id, role="manager")
    with pytest.raises(PermissionDenied):
        till.staff.deactivate(marc, alice.id)
    assert till.staff.get(camille.id) == camille
    renamed = till.staff.update(marc, camille.id, name="Camille B.")
    assert renamed.name == "Camille B." and jet(till, "USER_CHANGED")[-1]["changes"] == {
        "name": ["Camille", "Camille B."]
    }
    promoted = till.staff.update(alice, camille.id, role="manager")
    assert promoted.role == "manager"


def test_deactivated_user_cannot_log_in_and_admin_stays(till: Till) -> None:
    marc, camille, alice = member(till, "Marc"), member(till, "Camille"), member(till, "Alice")
    till.staff.deactivate(marc, camille.id)
    assert jet(till, "USER_DEACTIVATED")[-1] == {"user": "Camille", "by": "Marc"}
    with pytest.raises(LoginError, match="Utilisateur inconnu"):
        till.staff.authenticate(camille.id, "333333")
    with pytest.raises(StaffError, match="vous-même"):
        till.staff.deactivate(alice, alice.id)
    with pytest.raises(StaffError, match="dernier administrateur"):
        till.staff.update(alice, alice.id, role="manager")
    till.staff.reactivate(marc, camille.id)
    assert till.staff.authenticate(camille.id, "333333").name == "Camille"


def test_names_are_unique_and_pins_six_digits(till: Till) -> None:
    alice = member(till, "Alice")
    with pytest.raises(StaffError, match="déjà pris"):
        till.staff.create("Marc", "cashier", "444444", by=alice)
    with pytest.raises(LoginError, match="6 chiffres"):
        till.staff.create("Léa", "cashier", "44", by=alice)
    assert [m.name for m in till.staff.members()] == ["Alice", "Marc", "Camille"]


def test_pin_change_needs_the_old_one_and_reset_by_manager(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    with pytest.raises(LoginError, match="actuel incorrect"):
        till.staff.change_own_pin(camille, "000000", "765432")
    till.staff.change_own_pin(camille, "333333", "765432")
    assert till.staff.authenticate(camille.id, "765432").name == "Camille"
    till.staff.reset_pin(marc, camille.id, "111222")
    assert till.staff.authenticate(camille.id, "111222").name == "Camille"
    assert [e["by"] for e in jet(till, "PIN_CHANGED")] == ["Camille", "Marc"]
    with pytest.raises(StaffError, match="Changer mon code PIN"):
        till.staff.reset_pin(marc, marc.id, "999999")


def test_reset_pin_lifts_a_lockout(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    for _ in range(5):
        with pytest.raises(LoginError):
            till.staff.authenticate(camille.id, "000000")
    with pytest.raises(LoginError, match="bloqué"):
        till.staff.authenticate(camille.id, "333333")
    till.staff.reset_pin(marc, camille.id, "123123")
    assert till.staff.authenticate(camille.id, "123123").name == "Camille"


def _sell(till: Till, who: StaffMember) -> None:
    basket = Basket()
    basket.add_article(till.catalogue.active_articles()[0])
    tenders, change = cash_payment(basket.total, basket.total)
    till.checkout.complete(basket, tenders, change, who)


def test_cashier_sees_only_own_sales_manager_sees_all(till: Till) -> None:
    camille, marc = member(till, "Camille"), member(till, "Marc")
    _sell(till, camille)
    _sell(till, marc)
    _sell(till, camille)
    conn, day = till.db.connection(), till.clock().date()
    own = sales_history(conn, till.ledger.till, camille, day)
    assert [e.number for e in own] == ["T01-000003", "T01-000001"]
    assert {e.cashier for e in own} == {"Camille"}
    assert len(sales_history(conn, till.ledger.till, marc, day)) == 3
