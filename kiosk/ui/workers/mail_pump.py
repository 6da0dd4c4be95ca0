"""The e-mail receipts' sender in the UI: short worker threads, started on demand and by a timer.

The queue lives in the database (kiosk.receipts.digital_outbox); this only decides when to try again and
tells the cashier what happened. No thread outlives a round of sending, so closing the app never waits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.receipts.digital_outbox import ReceiptOutbox, SendReport
from kiosk.receipts.mailer import MailSettings, SmtpMailer

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)
CHECK_SECONDS = 10


class ReceiptMailPump:
    def __init__(self, app: KioskApp):
        self.app = app
        self.outbox = ReceiptOutbox(app.till.db)
        self.busy = False
        self.again = False
        self.next_due: datetime | None = None
        self.reported: set[str] = set()  # tickets already said to be waiting

    def start(self) -> None:
        """At start: e-mails cut short by a stop go back to the queue, then the timer takes over."""
        self.outbox.recover()
        self.next_due = self.outbox.next_due()
        self.app.set_interval(CHECK_SECONDS, self.tick)
        self.tick()

    def tick(self) -> None:
        if self.next_due is not None and self.next_due <= self.outbox.now():
            self.kick()

    def kick(self) -> None:
        """Send what is due now (a new request is due at once)."""
        if self.busy:
            self.again = True
            return
        self.busy = True
        self.app.run_worker(self._send, thread=True, group="receipt-mail", exit_on_error=False)

    def _send(self) -> None:
        report: SendReport | None = None
        try:
            report = self.outbox.send_due_emails(SmtpMailer(MailSettings.from_config(self.app.till.config)))
        except Exception:  # a database error must not stop the sending for good
            log.exception("receipt e-mails")
        finally:
            self.app.call_from_thread(self._done, report)

    def _done(self, report: SendReport | None) -> None:
        self.busy = False
        if report is not None:
            self.next_due = report.next_due
            for ticket in report.sent:
                self.reported.discard(ticket)
                self.app.notify(f"Ticket {ticket} envoyé par e-mail.", timeout=5)
            for ticket, reason in report.deferred:
                if ticket not in self.reported:
                    self.reported.add(ticket)
                    self.app.notify(
                        f"E-mail en attente : {reason}, nouvel essai automatique (ticket {ticket}).",
                        severity="warning",
                        timeout=15,
                    )
            for ticket, reason in report.refused:
                self.reported.discard(ticket)
                self.app.notify(
                    f"E-mail du ticket {ticket} non envoyé : {reason}. Menu F1, « Renvoyer un ticket », pour corriger.",
                    severity="error",
                    timeout=20,
                )
        if self.again:
            self.again = False
            self.kick()
