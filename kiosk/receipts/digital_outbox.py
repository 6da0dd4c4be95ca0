"""The `receipt_request` queue: e-mail and SMS receipts that survive a restart and are sent once.

The customer's address or number is kept only while the request waits: the row's recipient is erased in
the same transaction that marks it sent (e-mail), handed over (SMS, to the uplink) or refused, and a
CHECK constraint makes a kept recipient on a finished row impossible.

E-mails are sent by the till itself (see `mailer`), with a growing delay between tries while the server is
down. SMS go through the portal's SMS gateway: `hand_over_sms` is what the uplink calls to take them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import SqliteDatabase

from kiosk.common.contact import mask
from kiosk.receipts.mailer import Mailer, MailError, build_email
from kiosk.store.db import PRAGMAS

EMAIL = "email"
SMS = "sms"
BACKOFF_SECONDS = (30, 60, 120, 300, 600, 1800, 3600)  # then hourly, for as long as it takes


def _iso(when: datetime) -> str:
    """Fixed-width UTC text, so that SQL compares times as strings."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try (1, 2, ...)."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


@dataclass(frozen=True)
class SmsRequest:
    """What the uplink sends to the portal's SMS gateway."""

    id: int
    ticket: str
    phone: str  # E.164, e.g. +33612345678
    text: str
    receipt: str  # the full receipt, as printed


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)  # ticket numbers
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (ticket, reason in French)
    refused: list[tuple[str, str]] = field(default_factory=list)
    next_due: datetime | None = None


class ReceiptOutbox:
    def __init__(self, db: SqliteDatabase, now: Callable[[], datetime] | None = None):
        self.db = db
        self.now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # one sender at a time: a request is never sent twice

    def request(self, kind: str, ticket: str, recipient: str, payload: dict[str, Any]) -> int:
        """Queue a receipt for `recipient` (already normalised by `recipients`); returns its id."""
        now = _iso(self.now())
        with self.db.atomic():
            cursor = self.db.execute_sql(
                "INSERT INTO receipt_request (created_utc, kind, ticket, recipient, next_try_utc, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (now, kind, ticket, recipient, now, json.dumps(payload, ensure_ascii=False)),
            )
        return int(cursor.lastrowid)

    def recover(self) -> int:
        """At start: an e-mail caught mid-send goes back to the queue (it may arrive twice, never lost)."""
        with self.db.atomic():
            cursor = self.db.execute_sql(
                "UPDATE receipt_request SET state = 'pending' WHERE state = 'sending'"
            )
        return int(cursor.rowcount)

    def next_due(self) -> datetime | None:
        row = self.db.execute_sql(
            "SELECT MIN(next_try_utc) FROM receipt_request WHERE kind = 'email' AND state = 'pending'"
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def pending(self, kind: str) -> int:
        row = self.db.execute_sql(
            "SELECT COUNT(*) FROM receipt_request WHERE kind = ? AND state IN ('pending', 'sending')", (kind,)
        ).fetchone()
        return int(row[0])

    def _finish(self, request_id: int, state: str, error: str | None = None) -> None:
        """Mark a request done and erase its recipient, in one statement (the privacy promise); the freed
        bytes are zeroed (secure_delete) rather than left in the page."""
        with self.db.atomic():
            self.db.execute_sql("PRAGMA secure_delete = ON")
            self.db.execute_sql(
                "UPDATE receipt_request SET state = ?, recipient = NULL, last_error = ?, done_utc = ? "
                "WHERE id = ?",
                (state, error, _iso(self.now()), request_id),
            )

    def send_due_emails(self, mailer: Mailer) -> SendReport:
        """Send the e-mails whose time has come (blocking: run it in a worker thread).

        The first failure that concerns the server stops the round: the others wait for the next try.
        """
        report = SendReport()
        with self._lock:
            while True:
                now = self.now()
                row = self.db.execute_sql(
                    "SELECT id, ticket, recipient, attempts, payload FROM receipt_request "
                    "WHERE kind = 'email' AND state = 'pending' AND next_try_utc <= ? "
                    "ORDER BY next_try_utc, id LIMIT 1",
                    (_iso(now),),
                ).fetchone()
                if row is None:
                    break
                request_id, ticket, recipient, attempts, payload = row
                with self.db.atomic():
                    claimed = self.db.execute_sql(
                        "UPDATE receipt_request SET state = 'sending', attempts = attempts + 1 "
                        "WHERE id = ? AND state = 'pending'",
                        (request_id,),
                    ).rowcount
                if claimed != 1:  # another process took it meanwhile
                    continue
                try:
                    mailer.send(build_email(mailer.settings, json.loads(payload), recipient))
                except MailError as exc:
                    error = f"{exc.message} ({exc.detail})" if exc.detail else exc.message
                    error = error.replace(recipient, mask(recipient))  # a server's reply may quote it
                    if exc.permanent:
                        self._finish(request_id, "failed", error)
                        report.refused.append((ticket, exc.message))
                        continue
                    with self.db.atomic():
                        self.db.execute_sql(
                            "UPDATE receipt_request SET state = 'pending', last_error = ?, next_try_utc = ? "
                            "WHERE id = ?",
                            (error, _iso(now + backoff(attempts + 1)), request_id),
                        )
                    report.deferred.append((ticket, exc.message))
                    break
                self._finish(request_id, "sent")
                report.sent.append(ticket)
        if report.sent or report.refused:
            self.scrub()
        report.next_due = self.next_due()
        return report

    def scrub(self) -> bool:
        """Leave no copy of an erased recipient in the WAL file: a truncating checkpoint. It gives up
        after a moment rather than hold up a sale (True when done; the next round tries again)."""
        if self.db.in_transaction():  # the caller's transaction: its own commit comes first
            return False
        self.db.execute_sql("PRAGMA busy_timeout = 100")
        try:
            busy = self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            self.db.execute_sql(f"PRAGMA busy_timeout = {PRAGMAS['busy_timeout']}")
        return not busy

    def hand_over_sms(self, take: Callable[[SmsRequest], None]) -> int:
        """Give each waiting SMS to `take` (the uplink writes it to its outbox), then erase the number.

        One transaction: if `take` raises, nothing is marked handed over. Call it from the thread that owns
        the uplink's writes; returns the number of requests handed over.
        """
        with self._lock, self.db.atomic():
            rows = self.db.execute_sql(
                "SELECT id, ticket, recipient, payload FROM receipt_request "
                "WHERE kind = 'sms' AND state = 'pending' ORDER BY id"
            ).fetchall()
            for request_id, ticket, phone, payload in rows:
                data = json.loads(payload)
                take(SmsRequest(int(request_id), ticket, phone, data["text"], data["receipt"]))
                self._finish(request_id, "handed")
        if rows:
            self.scrub()
        return len(rows)

    def describe(self, request_id: int) -> str:
        """A log-safe description of a request (the recipient masked)."""
        row = self.db.execute_sql(
            "SELECT kind, ticket, recipient, state FROM receipt_request WHERE id = ?", (request_id,)
        ).fetchone()
        if row is None:
            return f"demande {request_id} inconnue"
        kind, ticket, recipient, state = row
        return f"{kind} {ticket} {mask(recipient) if recipient else '-'} {state}"
