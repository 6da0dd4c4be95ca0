"""Credit notes (« avoirs »): issued by a refund or by the rest of a partly used credit note, spent as a
tender. The balance is the sum of an append-only ledger of moves (issue +, use -), written in the same
transaction as the ticket that issues or spends it, so a credit note is never spent twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from peewee import SqliteDatabase, fn

from kiosk.common.money import format_eur
from kiosk.store.models import CreditNote, CreditNoteMove


class CreditNoteError(ValueError):
    """A credit note that cannot be used; the message is for the cashier (French)."""


@dataclass(frozen=True)
class CreditNoteView:
    number: str
    amount: int
    balance: int
    expires: date
    ticket: str


def credit_note_number(ticket_number: str) -> str:
    """A ticket issues at most one credit note, named after it: AV-T01-000042."""
    return f"AV-{ticket_number}"


def normalise(number: str) -> str:
    return number.strip().upper().replace(" ", "")


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


class CreditNoteService:
    def __init__(self, db: SqliteDatabase, clock: Callable[[], datetime], validity_days: int = 365):
        self.db = db
        self.clock = clock
        self.validity_days = validity_days

    def get(self, number: str) -> CreditNoteView | None:
        note = CreditNote.get_or_none(CreditNote.number == normalise(number))
        if note is None:
            return None
        balance = (
            CreditNoteMove.select(fn.COALESCE(fn.SUM(CreditNoteMove.amount), 0))
            .where(CreditNoteMove.credit_note == note.id)
            .scalar()
        )
        return CreditNoteView(
            number=note.number,
            amount=note.amount,
            balance=int(balance),
            expires=date.fromisoformat(note.expires),
            ticket=note.ticket,
        )

    def usable(self, number: str, today: date, *, training: bool = False) -> CreditNoteView:
        """The credit note if it can pay today; otherwise CreditNoteError saying why (French)."""
        if not normalise(number):
            raise CreditNoteError("Scannez le code-barres de l'avoir ou saisissez son numéro (AV-…).")
        note = self.get(number)
        if note is None:
            raise CreditNoteError(
                f"Avoir « {number.strip()} » inconnu : vérifiez le numéro imprimé sous le code-barres."
            )
        if (re.search(r"-F\d+$", note.ticket) is not None) != training:
            raise CreditNoteError(
                "Cet avoir vient du mode formation (ou l'inverse) : il ne peut pas servir ici."
            )
        if note.balance <= 0:
            raise CreditNoteError(f"L'avoir {note.number} a déjà été utilisé : il ne reste rien à dépenser.")
        if today > note.expires:
            raise CreditNoteError(
                f"L'avoir {note.number} a expiré le {note.expires:%d/%m/%Y} : il ne peut plus être utilisé."
            )
        return note

    def issue(self, number: str, amount: int, ticket: str, when: datetime) -> CreditNoteView:
        """Create a credit note (inside the ticket's transaction)."""
        if amount <= 0:
            raise CreditNoteError("Un avoir doit être d'un montant positif.")
        expires = when.date() + timedelta(days=self.validity_days)
        note = CreditNote.create(
            number=number, amount=amount, issued_utc=_utc(when), expires=expires.isoformat(), ticket=ticket
        )
        CreditNoteMove.create(
            credit_note=note.id, kind="issue", amount=amount, ticket=ticket, created_utc=_utc(when)
        )
        return CreditNoteView(number, amount, amount, expires, ticket)

    def spend(self, number: str, amount: int, ticket: str, when: datetime, *, kind: str = "use") -> None:
        """Take `amount` off a credit note (inside the ticket's transaction); refuses more than its balance."""
        note = self.get(number)
        if note is None:
            raise CreditNoteError(f"Avoir « {number} » inconnu.")
        if amount > note.balance:
            raise CreditNoteError(
                f"L'avoir {note.number} ne vaut plus que {format_eur(note.balance)} : rien n'est encaissé."
            )
        row = CreditNote.get(CreditNote.number == note.number)
        CreditNoteMove.create(
            credit_note=row.id, kind=kind, amount=-amount, ticket=ticket, created_utc=_utc(when)
        )
