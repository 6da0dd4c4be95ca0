"""The seed's permission table, enforced by `require`."""

from __future__ import annotations

import pytest

from kiosk.staff.permissions import PermissionDenied, allowed, require
from kiosk.staff.service import StaffMember

CAMILLE = StaffMember(3, "Camille", "cashier")
MARC = StaffMember(2, "Marc", "manager")
ALICE = StaffMember(1, "Alice", "admin")


def test_cashier_sells_but_does_not_refund() -> None:
    require(CAMILLE, "sell")
    with pytest.raises(PermissionDenied, match="Camille ne peut pas rembourser"):
        require(CAMILLE, "refund")


def test_manager_manages_cashiers_not_managers_nor_company() -> None:
    assert allowed(MARC, "manage_cashiers") and allowed(MARC, "catalogue")
    assert not allowed(MARC, "manage_managers")
    with pytest.raises(PermissionDenied, match="seul un administrateur"):
        require(MARC, "company_settings")


def test_admin_may_do_everything() -> None:
    from kiosk.staff.permissions import PERMISSIONS

    assert all(allowed(ALICE, p) for p in PERMISSIONS)
