"""The print queue: a job survives a restart, prints at most once, pauses on paper out; reprint is explicit."""

from __future__ import annotations

from kiosk.receipts.print_queue import PrintQueue
from kiosk.store.models import PrintJob
from kiosk.till import Till


def test_paper_out_pauses_then_prints_in_order_once(till: Till) -> None:
    printer = till.printer
    queue = till.print_queue
    a = queue.enqueue("Ticket T01-000001", b"AAA")
    b = queue.enqueue("Ticket T01-000002", b"BBB")
    printer.paper = "out"  # type: ignore[attr-defined]
    assert queue.drain() == []
    assert queue.paused_reason is not None and "Plus de papier" in queue.paused_reason
    assert queue.state().pending == 2 and printer.jobs == 0  # type: ignore[attr-defined]
    printer.paper = "ok"  # type: ignore[attr-defined]
    assert queue.drain() == [a, b]
    assert queue.drain() == []
    assert printer.jobs == 2 and printer.last_bytes == b"BBB"  # type: ignore[attr-defined]
    assert queue.paused_reason is None


def test_job_survives_restart_and_is_never_printed_twice_silently(till: Till) -> None:
    done = till.print_queue.enqueue("Ticket T01-000001", b"first")
    till.print_queue.drain()
    pending = till.print_queue.enqueue("Ticket T01-000002", b"second")
    cut = till.print_queue.enqueue("Ticket T01-000003", b"third")
    PrintJob.update(state="printing").where(PrintJob.id == cut).execute()  # the till stopped mid-print

    reopened = Till.open(till.data_dir)
    warnings = reopened.start()
    assert any("T01-000003" in w and "F7" in w for w in warnings)
    assert reopened.print_queue.drain() == [pending]  # the pending job prints, the cut one waits
    assert reopened.print_queue.state().uncertain == [(cut, "Ticket T01-000003")]
    reopened.print_queue.retry(cut)  # explicit: the cashier saw nothing came out
    assert reopened.print_queue.drain() == [cut]
    states = {j.id: j.state for j in PrintJob.select()}
    assert states == {done: "done", pending: "done", cut: "done"}
    assert isinstance(reopened.print_queue, PrintQueue)
