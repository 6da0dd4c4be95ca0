"""Customer display: a 2×20 VFD pole display driven with Epson's ESC/POS customer-display commands.

Epson DM-D110/DM-D210 and most "Epson mode" pole displays understand the few commands used here:

* ESC @ (1B 40): initialize; clears the screen, cursor home, default character tables;
* ESC t n (1B 74 n): select a character code table (profiles that show "€" as one byte);
* US $ x y (1F 24 x y): move the cursor to column x (1-20), row y (1-2);
* FF (0C): clear the screen.

The international character set (ESC R) is left at its power-on value, USA: the French set replaces
"@", "[", "\\", "]", "{", "|", "}" and "~" with accented letters, which would garble plain ASCII.

Text is folded to printable ASCII before it is sent, so any display shows it: accents are dropped
("Crème brûlée" → "Creme brulee", with unicodedata NFKD), "€" becomes "EUR", control characters become
spaces (catalogue text can never inject display commands). A profile whose code page has a euro sign
(`DisplayProfile.euro`) shows "€" as that one byte instead; accents are folded in every profile.

Each call writes a few dozen bytes and blocks until they are handed to the serial driver; callers run
it in a worker thread. Layout helpers (`item_lines`, `total_lines`...) build the texts the till shows.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import serial

from drivers.errors import DeviceError
from drivers.serialport import PORT_ERRORS, PortUser
from drivers.settings import Settings
from drivers.text import fold_char

log = logging.getLogger(__name__)

ROWS = 2
INIT = b"\x1b@"
CLEAR = b"\x0c"
UNREACHABLE_MESSAGE = "Afficheur client injoignable : vérifiez le câble. La vente continue sans afficheur."
_WRITE_TIMEOUT_S = 1  # a display that does not take 44 bytes in a second is not there


class DisplayError(DeviceError):
    """A customer display failure, with a message for the cashier saying what to do."""

    def __init__(self, message: str = UNREACHABLE_MESSAGE):
        super().__init__(message)


# --------------------------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class DisplayProfile:
    """What a display model can do: its width, the bytes that set it up after ESC @, and the byte that
    shows "€" in the code page `setup` selects (None: "€" is written "EUR")."""

    name: str
    columns: int = 20
    setup: bytes = b""
    euro: bytes | None = None

    def __post_init__(self) -> None:
        if not 8 <= self.columns <= 40:
            raise ValueError(f"display profile {self.name}: columns must be 8 to 40, not {self.columns}")
        if self.euro is not None and (len(self.euro) != 1 or self.euro[0] < 0x80):
            raise ValueError(
                f"display profile {self.name}: euro must be one byte from 0x80, not {self.euro!r}"
            )


PROFILES: dict[str, DisplayProfile] = {
    p.name: p
    for p in (
        # Any 2×20 display in Epson mode: plain ASCII, "€" written EUR.
        DisplayProfile("generic"),
        # Epson DM-D110/DM-D210: ESC t 19 selects PC858, where "€" is 0xD5.
        DisplayProfile("epson-pc858", setup=b"\x1bt\x13", euro=b"\xd5"),
    )
}
DEFAULT_PROFILE = PROFILES["generic"]

# --------------------------------------------------------------------------------------------------------
# Text folding and layout

EURO = "\u20ac"


def _printable_ascii(char: str) -> bool:
    return " " <= char <= "~"


def fold(text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> str:
    """`text` in characters the display shows, one column each: printable ASCII, plus "€" when the
    profile has a euro byte. Idempotent."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char == EURO:
            out.append(EURO if profile.euro is not None else "EUR")
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif unicodedata.category(char) == "Cf":
            continue
        else:
            out.append(fold_char(char, _printable_ascii))
    return "".join(out)


