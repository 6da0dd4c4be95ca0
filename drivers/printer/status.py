"""What a printer is to the till: the `Printer` protocol, its status, and its errors in French."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from drivers.errors import DeviceError
from drivers.printer.profiles import PrinterProfile

PaperState = Literal["ok", "near_end", "out", "unknown"]

OFFLINE_MESSAGE = "Imprimante hors ligne : vérifiez qu'elle est allumée et branchée, puis réessayez."
PAPER_OUT_MESSAGE = "Plus de papier : remplacez le rouleau, refermez le capot, puis réessayez."
_STATUS_MESSAGES: dict[PaperState, str] = {
    "ok": "Imprimante prête.",
    "near_end": "Rouleau presque fini : préparez un rouleau de rechange.",
    "out": PAPER_OUT_MESSAGE,
    "unknown": "Imprimante connectée ; elle n'indique pas l'état du papier.",
}


class PrinterError(DeviceError):
    """A printing failure, with a message for the cashier saying what to do."""


class PrinterOffline(PrinterError):
    def __init__(self, message: str = OFFLINE_MESSAGE):
        super().__init__(message)


class PaperOut(PrinterError):
    def __init__(self, message: str = PAPER_OUT_MESSAGE):
        super().__init__(message)


@dataclass
class PrinterStatus:
    online: bool
    paper: PaperState
    message: str


def status_of(online: bool, paper: PaperState) -> PrinterStatus:
    return PrinterStatus(online, paper, _STATUS_MESSAGES[paper] if online else OFFLINE_MESSAGE)


class Printer(Protocol):
    profile: PrinterProfile

    def print_bytes(self, data: bytes) -> None: ...

    def status(self) -> PrinterStatus: ...

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> None: ...
