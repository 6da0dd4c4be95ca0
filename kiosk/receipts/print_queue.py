"""The persistent print queue: a receipt is a job that survives a restart and prints at most once.

A job is marked `printing` in the database before its bytes leave for the printer. If the till stops
before the printer confirms, the job comes back as `uncertain`: the cashier looks at the printer and
decides (« Réimprimer » puts it back in the queue explicitly) — never a silent double print. Paper out
or printer offline leaves the job pending and pauses the queue with a French message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from peewee import SqliteDatabase

from drivers.printer import Printer, PrinterError
from kiosk.store.models import PrintJob


@dataclass(frozen=True)
class QueueState:
    pending: int
    uncertain: list[tuple[int, str]]  # (job id, label)
    paused_reason: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class PrintQueue:
    def __init__(self, db: SqliteDatabase, printer_factory: Callable[[], Printer]):
        self.db = db
        self._printer_factory = printer_factory
        self._lock = threading.Lock()
        self.paused_reason: str | None = None

    def recover(self) -> list[tuple[int, str]]:
        """At start: jobs caught mid-print become `uncertain` (the cashier decides); returns them."""
        with self.db.atomic():
            PrintJob.update(state="uncertain", error="Arrêt pendant l'impression").where(
                PrintJob.state == "printing"
            ).execute()
        return self.state().uncertain

    def enqueue(self, label: str, data: bytes) -> int:
        with self.db.atomic():
            job = PrintJob.create(created_utc=_now(), label=label, data=data)
        return int(job.id)

    def retry(self, job_id: int) -> None:
        """Explicit reprint of an uncertain or cancelled job (the cashier checked the printer)."""
        with self.db.atomic():
            PrintJob.update(state="pending", error=None).where(
                PrintJob.id == job_id, PrintJob.state.in_(["uncertain", "cancelled"])
            ).execute()

    def cancel(self, job_id: int) -> None:
        with self.db.atomic():
            PrintJob.update(state="cancelled").where(
                PrintJob.id == job_id, PrintJob.state.in_(["pending", "uncertain"])
            ).execute()

    def drain(self) -> list[int]:
        """Print pending jobs in order (blocking: run it in a worker thread). Returns the printed ids.

        Stops at the first printer error, leaving that job pending; `paused_reason` says why (French).
        """
        printed: list[int] = []
        with self._lock:
            printer = self._printer_factory()
            while True:
                job = PrintJob.select().where(PrintJob.state == "pending").order_by(PrintJob.id).first()
                if job is None:
                    self.paused_reason = None
                    return printed
                with self.db.atomic():
                    PrintJob.update(state="printing").where(PrintJob.id == job.id).execute()
                try:
                    printer.print_bytes(bytes(job.data))
                except PrinterError as exc:
                    with self.db.atomic():
                        PrintJob.update(state="pending", error=exc.message).where(
                            PrintJob.id == job.id
                        ).execute()
                    self.paused_reason = exc.message
                    return printed
                with self.db.atomic():
                    PrintJob.update(state="done", printed_utc=_now(), error=None).where(
                        PrintJob.id == job.id
                    ).execute()
                printed.append(int(job.id))

    def state(self) -> QueueState:
        pending = PrintJob.select().where(PrintJob.state == "pending").count()
        uncertain = [
            (int(j.id), j.label)
            for j in PrintJob.select().where(PrintJob.state == "uncertain").order_by(PrintJob.id)
        ]
        return QueueState(pending=pending, uncertain=uncertain, paused_reason=self.paused_reason)
