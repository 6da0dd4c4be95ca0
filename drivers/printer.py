"""Receipt printing: a neutral document model, ESC/POS rendering, and printer backends.

A receipt is built as a list of blocks, rendered once into ESC/POS bytes, and those bytes are what is
sent (and what golden tests compare). Transports only move bytes; what a printer can do is data in a
`PrinterProfile`, not branches in the code.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import textwrap
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from escpos.capabilities import CAPABILITIES, get_profile
from escpos.constants import (
    CD_KICK_2,
    CD_KICK_5,
    QR_ECLEVEL_M,
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.magicencode import Encoder
from escpos.printer import Dummy, File, Network, Serial, Usb
from PIL import Image

from drivers.errors import DeviceError
from drivers.settings import Settings
from drivers.text import fold_char

log = logging.getLogger(__name__)

Align = Literal["left", "center", "right"]
PaperState = Literal["ok", "near_end", "out", "unknown"]

# --------------------------------------------------------------------------------------------------------
# Document model


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

# --------------------------------------------------------------------------------------------------------
# Profiles


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

# --------------------------------------------------------------------------------------------------------
# Text folding and layout

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


def _wrap(text: str, width: int) -> list[str]:
    """Wrap folded text; no-break spaces (kept by _fold) hold amounts together, then print as spaces."""
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    return [line.replace(_NBSP, " ") for line in lines] or [""]


def _text_lines(block: Text, profile: PrinterProfile) -> list[str]:
    width = profile.columns // 2 if block.double else profile.columns
    paragraphs = block.text.split("\n")
    return [line for paragraph in paragraphs for line in _wrap(_fold(paragraph, profile, True), width)]


def _columns_line(block: Columns, profile: PrinterProfile) -> str:
    width = profile.columns
    right = fold(block.right, profile)[:width]
    room = width - len(right) - 1
    left = fold(block.left, profile)[: max(room, 0)] if room > 0 else ""
    return left.ljust(width - len(right)) + right


def _rule_line(block: Rule, profile: PrinterProfile) -> str:
    return fold(block.char, profile)[:1] * profile.columns


# --------------------------------------------------------------------------------------------------------
# Rendering


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
                for line in _text_lines(block, profile):
                    printer.textln(line)
            case Columns():
                pen.use(_Style("left", block.bold, False))
                printer.textln(_columns_line(block, profile))
            case Rule():
                pen.use(_Style())
                printer.textln(_rule_line(block, profile))
            case Barcode():
                pen.use(_Style("center"))
                _barcode(printer, block)
            case QRCode():
                pen.use(_Style("center"))
                printer.qr(block.data, ec=QR_ECLEVEL_M, size=block.size, native=True)
            case Feed():
                printer.ln(block.lines)
            case Logo():
                raster = _logo(block, profile)
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


def _logo(block: Logo, profile: PrinterProfile) -> bytes:
    """The logo's ESC/POS bytes, or b"" (and a warning in the log) when its file cannot be printed."""
    try:
        stat = os.stat(block.path)
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        return _logo_bytes(block.path, version, block.align, profile.dots, profile.escpos_profile)
    except Exception as exc:  # whatever is wrong with the logo file, the receipt must still print
        log.warning("logo %s left out of the receipt: %s: %s", block.path, type(exc).__name__, exc)
        return b""