def fit(text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> str:
    """One display line: folded, then truncated or padded with spaces to exactly `profile.columns`."""
    return fold(text, profile)[: profile.columns].ljust(profile.columns)


def _right(text: str, profile: DisplayProfile) -> str:
    return fold(text, profile)[: profile.columns].rjust(profile.columns)


def _center(text: str, profile: DisplayProfile) -> str:
    return fold(text, profile)[: profile.columns].center(profile.columns)


def item_lines(label: str, amount_text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> tuple[str, str]:
    """An article just rung up: its label on top, its amount flush right below."""
    return fit(label, profile), _right(amount_text, profile)


def total_lines(total_text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> tuple[str, str]:
    """The amount to pay."""
    return fit("Total", profile), _right(total_text, profile)


def change_lines(change_text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> tuple[str, str]:
    """The change given back."""
    return fit("Rendu", profile), _right(change_text, profile)


def thanks_lines(shop_name: str, profile: DisplayProfile = DEFAULT_PROFILE) -> tuple[str, str]:
    """After the sale: thanks on top, the shop's name below, both centred."""
    return _center("Merci, à bientôt !", profile), _center(shop_name, profile)


def encode(text: str, profile: DisplayProfile = DEFAULT_PROFILE) -> bytes:
    """Folded text as the bytes the display shows."""
    folded = fold(text, profile)
    if profile.euro is None:
        return folded.encode("ascii")
    return b"".join(profile.euro if char == EURO else char.encode("ascii") for char in folded)


def cursor(column: int, row: int) -> bytes:
    """US $ x y: move the cursor, 1-based."""
    if not 1 <= column <= 40 or not 1 <= row <= ROWS:
        raise ValueError(f"cursor position must be column 1 to 40 and row 1 to {ROWS}, not {column}, {row}")
    return b"\x1f$" + bytes([column, row])


def show_bytes(line1: str, line2: str, profile: DisplayProfile = DEFAULT_PROFILE) -> bytes:
    """What `show` sends: each row rewritten whole from its first column, so nothing else is cleared
    (no flicker) and nothing of the previous text is left."""
    return (
        cursor(1, 1)
        + encode(fit(line1, profile), profile)
        + cursor(1, 2)
        + encode(fit(line2, profile), profile)
    )


def init_bytes(profile: DisplayProfile = DEFAULT_PROFILE) -> bytes:
    """What is sent once a port is opened: ESC @, then the profile's setup."""
    return INIT + profile.setup


# --------------------------------------------------------------------------------------------------------
# Backends


class CustomerDisplay(Protocol):
    def show(self, line1: str, line2: str) -> None:
        """Show two lines, folded and fitted to the display's width."""
        ...

    def clear(self) -> None: ...

    def close(self) -> None:
        """Release the port."""
        ...


class SerialLike(Protocol):
    """What SerialDisplay needs from a port: a pyserial `Serial`, or anything that takes bytes."""

    def write(self, data: bytes, /) -> int | None: ...


class SerialDisplay(PortUser[SerialLike]):
    """A display on a serial port (RS-232 or USB adapter), 8N1 at `baudrate`.

    `port` is a device path, opened here with pyserial (DisplayError if it cannot be), or an open
    serial-like object. After a failed write the connection is dropped and the next call reopens the
    path and initializes the display again (an unplugged USB adapter comes back on its own); an object
    given by the caller cannot be reopened.
    """

    def __init__(
        self, port: str | SerialLike, baudrate: int = 9600, profile: DisplayProfile = DEFAULT_PROFILE
    ):
        super().__init__(port)
        self.baudrate = baudrate
        self.profile = profile
        self._lock = threading.Lock()
        self._initialized = False
        with self._lock:
            self._ready()

    def show(self, line1: str, line2: str) -> None:
        self._send(show_bytes(line1, line2, self.profile))

    def clear(self) -> None:
        self._send(CLEAR)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _send(self, data: bytes) -> None:
        with self._lock:
            port = self._ready()
            try:
                port.write(data)
            except PORT_ERRORS as exc:
                log.warning("customer display %s: %s", self._path or "port", exc)
                self._drop()
                raise DisplayError() from exc

    def _ready(self) -> SerialLike:
        """The open, initialized port; DisplayError if it cannot be opened or initialized."""
        try:
            if self._port is None:
                assert self._path is not None  # a caller's port is kept, never dropped
                self._port = serial.Serial(
                    port=self._path, baudrate=self.baudrate, write_timeout=_WRITE_TIMEOUT_S, exclusive=True
                )
                self._initialized = False
            if not self._initialized:
                self._port.write(init_bytes(self.profile))
                self._initialized = True
        except PORT_ERRORS as exc:
            log.warning("customer display %s: %s", self._path or "port", exc)
            self._drop()
            raise DisplayError() from exc
        return self._port

    def _drop(self) -> None:
        """Forget a broken connection: the next call reopens the path (a caller's port is kept and
        initialized again)."""
        self._initialized = False
        self._drop_port()


class SimulatedDisplay:
    """A display that keeps what it shows: `lines` (for a panel in the UI) and every state in `history`,
    folded and fitted exactly as a real display with the same profile would show them."""

    def __init__(self, profile: DisplayProfile = DEFAULT_PROFILE):
        self.profile = profile
        self.lines: tuple[str, str] = (fit("", profile), fit("", profile))
        self.history: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        """The two lines, right-trimmed, one under the other."""
        return "\n".join(line.rstrip() for line in self.lines)

    def show(self, line1: str, line2: str) -> None:
        with self._lock:
            self.lines = (fit(line1, self.profile), fit(line2, self.profile))
            self.history.append(self.lines)

    def clear(self) -> None:
        self.show("", "")

    def close(self) -> None:
        pass


class NoDisplay:
    """No customer display: showing does nothing."""

    def show(self, line1: str, line2: str) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------------------
# Configuration

_BACKENDS = ("auto", "serial", "simulated", "none")
_KEYS = {"backend", "port", "baudrate", "profile"}
_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_PORT_EXPECTED = "un port série comme /dev/ttyUSB1"


def open_display(cfg: Mapping[str, Any]) -> CustomerDisplay:
    """Build the display described by `cfg` (the devices.display section).

    backend: "serial" opens `port` (DisplayError with the cashier's message if it cannot be opened);
    "auto" does the same when a port is configured but falls back to a SimulatedDisplay (with a
    warning in the log) when there is none or it cannot be opened: the sale goes on without display;
    "simulated"; "none". Raises DisplayError naming the wrong key.
    """
    settings = Settings("de l'afficheur client", cfg, _KEYS, DisplayError)
    backend = settings.choice("backend", "auto", _BACKENDS)
    profile = PROFILES[settings.choice("profile", DEFAULT_PROFILE.name, PROFILES)]
    baudrate = settings.choice(
        "baudrate", 9600, _BAUDRATES, "une vitesse parmi " + ", ".join(map(str, _BAUDRATES))
    )
    port = settings.optional_text("port", _PORT_EXPECTED)

    if backend == "none":
        return NoDisplay()
    if backend == "simulated":
        return SimulatedDisplay(profile)
    if backend == "serial":
        if port is None:
            raise settings.bad("port", port, _PORT_EXPECTED)
        return SerialDisplay(port, baudrate, profile)
    if port is None:
        return SimulatedDisplay(profile)
    try:
        return SerialDisplay(port, baudrate, profile)
    except DisplayError:
        log.warning("customer display %s unreachable; simulated display instead", port)
        return SimulatedDisplay(profile)
