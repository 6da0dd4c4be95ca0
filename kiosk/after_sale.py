"""What happens once a sale is a signed ticket, in one place: the drawer, the customer display, the
credit notes it issued (always printed: the customer's money), the loyalty programme (the customer
chosen while paying, or recognised by their card), the receipt the customer asked for (printed, e-mailed,
texted, or none) and the duplicates asked later. The payment screen, the simulation and the command line
call it; the portal hears of the sale through the outbox, written in the ticket's own transaction.

Devices are slow and may fail: the caller says how their work runs (`Devices`): the UI hands it to its
workers, the command line runs it inline, the simulation keeps the shop's drawer and paper untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.display import DisplayError, change_lines, thanks_lines
from drivers.drawer import DrawerError
from drivers.printer import PrinterError
from fiscal.duplicates import record_duplicate
from kiosk.common.money import format_eur
from kiosk.loyalty.directory import CustomerError
from kiosk.loyalty.service import LoyaltyError
from kiosk.receipts.digital import Queued, queue_receipt
from kiosk.receipts.manual import manual_slip
from kiosk.receipts.render import credit_note_receipt, sale_receipt
from kiosk.sale.checkout import CompletedSale

if TYPE_CHECKING:
    from kiosk.till import Till


@dataclass(frozen=True)
class Devices:
    """How the slow device work runs: each callable returns at once or after the device answered."""

    pulse_drawer: Callable[[], object]
    show: Callable[[str, str], object]
    print_job: Callable[[str, bytes], object]  # a labelled ESC/POS job, through the print queue

    @classmethod
    def inline(cls, till: Till, say: Callable[[str], None] = print) -> Devices:
        """The command line: each act done before returning; a failing device is said, never fatal."""

        def pulse() -> None:
            try:
                till.drawer.open()
            except DrawerError as exc:
                say(str(exc))

        def show(line1: str, line2: str) -> None:
            try:
                till.display.show(line1, line2)
            except DisplayError as exc:
                say(str(exc))

        def print_job(label: str, data: bytes) -> None:
            till.print_queue.enqueue(label, data)  # survives a stop, like every receipt
            try:
                till.print_queue.drain()
            except PrinterError as exc:
                say(exc.message)
                return
            if till.print_queue.paused_reason:
                say(till.print_queue.paused_reason)

        return cls(pulse, show, print_job)


@dataclass
class QuietDevices:
    """The simulation: thousands of sales must not open a real till's drawer nor print its paper; what
    would have been done is counted, and nothing is left in the print queue for the next start."""

    drawer_pulses: int = 0
    shown: list[tuple[str, str]] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)  # the labels of the jobs not printed

    def devices(self) -> Devices:
        def pulse() -> None:
            self.drawer_pulses += 1

        def show(line1: str, line2: str) -> None:
            self.shown[:] = [(line1, line2)]

        def print_job(label: str, data: bytes) -> None:
            self.printed.append(label)

        return Devices(pulse, show, print_job)


@dataclass(frozen=True)
class Attached:
    """The sale attached to a customer: what the cashier is told and what the receipt carries."""

    customer_id: int
    name: str
    recognised: bool  # found by the card that paid
    said: str  # « Vente rattachée à … — carte •••• 1234 liée — 7/10 achats »
    receipt_lines: tuple[str, ...] = ()
    full: bool = False  # the card is full: a reward is due (the UI rings)


class LoyaltyRefused(Exception):
    """The loyalty programme refused the attachment (French message)."""


class AfterSale:
    def __init__(self, till: Till, devices: Devices):
        self.till = till
        self.devices = devices

    # -- right after the ticket is signed -------------------------------------------------------------
    def settle(
        self, sale: CompletedSale, customer_id: int | None = None, card_pan: str = ""
    ) -> Attached | None:
        """Drawer, change on the display, credit notes printed, loyalty: once per sale, in this order
        (the drawer first: the customer waits for their change). LoyaltyRefused comes last, when every
        other act is done."""
        if sale.opens_drawer:
            self.devices.pulse_drawer()
        if sale.paid_cash:
            self.devices.show(*change_lines(format_eur(sale.change)))
        for number, amount, expires in sale.issued_credit_notes():
            doc = credit_note_receipt(self.till.config, sale, number, amount, expires)
            self.devices.print_job(f"Avoir {number}", self.till.render(doc).data)
        if self.till.checkout.training:
            return None
        recognised = False
        if customer_id is None and card_pan:
            found = self.till.customers.by_card(card_pan)
            if found is not None:
                customer_id, recognised = found.id, True
        if customer_id is None:
            return None
        return self.attach(sale, customer_id, card_pan, recognised)

    def attach(
        self, sale: CompletedSale, customer_id: int, card_pan: str = "", recognised: bool = False
    ) -> Attached:
        """Attach the sale to a customer of the directory, who earns what the programme gives; the card
        that paid is linked to them (a keyed token, never its number). Raises LoyaltyRefused."""
        till = self.till
        try:
            summary = till.loyalty.attach(customer_id, sale.number, sale.total, sale.body, sale.when)
        except LoyaltyError as exc:
            raise LoyaltyRefused(str(exc)) from None
        name = till.customers.get(customer_id).display_name
        said = [f"Client reconnu par sa carte : {name}" if recognised else f"Vente rattachée à {name}"]
        if card_pan and not recognised:
            try:
                till.customers.link_card(customer_id, card_pan)
                said.append(f"carte •••• {card_pan[-4:]} liée")
            except CustomerError:
                pass  # linked to someone else, or no usable number: the sale is attached all the same
        lines: tuple[str, ...] = ()
        full = False
        if summary is not None:
            lines = tuple(summary.receipt_lines())
            said.append(" ; ".join(lines[1:]))
            full = bool(summary.full)
        return Attached(customer_id, name, recognised, " — ".join(said), lines, full)

    # -- the receipt the customer asked for -----------------------------------------------------------
    def print_receipt(self, sale: CompletedSale, loyalty_lines: tuple[str, ...] = ()) -> str:
        """Queue the receipt (it survives a restart) and print it; returns its text (the preview)."""
        rendered = self.till.render(sale_receipt(self.till.config, sale, loyalty=list(loyalty_lines)))
        self.devices.print_job(f"Ticket {sale.number}", rendered.data)
        return rendered.text

    def send_receipt(self, sale: CompletedSale, kind: str, recipient: str) -> Queued:
        """By e-mail or SMS: queued, retried, the address erased once sent (RecipientError if unusable)."""
        return queue_receipt(self.till, sale, kind, recipient)

    def print_manual_slip(self, sale: CompletedSale) -> str:
        """The handwritten-ticket model of a card payment (international swipe cards); returns its text."""
        rendered = self.till.render(manual_slip(self.till, sale))
        self.devices.print_job(f"Ticket manuel {sale.number}", rendered.data)
        return rendered.text

    def reprint(self, number: int, user: str) -> str:
        """« DUPLICATA n°k » of ticket `number`, journaled, through the same print queue as every
        receipt; returns its text. Raises FiscalError (French) for an unknown ticket."""
        ticket, _, copy = record_duplicate(self.till.ledger, self.till.db.connection(), number, user)
        sale = CompletedSale.from_record(ticket)
        rendered = self.till.render(sale_receipt(self.till.config, sale, duplicate=copy))
        self.devices.print_job(f"Duplicata {sale.number}", rendered.data)
        return rendered.text

    def thanks(self) -> None:
        """The customer leaves: the display thanks them."""
        self.devices.show(*thanks_lines(self.till.config.shop.name))

    # -- card payments whose answer was lost -----------------------------------------------------------
    def card_outcome_resolved(self, amount: int, paid: bool, user: str) -> None:
        """The cashier read the terminal after a lost answer: their decision is journaled (NF525 JET)."""
        self.till.ledger.record_event(
            self.till.db.connection(), "CARD_OUTCOME_RESOLVED", {"amount": amount, "paid": paid, "user": user}
        )
