"""Printer profiles: what a printer model can do, as data rather than branches in the code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from escpos.capabilities import CAPABILITIES, get_profile


@dataclass(frozen=True)
class PrinterProfile:
    """What a printer model can do: its width in characters, the single code page used for text, and its
    printable width in dots for images (576 on an 80 mm printer at 203 dpi, 384 on a 58 mm one)."""

    name: str
    columns: int
    codepage: str = "CP858"
    escpos_profile: str = "default"
    dots: int = 576

    def __post_init__(self) -> None:
        if self.columns < 16:
            raise ValueError(f"profile {self.name}: columns must be at least 16, not {self.columns}")
        if self.dots < 8:
            raise ValueError(f"profile {self.name}: dots must be at least 8, not {self.dots}")
        if self.escpos_profile not in CAPABILITIES["profiles"]:
            raise ValueError(f"profile {self.name}: unknown python-escpos profile {self.escpos_profile!r}")
        if self.codepage not in get_profile(self.escpos_profile).get_code_pages():
            raise ValueError(
                f"profile {self.name}: python-escpos profile {self.escpos_profile!r} "
                f"has no code page {self.codepage!r}"
            )
        pixels = get_profile(self.escpos_profile).profile_data.get("media", {}).get("width", {}).get("pixels")
        if isinstance(pixels, int) and self.dots > pixels:
            # python-escpos refuses (ImageWidthError) an image wider than the model's paper.
            raise ValueError(
                f"profile {self.name}: {self.dots} dots is wider than the {pixels} dots that "
                f"python-escpos profile {self.escpos_profile!r} prints"
            )


FONT_A_DOTS = 12  # Font A is 12 x 24 dots on ESC/POS thermal printers


def _receipt_model(name: str, data: dict[str, Any]) -> bool:
    """A receipt printer whose width in dots and Font A columns python-escpos knows, with CP858 text and
    Font A fitting its width (the capability database also lists customer displays and vague entries)."""
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    columns = data.get("fonts", {}).get("0", {}).get("columns")
    return (
        name not in ("default", "simple")
        and isinstance(pixels, int)
        and isinstance(columns, int)
        and pixels >= 384
        and 32 <= columns
        and columns * FONT_A_DOTS <= pixels
        and "CP858" in data.get("codePages", {}).values()
    )


def model_profile(name: str) -> PrinterProfile:
    """The profile of a printer model from python-escpos's capability database: Font A columns, printable
    width in dots, and the model's own command and code page table."""
    data = get_profile(name).profile_data
    return PrinterProfile(
        name,
        columns=data["fonts"]["0"]["columns"],
        escpos_profile=name,
        dots=data["media"]["width"]["pixels"],
    )


# Models by their python-escpos names ("TM-T20II": 48 columns on 576 dots at 203 dpi; "TM-T88V": 42 on
# 512 at 180 dpi; "POS-5890": 32 on 384, a 58 mm printer), chosen with devices.printer.model.
MODELS: dict[str, PrinterProfile] = {
    name: model_profile(name)
    for name, data in sorted(CAPABILITIES["profiles"].items())
    if _receipt_model(name, data)
}
# The profile names of earlier configurations, still accepted (by `model` and by the old `profile` key).
LEGACY_PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        # What it always stood for: the TM-T88V (42 columns of Font A on 512 dots, 180 dpi).
        PrinterProfile(
            "epson-80mm",
            columns=MODELS["TM-T88V"].columns,
            escpos_profile="TM-T88V",
            dots=MODELS["TM-T88V"].dots,
        ),
        # Any 80 mm printer: 42 columns fit both 512-dot and 576-dot heads.
        PrinterProfile("generic-80mm", columns=42, dots=576),
        PrinterProfile("generic-58mm", columns=32, dots=384),
    )
}
PROFILES: dict[str, PrinterProfile] = {**MODELS, **LEGACY_PROFILES}
DEFAULT_PROFILE = PROFILES["generic-80mm"]
