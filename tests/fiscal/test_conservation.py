"""Nothing fiscal leaves the database: a purge is refused, saying why."""

from __future__ import annotations

from datetime import date

import pytest

from fiscal.conservation import check_purge
from fiscal.journal import FiscalError
from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till


def test_purge_is_refused_with_the_reason(till: Till) -> None:
    simulate_sales(till, 3, seed=1)
    conn = till.db.connection()
    count = conn.execute("SELECT COUNT(*) FROM fiscal_record").fetchone()[0]
    with pytest.raises(FiscalError, match="se conservent 6 ans"):
        check_purge(conn, "T01", date(2026, 1, 1), date(2026, 11, 25))
    with pytest.raises(FiscalError, match="non archivée"):
        check_purge(conn, "T01", date(2033, 1, 1), date(2039, 6, 1))
    assert conn.execute("SELECT COUNT(*) FROM fiscal_record").fetchone()[0] == count
