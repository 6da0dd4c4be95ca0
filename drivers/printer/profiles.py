"""Printer profiles: what a printer model can do, as data rather than branches in the code."""

from __future__ import annotations

from dataclasses import dataclass

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


PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        PrinterProfile("epson-80mm", columns=42, escpos_profile="TM-T88V", dots=512),  # 180 dpi
        PrinterProfile("generic-80mm", columns=42, dots=576),
        PrinterProfile("generic-58mm", columns=32, dots=384),
    )
}
DEFAULT_PROFILE = PROFILES["generic-80mm"]
