"""The reference portal ingest running in a thread against a broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kiosk.till import Till
from kiosk.uplink import outbox
from kiosk.uplink.ingest import Ingest, open_store
from kiosk.uplink.settings import UplinkSettings
from tests.support.broker import Broker, wait_until


class RunningIngest:
    def __init__(self, port: int, dsn: str, schema: str):
        self.settings = UplinkSettings(
            shop="S001", till="portal", host="127.0.0.1", port=port, reconnect_max_s=1
        )
        self.dsn, self.schema = dsn, schema
        self.ingest: Ingest | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.ingest = Ingest(
            self.settings,
            open_store(self.dsn, self.schema),
            shop="S001",
            reopen=lambda: open_store(self.dsn, self.schema),
        )
        self.thread = threading.Thread(target=self.ingest.run, daemon=True)
        self.thread.start()
        wait_until(self.ingest.ready.is_set, what="ingest subscribed")

    def kill(self) -> None:
        """Stops abruptly: no ack for what it has not stored, its session stays on the broker."""
        assert self.ingest is not None and self.thread is not None
        self.ingest.stop()
        self.thread.join(10)
        self.ingest.store.close()


@pytest.fixture
def ingest(broker: Broker, pg_url: tuple[str, str]) -> Iterator[RunningIngest]:
    running = RunningIngest(broker.port, *pg_url)
    running.start()
    yield running
    if running.thread is not None and running.thread.is_alive():
        running.kill()


def drained(till: Till) -> bool:
    return outbox.backlog(till.db.connection()).events == 0
