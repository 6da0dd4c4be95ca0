"""The shop's logo as GS v 0 raster bytes, scaled and placed for the profile's printable width."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from functools import lru_cache

from escpos.printer import Dummy
from PIL import Image

from drivers.printer.document import Align, Logo
from drivers.printer.profiles import PrinterProfile

log = logging.getLogger("drivers.printer")


def logo_bytes(block: Logo, profile: PrinterProfile) -> bytes:
    """The logo's ESC/POS bytes, or b"" (and a warning in the log) when its file cannot be printed."""
    try:
        stat = os.stat(block.path)
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        return _raster_bytes(block.path, version, block.align, profile.dots, profile.escpos_profile)
    except Exception as exc:  # whatever is wrong with the logo file, the receipt must still print
        log.warning("logo %s left out of the receipt: %s: %s", block.path, type(exc).__name__, exc)
        return b""


@lru_cache(maxsize=8)
def _raster_bytes(
    path: str, version: tuple[int, int, int], align: Align, dots: int, escpos_profile: str
) -> bytes:
    """GS v 0 raster bytes of the logo at `path`; cached per file version, as every receipt prints it.

    GS v 0 (python-escpos impl "bitImageRaster") is the image command that nearly every ESC/POS thermal
    printer understands: Epson TM models and the many compatible 58/80 mm printers alike. GS ( L needs
    newer Epson firmware that clones often lack, and ESC * prints in 24-dot bands that some models
    misalign. Density byte 0: full resolution both ways.
    """
    with Image.open(path) as source:
        source.load()
        image = _one_bit(source, align, dots)
    printer = Dummy(profile=escpos_profile)
    # image() prints a remark when the python-escpos profile has no paper width; keep it off the terminal.
    with contextlib.redirect_stdout(io.StringIO()):
        printer.image(
            image,
            impl="bitImageRaster",
            high_density_vertical=True,
            high_density_horizontal=True,
            center=False,
        )
    return printer.output


def _one_bit(source: Image.Image, align: Align, dots: int) -> Image.Image:
    """Flatten on white, scale down to `dots` wide if needed, dither to 1 bit, pad to place at `align`."""
    rgba = source.convert("RGBA")
    grey = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    if grey.width > dots:
        height = max(1, round(grey.height * dots / grey.width))
        grey = grey.resize((dots, height), Image.Resampling.LANCZOS)
    bits = grey.convert("1")  # Floyd-Steinberg: deterministic, and exact on a black-and-white logo
    offset = {"left": 0, "center": (dots - bits.width) // 2, "right": dots - bits.width}[align]
    if offset == 0:
        return bits
    placed = Image.new("1", (offset + bits.width, bits.height), 1)  # 1 is white: no dot
    placed.paste(bits, (offset, 0))
    return placed
