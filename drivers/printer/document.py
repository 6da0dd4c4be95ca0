"""The neutral document model of a receipt: a list of blocks, laid out and rendered by `render`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped to the paper width; `double` is double width and height."""

    text: str
    align: Align = "left"
    bold: bool = False
    double: bool = False

    def __post_init__(self) -> None:
        if self.align not in ("left", "center", "right"):
            raise ValueError(f"align must be left, center or right, not {self.align!r}")


@dataclass(frozen=True)
class Columns:
    """One line: `left` text, then `right` text flush right; `left` is truncated to make room."""

    left: str
    right: str
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    """A full-width line made of one repeated character."""

    char: str = "-"

    def __post_init__(self) -> None:
        if len(self.char) != 1:
            raise ValueError(f"Rule char must be a single character, not {self.char!r}")


@dataclass(frozen=True)
class Barcode:
    """A 1D barcode drawn by the printer; `kind` is a python-escpos name (CODE128, EAN13...)."""

    data: str
    kind: str = "CODE128"

    def __post_init__(self) -> None:
        if not self.data or not self.data.isascii():
            raise ValueError(f"Barcode data must be non-empty ASCII, not {self.data!r}")


@dataclass(frozen=True)
class QRCode:
    """A QR code drawn by the printer itself (native ESC/POS), `size` is the module size in dots."""

    data: str
    size: int = 4

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("QR code data must not be empty")
        if not 1 <= self.size <= 16:
            raise ValueError(f"QR code size must be 1 to 16, not {self.size}")


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.lines <= 255:
            raise ValueError(f"Feed lines must be 0 to 255, not {self.lines}")


@dataclass(frozen=True)
class Logo:
    """The shop's logo (a PNG or BMP file), printed as a 1-bit raster image by `render`.

    The image is flattened on white, converted to 1 bit (Floyd-Steinberg dithering, exact for a
    black-and-white logo), scaled down to the profile's printable width in dots if wider (never
    enlarged), and placed at `align` by white padding, so the result does not depend on whether a printer
    applies ESC a to images. A file that is missing or cannot be read is left out of the receipt with a
    warning in the log: the receipt itself must always print.
    """

    path: str
    align: Align = "center"

    def __post_init__(self) -> None:
        if self.align not in ("left", "center", "right"):
            raise ValueError(f"align must be left, center or right, not {self.align!r}")


Block = Text | Columns | Rule | Barcode | QRCode | Feed | Logo
Document = list[Block]
