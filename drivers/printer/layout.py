"""Text folding and line layout: receipt text reduced to the profile's code page and cut to its width."""

from __future__ import annotations

import textwrap
import unicodedata
from functools import lru_cache

from escpos.capabilities import get_profile
from escpos.magicencode import Encoder

from drivers.printer.document import Columns, Rule, Text
from drivers.printer.profiles import DEFAULT_PROFILE, PrinterProfile
from drivers.text import fold_char

# Babel formats French amounts with these; they print as spaces but must not be line breaks.
_NO_BREAK_SPACES = frozenset("\u00a0\u202f\u2007\u2060")
_NBSP = "\u00a0"


@lru_cache(maxsize=8)
def _encoder(escpos_profile: str) -> Encoder:
    return Encoder(get_profile(escpos_profile).get_code_pages())


def _fold(text: str, profile: PrinterProfile, keep_nbsp: bool) -> str:
    encoder = _encoder(profile.escpos_profile)

    def printable(char: str) -> bool:
        return encoder.can_encode(profile.codepage, char)

    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _NO_BREAK_SPACES:
            out.append(_NBSP if keep_nbsp else " ")
        elif unicodedata.category(char) == "Cc":
            out.append(" ")
        else:
            out.append(fold_char(char, printable))
    return "".join(out)


def fold(text: str, profile: PrinterProfile = DEFAULT_PROFILE) -> str:
    """Return `text` using only characters of the profile's code page, one printed column each.

    Control characters become spaces so that text from the catalogue can never inject printer commands.
    """
    return _fold(text, profile, keep_nbsp=False)


def wrap(text: str, width: int) -> list[str]:
    """Wrap folded text; no-break spaces (kept by _fold) hold amounts together, then print as spaces."""
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    return [line.replace(_NBSP, " ") for line in lines] or [""]


def text_lines(block: Text, profile: PrinterProfile) -> list[str]:
    width = profile.columns // 2 if block.double else profile.columns
    paragraphs = block.text.split("\n")
    return [line for paragraph in paragraphs for line in wrap(_fold(paragraph, profile, True), width)]


def columns_line(block: Columns, profile: PrinterProfile) -> str:
    width = profile.columns
    right = fold(block.right, profile)[:width]
    room = width - len(right) - 1
    left = fold(block.left, profile)[: max(room, 0)] if room > 0 else ""
    return left.ljust(width - len(right)) + right


def rule_line(block: Rule, profile: PrinterProfile) -> str:
    return fold(block.char, profile)[:1] * profile.columns
