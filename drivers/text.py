"""Text for devices with a small character set (receipt printer, customer display): what each device
cannot show is folded to its closest form, one column per character.

Each driver keeps its own idea of what it can show (the printer: its code page; the display: printable
ASCII) and its own encoding step; the folding table and the fallback are the same for both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# Characters a French till meets that NFKD does not take back to ASCII, with their closest ASCII form.
# Only used for a character the device cannot show as it is ("«" stays "«" on a CP858 printer).
FOLDS = {
    "\u200b": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2039": "<",
    "\u203a": ">",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2022": "*",
    "\u00b7": ".",
    "\u2026": "...",
    "\u00b0": "o",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u00df": "ss",
    "\u00f8": "o",
    "\u00d8": "O",
}


def fold_char(char: str, can_show: Callable[[str], bool]) -> str:
    """`char` when the device shows it (`can_show`), else its form in FOLDS, else its base letters with
    the accents dropped (NFKD: "é" → "e", "™" → "TM"), else "?"."""
    if can_show(char):
        return char
    if char in FOLDS:
        return FOLDS[char]
    base = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c) and can_show(c)
    )
    return base or "?"
