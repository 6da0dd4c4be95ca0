"""The layout of the main screens at the till's three sizes (7" and 10" touch screens, an SSH terminal),
held by SVG snapshots (pytest-textual-snapshot). After a wanted change of layout, look at the new
pictures, then accept them: `.venv/bin/pytest tests/ui/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.till import Till
from kiosk.ui.app import KioskApp

SIZES = [(80, 24), (100, 30), (160, 50)]
ALICE = ("enter", *"111111", "enter")  # the first user is focused: Entrée picks her


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return datetime(2026, 12, 4, 9, 30, 0, tzinfo=tz)


@pytest.fixture(autouse=True)
def _frozen_header_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The title bar's clock would change every picture."""
    import textual.widgets._header as header

    monkeypatch.setattr(header, "datetime", _FrozenClock)


@pytest.fixture
def till(request: pytest.FixtureRequest) -> Iterator[Till]:
    """A demo till in a data directory whose path is the same at every run (the simulated printer's
    notice shows it)."""
    data_dir = Path(tempfile.gettempdir()) / "kiosk-snapshots" / re.sub(r"\W", "_", request.node.name)
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    (data_dir / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
    till = Till.open(data_dir)
    init_demo(till)
    yield till
    till.db.close()
    shutil.rmtree(data_dir, ignore_errors=True)


def _codes(till: Till, n: int) -> list[str]:
    rows = till.db.execute_sql(
        "SELECT b.code FROM barcode b JOIN article a ON a.id = b.article_id "
        "WHERE a.archived = 0 AND a.sold_by_weight = 0 AND b.code GLOB '[0-9]*' ORDER BY a.reference LIMIT ?",
        (n,),
    )
    return [code for (code,) in rows]


async def _settle(pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_login_screen(snap_compare, till: Till, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(KioskApp(till), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sale_screen_with_a_basket(snap_compare, till: Till, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    keys = [*ALICE]
    for code in _codes(till, 3):
        keys += [*code, "enter"]
    assert snap_compare(KioskApp(till), press=keys, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_payment_screen(snap_compare, till: Till, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    keys = [*ALICE]
    for code in _codes(till, 2):
        keys += [*code, "enter"]
    keys.append("f12")
    assert snap_compare(KioskApp(till), press=keys, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_menu(snap_compare, till: Till, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(KioskApp(till), press=[*ALICE, "f1"], terminal_size=size, run_before=_settle)