@lru_cache(maxsize=8)
def _logo_bytes(
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


def preview(doc: Document, profile: PrinterProfile = DEFAULT_PROFILE) -> str:
    """A plain-text picture of the receipt, `profile.columns` wide, laid out like `render`."""
    width = profile.columns
    lines: list[str] = []

    def place(text: str, align: Align) -> None:
        for line in _wrap(text, width):
            padded = {"left": line.ljust, "center": line.center, "right": line.rjust}[align](width)
            lines.append(padded.rstrip())

    for block in doc:
        match block:
            case Text():
                for line in _text_lines(block, profile):
                    place(line, block.align)
            case Columns():
                lines.append(_columns_line(block, profile))
            case Rule():
                lines.append(_rule_line(block, profile))
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


def kick_bytes(pin: int = 2) -> bytes:
    """ESC p: pulse the cash drawer connector pin 2 or 5 of the printer."""
    kicks = {2: CD_KICK_2, 5: CD_KICK_5}
    if pin not in kicks:
        raise ValueError(f"drawer kick pin must be 2 or 5, not {pin!r}")
    return kicks[pin]


# --------------------------------------------------------------------------------------------------------
# Errors and status

OFFLINE_MESSAGE = "Imprimante hors ligne : vérifiez qu'elle est allumée et branchée, puis réessayez."
PAPER_OUT_MESSAGE = "Plus de papier : remplacez le rouleau, refermez le capot, puis réessayez."
_STATUS_MESSAGES: dict[PaperState, str] = {
    "ok": "Imprimante prête.",
    "near_end": "Rouleau presque fini : préparez un rouleau de rechange.",
    "out": PAPER_OUT_MESSAGE,
    "unknown": "Imprimante connectée ; elle n'indique pas l'état du papier.",
}


class PrinterError(DeviceError):
    """A printing failure, with a message for the cashier saying what to do."""


class PrinterOffline(PrinterError):
    def __init__(self, message: str = OFFLINE_MESSAGE):
        super().__init__(message)


class PaperOut(PrinterError):
    def __init__(self, message: str = PAPER_OUT_MESSAGE):
        super().__init__(message)


@dataclass
class PrinterStatus:
    online: bool
    paper: PaperState
    message: str


def _status(online: bool, paper: PaperState) -> PrinterStatus:
    return PrinterStatus(online, paper, _STATUS_MESSAGES[paper] if online else OFFLINE_MESSAGE)


class Printer(Protocol):
    profile: PrinterProfile

    def print_bytes(self, data: bytes) -> None: ...

    def status(self) -> PrinterStatus: ...

    def kick_drawer(self, pin: int = 2) -> None: ...


# --------------------------------------------------------------------------------------------------------
# Configuration

_REAL_BACKENDS = ("usb", "serial", "network", "file")
_BACKENDS = ("simulated", "auto", *_REAL_BACKENDS)
_KEYS = {"backend", "profile", "vendor_id", "product_id", "port", "baudrate", "host", "path"}
_OF = "de l'imprimante"  # in messages: « Configuration de l'imprimante : … »
_MISSING_MODULE_MESSAGES = {
    "usb": "Imprimante USB inutilisable : le module pyusb n'est pas installé. Faites installer pyusb, "
    "ou choisissez la connexion « file » avec /dev/usb/lp0.",
    "serial": "Imprimante série inutilisable : le module pyserial n'est pas installé. Faites-le installer.",
}  # Network and File need nothing beyond the standard library
USB_TIMEOUT_MS = 5000  # python-escpos defaults to 0, which libusb takes as "wait forever"
SERIAL_TIMEOUT_S = 0.5  # python-escpos reads 16 bytes, so every status query waits this long on serial
NETWORK_TIMEOUT_S = 5.0  # python-escpos defaults to 60 s, far too long for a queue at the till


def _usb_id(settings: Settings, key: str) -> int:
    value = settings.cfg.get(key)
    try:
        number = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value), 16)
    except ValueError:
        number = -1
    if not 0 <= number <= 0xFFFF:
        raise settings.bad(key, value, "un identifiant USB hexadécimal comme 0x04b8")
    return number


