"""Rendering a document once into ESC/POS bytes (what is sent and what golden tests compare), and its
plain-text preview."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from escpos.constants import QR_ECLEVEL_M
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy

from drivers.printer.document import Align, Barcode, Columns, Document, Feed, Logo, QRCode, Rule, Text
from drivers.printer.layout import columns_line, rule_line, text_lines, wrap
from drivers.printer.logo import logo_bytes
from drivers.printer.profiles import DEFAULT_PROFILE, PrinterProfile


@dataclass(frozen=True)
class _Style:
    align: Align = "left"
    bold: bool = False
    double: bool = False


class _Pen:
    """Emits only the style changes a block needs, starting from the state ESC @ leaves."""

    def __init__(self, printer: Dummy):
        self.printer = printer
        self.style = _Style()

    def use(self, wanted: _Style) -> None:
        current = self.style
        if wanted.double != current.double:
            # The size is set with ESC !, which also clears bold: bold must be sent again afterwards.
            self.printer.set(double_width=wanted.double, double_height=wanted.double, normal_textsize=True)
            current = _Style(current.align, False, wanted.double)
        if wanted.bold != current.bold:
            self.printer.set(bold=wanted.bold)
        if wanted.align != current.align:
            self.printer.set(align=wanted.align)
        self.style = wanted


def render(doc: Document, profile: PrinterProfile = DEFAULT_PROFILE) -> bytes:
    """Render a document to ESC/POS bytes, with one code page for the whole receipt and a cut at the end."""
    printer = Dummy(profile=profile.escpos_profile)
    printer.hw("INIT")
    # Forcing the code page turns python-escpos's magic encoder off: it emits ESC t once, here, and never
    # switches code page mid-receipt (an unencodable character would become "?", but fold() prevents that).
    printer.charcode(profile.codepage)
    pen = _Pen(printer)
    for block in doc:
        match block:
            case Text():
                pen.use(_Style(block.align, block.bold, block.double))
                for line in text_lines(block, profile):
                    printer.textln(line)
            case Columns():
                pen.use(_Style("left", block.bold, False))
                printer.textln(columns_line(block, profile))
            case Rule():
                pen.use(_Style())
                printer.textln(rule_line(block, profile))
            case Barcode():
                pen.use(_Style("center"))
                _barcode(printer, block)
            case QRCode():
                pen.use(_Style("center"))
                printer.qr(block.data, ec=QR_ECLEVEL_M, size=block.size, native=True)
            case Feed():
                printer.ln(block.lines)
            case Logo():
                raster = logo_bytes(block, profile)
                if raster:
                    pen.use(_Style())  # left: the image is already placed by its padding
                    printer._raw(raster)
            case _:
                raise TypeError(f"not a document block: {block!r}")
    printer.cut()
    return printer.output


def _barcode(printer: Dummy, block: Barcode) -> None:
    data = block.data
    if block.kind.upper() in ("CODE128", "GS1-128") and not data.startswith("{"):
        data = "{B" + data  # python-escpos wants the CODE128 code set spelled out
    try:
        # barcode() announces its renderer with print(); keep that chatter off the terminal.
        with contextlib.redirect_stdout(io.StringIO()):
            printer.barcode(data, block.kind, height=64, width=2, pos="BELOW", align_ct=False)
    except EscposError as exc:
        raise ValueError(f"cannot print {block.kind} barcode {block.data!r}: {exc}") from exc


def preview(doc: Document, profile: PrinterProfile = DEFAULT_PROFILE) -> str:
    """A plain-text picture of the receipt, `profile.columns` wide, laid out like `render`."""
    width = profile.columns
    lines: list[str] = []

    def place(text: str, align: Align) -> None:
        for line in wrap(text, width):
            padded = {"left": line.ljust, "center": line.center, "right": line.rjust}[align](width)
            lines.append(padded.rstrip())

    for block in doc:
        match block:
            case Text():
                for line in text_lines(block, profile):
                    place(line, block.align)
            case Columns():
                lines.append(columns_line(block, profile))
            case Rule():
                lines.append(rule_line(block, profile))
            case Barcode():
                place(f"||| {block.data} |||", "center")
            case QRCode():
                place(f"[QR {block.data}]", "center")
            case Feed():
                lines.extend([""] * block.lines)
            case Logo():
                place("[logo]", block.align)
            case _:
                raise TypeError(f"not a document block: {block!r}")
    return "\n".join(lines)


def kick_bytes(pin: int = 2, pulse_ms: int = 100) -> bytes:
    """ESC p m t1 t2: pulse the cash drawer connector pin 2 (m = 0) or 5 (m = 1) for `pulse_ms`.

    t1 (on) and t2 (off) count 2 ms units, 1 to 255: a pulse of 2 to 510 ms, rounded down to even.
    """
    if pin not in (2, 5):
        raise ValueError(f"drawer kick pin must be 2 or 5, not {pin!r}")
    if isinstance(pulse_ms, bool) or not isinstance(pulse_ms, int) or not 2 <= pulse_ms <= 510:
        raise ValueError(f"drawer kick pulse must be 2 to 510 ms, not {pulse_ms!r}")
    units = pulse_ms // 2
    return b"\x1bp" + bytes([0 if pin == 2 else 1, units, units])
