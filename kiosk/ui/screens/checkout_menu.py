"""The checkout's entries in the sale screen's menu (F1): discounts, price override, refund, exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.common.money import format_eur
from kiosk.sale.credit_notes import CreditNoteView
from kiosk.ui.dialogs.code import CodeDialog

if TYPE_CHECKING:
    from kiosk.ui.screens.sale import SaleScreen


def credit_note_balance(screen: SaleScreen) -> None:
    """What is left on a credit note, and until when (scanned or typed)."""
    notes = screen.kiosk.till.checkout.credit_notes

    def resolve(code: str) -> CreditNoteView:
        note = notes.get(code)
        if note is None:
            raise ValueError(
                f"Avoir « {code.strip()} » inconnu : vérifiez le numéro imprimé sous le code-barres."
            )
        return note

    def shown(note: CreditNoteView | None) -> None:
        if note is not None:
            screen.say(
                f"Avoir {note.number} : reste {format_eur(note.balance)} sur {format_eur(note.amount)}, "
                f"valable jusqu'au {note.expires:%d/%m/%Y} (émis par le ticket {note.ticket})."
            )

    screen.app.push_screen(
        CodeDialog("Consulter un avoir", "Scannez l'avoir ou saisissez son numéro", resolve), shown
    )
