"""Keyboard layouts as data: which character an evdev key code gives with Shift, Caps Lock and AltGr.

A keyboard-wedge barcode scanner does not send characters, it presses keys as if it were a keyboard of
the layout it was configured for. Reading it through evdev (grabbed, so the desktop never sees it) means
doing the layout translation ourselves, and the translation must be the one the scanner assumed.

Caps Lock: scanner firmware targets the Windows layouts, where Caps Lock on a French AZERTY keyboard
acts as Shift on the digit row (Caps Lock then "é" gives "2"), not the Linux xkb rule (Caps Lock then
"é" gives "É"). A scanner never means "É" in a code, so "fr" follows Windows: Caps Lock inverts Shift
for the letters and for the digit row, and for nothing else.

Dead keys (the AZERTY ^ and ¨ keys, AltGr+é ~ and AltGr+è `) give a combining mark: the decoder joins it
with the next character ("^" then "e" is "ê") or, before a space, gives the plain accent ("^").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from evdev import ecodes as e


class Stroke(NamedTuple):
    """One key press with the modifier state it was made in."""

    code: int
    shift: bool = False
    altgr: bool = False
    caps: bool = False


@dataclass(frozen=True)
class Key:
    plain: str | None
    shift: str | None = None
    altgr: str | None = None
    caps: bool = False  # Caps Lock acts as Shift on this key


@dataclass(frozen=True)
class Keymap:
    name: str
    label: str  # how the cashier's technician knows the layout: "AZERTY (France)"
    keys: Mapping[int, Key]

    def char(self, stroke: Stroke) -> str | None:
        """The character a stroke gives (a combining mark for a dead key), None for no character."""
        key = self.keys.get(stroke.code)
        if key is None:
            return None
        if stroke.altgr:
            return None if stroke.shift else key.altgr
        shifted = stroke.shift != (stroke.caps and key.caps)
        return key.shift if shifted else key.plain

    def strokes(self, text: str) -> list[Stroke]:
        """The key presses that type `text` on this layout, as a scanner configured for it would send."""
        return [stroke for char in text for stroke in self._strokes_for(char)]

    def _strokes_for(self, char: str) -> list[Stroke]:
        typing = self._typing
        if char in typing:
            return [typing[char]]
        for mark, accent in SPACING_ACCENTS.items():
            if mark not in typing:
                continue
            if char == accent and " " in typing:
                return [typing[mark], typing[" "]]
            decomposed = unicodedata.normalize("NFD", char)
            if decomposed[1:] == mark and decomposed[0] in typing:
                return [typing[mark], typing[decomposed[0]]]
        raise ValueError(f"{char!r} cannot be typed on the {self.name} layout")

    @cached_property
    def _typing(self) -> dict[str, Stroke]:
        """Character → the simplest stroke giving it: no modifier, then Shift, then AltGr; keypad last."""
        typing: dict[str, Stroke] = {}
        main = [(code, key) for code, key in self.keys.items() if code not in KEYPAD]
        for code, key in main + list(KEYPAD.items()):
            for char, stroke in (
                (key.plain, Stroke(code)),
                (key.shift, Stroke(code, shift=True)),
                (key.altgr, Stroke(code, altgr=True)),
            ):
                if char is not None:
                    typing.setdefault(char, stroke)
        return typing


DIGIT_ROW = (e.KEY_1, e.KEY_2, e.KEY_3, e.KEY_4, e.KEY_5, e.KEY_6, e.KEY_7, e.KEY_8, e.KEY_9, e.KEY_0)

# Combining mark given by a dead key → the accent alone (dead key then Space).
SPACING_ACCENTS = {"\u0302": "^", "\u0308": "¨", "\u0303": "~", "\u0300": "`"}


def compose(mark: str, char: str) -> str:
    """A dead key's mark followed by `char`: "ê" when Unicode has it, else the accent then the char."""
    if char == " ":
        return SPACING_ACCENTS[mark]
    composed = unicodedata.normalize("NFC", char + mark)
    return composed if len(composed) == 1 else SPACING_ACCENTS[mark] + char


