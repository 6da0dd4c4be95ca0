"""PIN checks off the UI thread: scrypt takes a noticeable time on a Pi, and the screen must keep
painting (the clock, a scan arriving, the cashier's next touch) while it runs.

The check runs in a thread worker; its database connection (peewee opens one per thread) is closed when
the check ends, and the answer — the member, or the exception to show — comes back on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fiscal.journal import ClockWentBack
from kiosk.staff.service import LoginError, StaffMember

if TYPE_CHECKING:
    from peewee import Database
    from textual.dom import DOMNode

Answer = StaffMember | LoginError | ClockWentBack


def check_pin(
    node: DOMNode, db: Database, check: Callable[[], StaffMember], answered: Callable[[Answer], None]
) -> None:
    """Run `check()` (staff.authenticate / authorize) in a thread; `answered(result)` on the UI thread."""
    app = node.app

    def run() -> None:
        result: Answer
        try:
            result = check()
        except (LoginError, ClockWentBack) as exc:
            result = exc
        finally:
            db.close()  # this thread's connection only (peewee keeps one per thread)
        app.call_from_thread(answered, result)

    node.run_worker(run, thread=True, exclusive=True, group="pin-check", name="pin check")
