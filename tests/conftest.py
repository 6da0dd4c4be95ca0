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