KEYPAD: Mapping[int, Key] = {
    **{
        getattr(e, f"KEY_KP{digit}"): Key(str(digit), str(digit))  # Num Lock assumed on, as scanners do
        for digit in range(10)
    },
    e.KEY_KPASTERISK: Key("*", "*"),
    e.KEY_KPMINUS: Key("-", "-"),
    e.KEY_KPPLUS: Key("+", "+"),
    e.KEY_KPSLASH: Key("/", "/"),
    e.KEY_KPDOT: Key(".", "."),
}

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _letters(moved: Mapping[str, int]) -> dict[int, Key]:
    """Letter keys: each letter on its own key code unless `moved`; Caps Lock gives capitals."""
    return {
        moved.get(letter, getattr(e, f"KEY_{letter.upper()}")): Key(letter, letter.upper(), caps=True)
        for letter in _LETTERS
    }


US = Keymap(
    "us",
    "QWERTY (US)",
    {
        e.KEY_GRAVE: Key("`", "~"),
        e.KEY_1: Key("1", "!"),
        e.KEY_2: Key("2", "@"),
        e.KEY_3: Key("3", "#"),
        e.KEY_4: Key("4", "$"),
        e.KEY_5: Key("5", "%"),
        e.KEY_6: Key("6", "^"),
        e.KEY_7: Key("7", "&"),
        e.KEY_8: Key("8", "*"),
        e.KEY_9: Key("9", "("),
        e.KEY_0: Key("0", ")"),
        e.KEY_MINUS: Key("-", "_"),
        e.KEY_EQUAL: Key("=", "+"),
        **_letters({}),
        e.KEY_LEFTBRACE: Key("[", "{"),
        e.KEY_RIGHTBRACE: Key("]", "}"),
        e.KEY_BACKSLASH: Key("\\", "|"),
        e.KEY_SEMICOLON: Key(";", ":"),
        e.KEY_APOSTROPHE: Key("'", '"'),
        e.KEY_COMMA: Key(",", "<"),
        e.KEY_DOT: Key(".", ">"),
        e.KEY_SLASH: Key("/", "?"),
        e.KEY_SPACE: Key(" ", " "),
        **KEYPAD,
    },
)

FR = Keymap(
    "fr",
    "AZERTY (France)",
    {
        e.KEY_GRAVE: Key("²"),
        e.KEY_1: Key("&", "1", caps=True),
        e.KEY_2: Key("é", "2", "\u0303", caps=True),
        e.KEY_3: Key('"', "3", "#", caps=True),
        e.KEY_4: Key("'", "4", "{", caps=True),
        e.KEY_5: Key("(", "5", "[", caps=True),
        e.KEY_6: Key("-", "6", "|", caps=True),
        e.KEY_7: Key("è", "7", "\u0300", caps=True),
        e.KEY_8: Key("_", "8", "\\", caps=True),
        e.KEY_9: Key("ç", "9", "^", caps=True),
        e.KEY_0: Key("à", "0", "@", caps=True),
        e.KEY_MINUS: Key(")", "°", "]"),
        e.KEY_EQUAL: Key("=", "+", "}"),
        **_letters({"a": e.KEY_Q, "q": e.KEY_A, "z": e.KEY_W, "w": e.KEY_Z, "m": e.KEY_SEMICOLON}),
        e.KEY_E: Key("e", "E", "€", caps=True),
        e.KEY_LEFTBRACE: Key("\u0302", "\u0308"),
        e.KEY_RIGHTBRACE: Key("$", "£", "¤"),
        e.KEY_APOSTROPHE: Key("ù", "%"),
        e.KEY_BACKSLASH: Key("*", "µ"),
        e.KEY_102ND: Key("<", ">"),
        e.KEY_M: Key(",", "?"),
        e.KEY_COMMA: Key(";", "."),
        e.KEY_DOT: Key(":", "/"),
        e.KEY_SLASH: Key("!", "§"),
        e.KEY_SPACE: Key(" ", " "),
        **KEYPAD,
    },
)

KEYMAPS: Mapping[str, Keymap] = {keymap.name: keymap for keymap in (FR, US)}


def get_keymap(layout: str | Keymap) -> Keymap:
    if isinstance(layout, Keymap):
        return layout
    try:
        return KEYMAPS[layout]
    except KeyError:
        raise ValueError(
            f"Disposition de clavier inconnue {layout!r} : choisissez parmi {', '.join(KEYMAPS)}."
        ) from None
