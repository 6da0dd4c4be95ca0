"""Receipt printing: a neutral document model, ESC/POS rendering, and printer backends.

A receipt is built as a list of blocks (`document`), rendered once into ESC/POS bytes (`render`, with
`layout` and `logo`), and those bytes are what is sent (and what golden tests compare). What a printer
model can do is data in a `PrinterProfile` (`profiles`), not branches in the code. Transports only move
bytes (`transports`: one table of USB, serial, network and device file); the backends (`backends`) are a
real printer and a simulated one behind the same `Printer` protocol (`status`); `open_printer`
(`config`) builds one from the devices.printer configuration.
"""

from drivers.printer.backends import EscposPrinter, SimulatedPrinter
from drivers.printer.config import open_printer
from drivers.printer.document import (
    Align,
    Barcode,
    Block,
    Columns,
    Document,
    Feed,
    Logo,
    QRCode,
    Rule,
    Text,
)
from drivers.printer.layout import fold
from drivers.printer.profiles import DEFAULT_PROFILE, MODELS, PROFILES, PrinterProfile, model_profile
from drivers.printer.render import kick_bytes, preview, render
from drivers.printer.status import (
    OFFLINE_MESSAGE,
    PAPER_OUT_MESSAGE,
    PaperOut,
    PaperState,
    Printer,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
)
from drivers.printer.transports import TRANSPORTS, Transport, TransportKind

__all__ = [
    "DEFAULT_PROFILE",
    "MODELS",
    "OFFLINE_MESSAGE",
    "PAPER_OUT_MESSAGE",
    "PROFILES",
    "TRANSPORTS",
    "Align",
    "Barcode",
    "Block",
    "Columns",
    "Document",
    "EscposPrinter",
    "Feed",
    "Logo",
    "PaperOut",
    "PaperState",
    "Printer",
    "PrinterError",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterStatus",
    "QRCode",
    "Rule",
    "SimulatedPrinter",
    "Text",
    "Transport",
    "TransportKind",
    "fold",
    "kick_bytes",
    "model_profile",
    "open_printer",
    "preview",
    "render",
]
