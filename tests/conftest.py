"""Shared fixtures: a demo till on a fresh data directory, with simulated devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.till import Till


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    (path / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
    return path


@pytest.fixture
def till(data_dir: Path) -> Iterator[Till]:
    till = Till.open(data_dir)
    init_demo(till)
    yield till
    till.db.close()


# Fixtures of the shared helpers, available to every test group.
from tests.support.broker import broker, pg_url  # noqa: E402, F401
from tests.support.mail import smtp  # noqa: E402, F401
from tests.support.portal import ingest  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _pilot_waits_for_pin_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """PIN checks run in a thread worker (kiosk.ui.workers.pin_check) and answer on the UI thread, as
    a cashier sees it; a test's next key waits for that answer, like the cashier waits for the screen."""
    from textual.pilot import Pilot

    press, click = Pilot.press, Pilot.click

    async def settle(pilot: Pilot) -> None:  # type: ignore[type-arg]
        checks = [w for w in pilot.app.workers if w.group == "pin-check" and not w.is_finished]
        if checks:
            await pilot.app.workers.wait_for_complete(checks)
            await pilot.pause()

    async def pressed(self: Pilot, *keys: str) -> None:  # type: ignore[type-arg]
        for key in keys:  # a key typed after « Entrée » lands once the PIN is answered
            await press(self, key)
            await settle(self)

    async def clicked(self: Pilot, *args: object, **kwargs: object) -> bool:  # type: ignore[type-arg]
        result = await click(self, *args, **kwargs)  # type: ignore[arg-type]
        await settle(self)
        return result

    monkeypatch.setattr(Pilot, "press", pressed)
    monkeypatch.setattr(Pilot, "click", clicked)
