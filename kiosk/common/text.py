"""Text comparisons as a French shop needs them."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Accents and case ignored: « Hélène » and « helene », « Crème » and « CREME » compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()