def _transport(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the keys of one real backend and return them normalised."""
    settings = Settings(_OF, cfg, None, ValueError)  # the other keys are open_printer's to check
    backend = cfg.get("backend")
    if backend == "usb":
        return {
            "backend": "usb",
            "vendor_id": _usb_id(settings, "vendor_id"),
            "product_id": _usb_id(settings, "product_id"),
        }
    if backend == "serial":
        return {
            "backend": "serial",
            "port": settings.text("port", "un port série comme /dev/ttyUSB0"),
            "baudrate": settings.integer("baudrate", 19200, 1, 921600),
        }
    if backend == "network":
        return {
            "backend": "network",
            "host": settings.text("host", "une adresse réseau comme 192.168.1.50"),
            "port": settings.integer("port", 9100, 1, 65535),
        }
    if backend == "file":
        return {"backend": "file", "path": settings.text("path", "un chemin comme /dev/usb/lp0")}
    raise settings.bad("backend", backend, ", ".join(_REAL_BACKENDS))


def _auto_backend(settings: Settings) -> str | None:
    """The real backend that the keys present describe, or None when no device is configured."""
    cfg = settings.cfg
    found = []
    if "vendor_id" in cfg or "product_id" in cfg:
        found.append("usb")
    if "host" in cfg:
        found.append("network")
    elif "port" in cfg:
        found.append("serial")
    if "path" in cfg:
        found.append("file")
    if len(found) > 1:
        raise settings.bad(
            "backend",
            "auto",
            f"un seul appareil, mais la configuration en décrit {len(found)} ({', '.join(found)})",
        )
    return found[0] if found else None


def _make_escpos(spec: Mapping[str, Any], profile: PrinterProfile) -> Escpos:
    backend = spec["backend"]
    kind: type[Escpos] = {"usb": Usb, "serial": Serial, "network": Network, "file": File}[backend]
    # Checked before construction: a Usb object built without pyusb raises again from its __del__.
    if not kind.is_usable():
        raise PrinterOffline(_MISSING_MODULE_MESSAGES[backend])
    if backend == "usb":
        return Usb(
            spec["vendor_id"], spec["product_id"], timeout=USB_TIMEOUT_MS, profile=profile.escpos_profile
        )
    if backend == "serial":
        return Serial(
            spec["port"], baudrate=spec["baudrate"], timeout=SERIAL_TIMEOUT_S, profile=profile.escpos_profile
        )
    if backend == "network":
        return Network(
            spec["host"], port=spec["port"], timeout=NETWORK_TIMEOUT_S, profile=profile.escpos_profile
        )
    return File(spec["path"], profile=profile.escpos_profile)


# --------------------------------------------------------------------------------------------------------
# Backends

# What a transport raises when the printer is unplugged, switched off or unreachable. pyusb and pyserial
# errors derive from OSError; python-escpos wraps failed opens in DeviceNotFoundError (an escpos Error).
_TRANSPORT_ERRORS = (EscposError, OSError, AssertionError)


class EscposPrinter:
    """A real printer reached through a python-escpos transport (USB, serial, network or device file).

    `device` is either a transport config dict (see `open_printer`) or a ready python-escpos printer
    object. The connection is opened on first use, dropped on any transport error and reopened on the
    next call, so a printer switched back on works again without restarting the till.
    """

    def __init__(self, device: Mapping[str, Any] | Escpos, profile: PrinterProfile = DEFAULT_PROFILE):
        self.profile = profile
        self._lock = threading.Lock()
        self._escpos: Escpos | None = device if isinstance(device, Escpos) else None
        self._spec = None if isinstance(device, Escpos) else _transport(device)

    def connect(self) -> None:
        """Open the connection now; raises PrinterOffline if the printer cannot be reached."""
        with self._lock:
            self._device()

    def print_bytes(self, data: bytes) -> None:
        with self._lock:
            # Only the paper is checked first (one round trip): an offline printer shows up as a
            # transport error, and a closed-again cover lets the printer finish the job by itself.
            if self._paper() == "out":
                raise PaperOut()
            self._send(data)

    def status(self) -> PrinterStatus:
        with self._lock:
            try:
                online_byte = self._query(RT_STATUS_ONLINE)
                paper = self._paper() if online_byte is not None else "unknown"
            except PrinterOffline as exc:
                return PrinterStatus(False, "unknown", exc.message)
        # python-escpos's is_online()/paper_status() read silence as "offline" and "paper ok"; a printer
        # that does not answer is reported as connected with an unknown paper state instead.
        if online_byte is None:
            return _status(True, "unknown")
        return _status(not online_byte & RT_MASK_ONLINE, paper)

    def kick_drawer(self, pin: int = 2) -> None:
        # No status check: the printer itself decides whether it can pulse the drawer.
        data = kick_bytes(pin)
        with self._lock:
            self._send(data)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _device(self) -> Escpos:
        if self._escpos is None:
            assert self._spec is not None
            self._escpos = _make_escpos(self._spec, self.profile)
        try:
            self._escpos.device  # noqa: B018 - python-escpos opens the connection on first access
        except _TRANSPORT_ERRORS as exc:
            self._drop()
            raise PrinterOffline() from exc
        return self._escpos

    def _send(self, data: bytes) -> None:
        device = self._device()
        try:
            device._raw(data)
        except _TRANSPORT_ERRORS as exc:
            self._drop()
            raise PrinterOffline() from exc

    def _query(self, request: bytes) -> int | None:
        """Send a real-time status request; the answer byte, or None if the printer does not answer."""
        device = self._device()
        if type(device)._read is Escpos._read:
            return None  # this transport cannot read (device file, dummy)
        self._send(request)
        try:
            answer = device._read()
        except (NotImplementedError, OSError):
            return None
        return answer[0] if len(answer) else None

    def _paper(self) -> PaperState:
        """DLE EOT 4, decoded with python-escpos's masks."""
        answer = self._query(RT_STATUS_PAPER)
        if answer is None:
            return "unknown"
        if answer & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
            return "out"
        if answer & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
            return "near_end"
        return "ok"

    def _drop(self) -> None:
        """Forget a broken connection so that the next call reopens it."""
        if self._escpos is None:
            return
        with contextlib.suppress(Exception):
            self._escpos.close()
        # python-escpos reopens on access only when the device is False; a failed open leaves it None.
        self._escpos.device = False


_JOB_NAME = re.compile(r"(\d{6})\.bin")


class SimulatedPrinter:
    """A printer that writes each job to `out_dir/NNNNNN.bin`, for demos, tests and tills without printer.

    `paper` and `online` can be changed to rehearse paper-out and offline handling; a refused job writes
    nothing. Drawer kicks are appended to `out_dir/drawer.log` and counted in `kicks`.
    """

    def __init__(self, out_dir: Path, profile: PrinterProfile = DEFAULT_PROFILE):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self.paper: Literal["ok", "near_end", "out"] = "ok"
        self.online = True
        self.jobs = 0
        self.kicks = 0
        self.last_bytes: bytes | None = None
        self.last_path: Path | None = None
        self._lock = threading.Lock()
        numbers = [int(m.group(1)) for p in self.out_dir.iterdir() if (m := _JOB_NAME.fullmatch(p.name))]
        self._next = max(numbers, default=0) + 1

    def print_bytes(self, data: bytes) -> None:
        with self._lock:
            if not self.online:
                raise PrinterOffline()
            if self.paper == "out":
                raise PaperOut()
            path = self.out_dir / f"{self._next:06d}.bin"
            partial = path.with_suffix(".part")
            partial.write_bytes(data)
            os.replace(partial, path)  # a job file is either complete or absent
            self._next += 1
            self.jobs += 1
            self.last_bytes = data
            self.last_path = path

    def status(self) -> PrinterStatus:
        if not self.online:
            return PrinterStatus(False, "unknown", OFFLINE_MESSAGE)
        return _status(True, self.paper)

    def kick_drawer(self, pin: int = 2) -> None:
        data = kick_bytes(pin)
        with self._lock:
            if not self.online:
                raise PrinterOffline()
            with open(self.out_dir / "drawer.log", "ab") as logfile:
                logfile.write(data)
            self.kicks += 1


def open_printer(cfg: Mapping[str, Any], data_dir: Path) -> Printer:
    """Build the printer described by `cfg` (the devices.printer section).

    backend "auto" uses the real device that the other keys describe (vendor_id/product_id: USB, host:
    network, port: serial, path: device file) and falls back to a SimulatedPrinter in
    `data_dir/printer` when none is configured or it cannot be reached. Raises ValueError naming the
    wrong key.
    """
    settings = Settings(_OF, cfg, _KEYS, ValueError)
    backend = settings.choice("backend", "auto", _BACKENDS)
    profile = PROFILES[settings.choice("profile", DEFAULT_PROFILE.name, PROFILES)]
    simulated_dir = Path(data_dir) / "printer"

    if backend == "simulated":
        return SimulatedPrinter(simulated_dir, profile)
    if backend != "auto":
        return EscposPrinter(_transport(cfg), profile)

    real = _auto_backend(settings)
    if real is None:
        return SimulatedPrinter(simulated_dir, profile)
    printer = EscposPrinter(_transport({**cfg, "backend": real}), profile)
    try:
        printer.connect()
    except PrinterOffline as exc:
        log.warning("%s printer unreachable (%s); printing to %s instead", real, exc.message, simulated_dir)
        return SimulatedPrinter(simulated_dir, profile)
    return printer
