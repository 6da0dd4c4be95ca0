"""Barcode scanners in keyboard-wedge (HID keyboard) mode, read through evdev.

Each scanner is grabbed, so its keystrokes never reach the focused widget, and read by one plain thread
looping over a selector with a timeout and a stop event. Key events go through a `ScanDecoder` per
scanner (the layout translation and the modifier state are per device); complete codes, and problems the
cashier can fix, are handed to an `on_scan(ScanResult)` callback, called from the reader thread.

The simulated scanner is the same reader on a pipe: its codes are typed as evdev events in a layout and
go through the same thread and decoder, so the demo and the tests exercise the real path.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import re
import selectors
import struct
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evdev import InputDevice, InputEvent
from evdev import ecodes as e

from drivers.errors import DeviceError
from drivers.keymaps import DIGIT_ROW, KEYMAPS, SPACING_ACCENTS, Keymap, Stroke, compose, get_keymap
from drivers.settings import Settings

log = logging.getLogger(__name__)

TERMINATORS = ("enter", "tab")
MAX_CODE_LENGTH = 128  # longer than any barcode: the scanner sends no terminator we listen to
DEFAULT_TERMINATORS = frozenset({"enter"})

_TERMINATOR_KEYS = {e.KEY_ENTER: "enter", e.KEY_KPENTER: "enter", e.KEY_TAB: "tab"}
_SHIFTS = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
_CTRLS = frozenset({e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL})
_MODIFIERS = _SHIFTS | _CTRLS | {e.KEY_LEFTALT, e.KEY_RIGHTALT, e.KEY_LEFTMETA, e.KEY_RIGHTMETA}


class ScanError(DeviceError):
    """A scan that gave no code, with a message for the cashier saying what to do (French)."""


class WrongLayout(ScanError):
    """The scanner types for another keyboard layout than the one configured: digits came out as symbols."""

    def __init__(self, configured: Keymap, scanner: Keymap):
        super().__init__(
            f"Le lecteur de codes-barres semble configuré en clavier {scanner.label} alors que la caisse "
            f"attend {configured.label} : réglez le lecteur en clavier {configured.label} en scannant le code "
            f"de réglage de son manuel, ou mettez la clé devices.scanner.layout à « {scanner.name} » ; "
            "puis scannez de nouveau."
        )
        self.configured = configured.name
        self.scanner = scanner.name


class DeviceLost(ScanError):
    """A scanner was unplugged; the reader looks for it again every few seconds."""

    def __init__(self, device: str):
        super().__init__(
            f"Lecteur de codes-barres « {device} » débranché : rebranchez-le. "
            "En attendant, tapez les codes au clavier."
        )


@dataclass(frozen=True)
class ScanResult:
    """What one scan gave: a code, or an error the cashier must see (never both)."""

    device: str
    code: str | None = None
    error: ScanError | None = None

    def __post_init__(self) -> None:
        if (self.code is None) == (self.error is None):
            raise ValueError("a ScanResult holds either a code or an error")


OnScan = Callable[[ScanResult], None]


def _terminators(terminators: Collection[str], timeout_ms: int | None) -> frozenset[str]:
    if isinstance(terminators, str):
        raise ValueError(f"terminators is a set of names, not the string {terminators!r}")
    chosen = frozenset(terminators)
    unknown = chosen - set(TERMINATORS)
    if unknown:
        raise ValueError(f"unknown terminator {sorted(unknown)[0]!r}: choose among {', '.join(TERMINATORS)}")
    if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int)):
        raise ValueError(f"timeout_ms must be a whole number of milliseconds, not {timeout_ms!r}")
    if timeout_ms is not None and timeout_ms <= 0:
        raise ValueError(f"timeout_ms must be positive, not {timeout_ms!r}")
    if not chosen and timeout_ms is None:
        raise ValueError("with no terminator key, codes can only end on a timeout: set timeout_ms")
    return chosen


class ScanDecoder:
    """Turns one scanner's key events into codes.

    Characters are made on key down (repeats are ignored: a scanner never holds a key on purpose), with
    the Shift, Caps Lock and AltGr state of this device; AltGr is Right Alt or Ctrl+Left Alt, as scanners
    emulate it both ways; keys pressed with Ctrl alone give nothing. A code ends on a terminator key, or
    after `timeout_ms` without a key (event times: the kernel's clock, not the reader's wake-ups).
    """

    def __init__(
        self,
        layout: str | Keymap = "fr",
        terminators: Collection[str] = DEFAULT_TERMINATORS,
        timeout_ms: int | None = None,
        device: str = "",
    ):
        self.keymap = get_keymap(layout)
        self.terminators = _terminators(terminators, timeout_ms)
        self.timeout_us = None if timeout_ms is None else timeout_ms * 1000
        self.device = device
        self._held: set[int] = set()
        self._caps = False
        self.reset()

    def reset(self) -> None:
        """Forget the code being read (the modifier state stays: keys held are still held)."""
        self._chars: list[str] = []
        self._strokes: list[Stroke] = []
        self._dead: str | None = None
        self._dropped = False
        self._last_us = 0

    @property
    def pending(self) -> str:
        return "".join(self._chars)

    def feed(self, event: InputEvent) -> ScanResult | None:
        """Take one event; returns a result when it completes a code (or ends one by timeout)."""
        if event.type == e.EV_SYN and event.code == e.SYN_DROPPED:
            # The kernel's buffer overflowed: keys are missing from this code, which must not be used.
            self._held.clear()
            self._dropped = True
            return None
        if event.type != e.EV_KEY:
            return None
        now_us = event.sec * 1_000_000 + event.usec
        result = self.expire_us(now_us) if event.value == 1 else None
        self._last_us = now_us
        code = event.code
        if code in _MODIFIERS:
            if event.value == 1:
                self._held.add(code)
            elif event.value == 0:
                self._held.discard(code)
            return result
        if event.value != 1:
            return result
        if code == e.KEY_CAPSLOCK:
            self._caps = not self._caps
            return result
        terminator = _TERMINATOR_KEYS.get(code)
        if terminator is not None:
            if terminator in self.terminators:
                ended = self._finish()
                assert result is None or ended is None  # a timeout left nothing to end
                return result or ended
            return result
        self._press(code)
        if len(self._chars) > MAX_CODE_LENGTH:
            self.reset()
            return self._error(
                ScanError(
                    "Code-barres sans fin : réglez le lecteur pour qu'il envoie Entrée après chaque code "
                    "(ou la clé devices.scanner.terminator), puis scannez de nouveau."
                )
            )
        return result

    def expire(self, now: float) -> ScanResult | None:
        """End the code being read if the inter-key timeout has passed at `now` (time.time() seconds)."""
        return self.expire_us(int(now * 1_000_000))

    def expire_us(self, now_us: int) -> ScanResult | None:
        if self.timeout_us is None or not (self._chars or self._dead):
            return None
        if now_us - self._last_us <= self.timeout_us:
            return None
        return self._finish()

    def _press(self, code: int) -> None:
        held = self._held
        ctrl = bool(held & _CTRLS)
        altgr = e.KEY_RIGHTALT in held or (ctrl and e.KEY_LEFTALT in held)
        if (ctrl or e.KEY_LEFTALT in held) and not altgr:
            return
        stroke = Stroke(code, shift=bool(held & _SHIFTS), altgr=altgr, caps=self._caps)
        char = self.keymap.char(stroke)
        if char is None:
            return
        self._strokes.append(stroke)
        if char in SPACING_ACCENTS:
            if self._dead is not None:
                self._chars.append(SPACING_ACCENTS[self._dead])
            self._dead = char
            return
        if self._dead is not None:
            char = compose(self._dead, char)
            self._dead = None
        self._chars.append(char)

    def _finish(self) -> ScanResult | None:
        if self._dead is not None:
            self._chars.append(SPACING_ACCENTS[self._dead])
        code, strokes, dropped = "".join(self._chars), self._strokes, self._dropped
        self.reset()
        if dropped:
            return self._error(ScanError("Code-barres mal lu (touches perdues) : scannez de nouveau."))
        if not code:
            return None
        scanner = self._layout_of(code, strokes)
        if scanner is not None:
            return self._error(WrongLayout(self.keymap, scanner))
        return ScanResult(self.device, code=code)

    def _layout_of(self, code: str, strokes: list[Stroke]) -> Keymap | None:
        """The layout the scanner really types in, when this code is digits read through the wrong one.

        Such a code has no digit at all, at least half of its keys on the digit row (so "ART-X" with
        its AZERTY "-" is left alone), and another layout reads all those keys as digits.
        """
        if any(char.isdigit() for char in code):
            return None
        row = [stroke for stroke in strokes if stroke.code in DIGIT_ROW and not stroke.altgr]
        if not row or 2 * len(row) < len(strokes):
            return None
        for keymap in KEYMAPS.values():
            if keymap is not self.keymap and all((keymap.char(s) or "").isdigit() for s in row):
                return keymap
        return None

    def _error(self, error: ScanError) -> ScanResult:
        return ScanResult(self.device, error=error)


def scan_events(
    code: str,
    layout: str | Keymap = "fr",
    terminator: str | None = "enter",
    start: float | None = None,
    gap_ms: int = 1,
) -> list[InputEvent]:
    """The evdev events a scanner configured for `layout` sends for `code`, as the kernel reports them.

    Shift or AltGr (Right Alt) is pressed around each key that needs it; every key event is followed by
    a SYN_REPORT. Events are `gap_ms` apart from `start` (default: now).
    """
    keymap = get_keymap(layout)
    strokes = keymap.strokes(code)
    if terminator is not None:
        keys = {name: key for key, name in _TERMINATOR_KEYS.items() if key != e.KEY_KPENTER}
        if terminator not in keys:
            raise ValueError(f"unknown terminator {terminator!r}: choose among {', '.join(TERMINATORS)}")
        strokes.append(Stroke(keys[terminator]))
    clock_us = int((time.time() if start is None else start) * 1_000_000)
    events: list[InputEvent] = []

    def key(key_code: int, value: int) -> None:
        nonlocal clock_us
        sec, usec = divmod(clock_us, 1_000_000)
        events.append(InputEvent(sec, usec, e.EV_KEY, key_code, value))
        events.append(InputEvent(sec, usec, e.EV_SYN, e.SYN_REPORT, 0))
        clock_us += gap_ms * 1000

    for stroke in strokes:
        modifiers = [e.KEY_LEFTSHIFT] * stroke.shift + [e.KEY_RIGHTALT] * stroke.altgr
        for modifier in modifiers:
            key(modifier, 1)
        key(stroke.code, 1)
        key(stroke.code, 0)
        for modifier in reversed(modifiers):
            key(modifier, 0)
    return events


# --------------------------------------------------------------------------------------------------------
# Devices


class InputLike(Protocol):
    """What the reader needs of a device: evdev's InputDevice, a PipeDevice, or a test's fake."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str | bytes: ...

    def fileno(self) -> int: ...

    def read(self) -> Iterable[InputEvent]:
        """The events ready now; BlockingIOError when there are none, OSError when the device is gone."""
        ...

    def grab(self) -> None: ...

    def close(self) -> None: ...


_EVENT = struct.Struct("qqHHi")  # the fields of a struct input_event


class PipeDevice:
    """An input device made of a pipe: `write()` events at one end, the reader reads them at the other.

    Closing the writing end (`unplug()`) reads as an unplugged device.
    """

    def __init__(self, name: str = "Lecteur simulé", path: str = "simulated"):
        self.name = name
        self.path = path
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._partial = b""
        self.closed = False

    def fileno(self) -> int:
        return self._read_fd

    def read(self) -> Iterator[InputEvent]:
        data = self._partial + os.read(self._read_fd, 64 * _EVENT.size)
        if not data:
            raise OSError(errno.ENODEV, "simulated device unplugged")
        whole = len(data) - len(data) % _EVENT.size
        self._partial = data[whole:]
        return (InputEvent(*fields) for fields in _EVENT.iter_unpack(data[:whole]))

    def write(self, events: Iterable[InputEvent]) -> None:
        os.write(
            self._write_fd,
            b"".join(_EVENT.pack(ev.sec, ev.usec, ev.type, ev.code, ev.value) for ev in events),
        )

    def grab(self) -> None:
        pass

    def unplug(self) -> None:
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1

    def close(self) -> None:
        if not self.closed:
            self.unplug()
            os.close(self._read_fd)
            self.closed = True


# USB vendors that make scanners and nothing a till would also plug in as a keyboard: Honeywell
# (Metrologic), Hand Held Products, Zebra (Symbol), Datalogic, Newland.
SCANNER_VENDORS = frozenset({"0c2e", "0536", "05e0", "05f9", "1eab"})
_SCANNER_WORDS = ("barcode", "bar code", "scanner")
_USB_ID = re.compile(r"[0-9a-f]{4}:[0-9a-f]{4}")


@dataclass(frozen=True)
class DeviceId:
    path: str
    name: str
    vendor: str
    product: str

    def matches(self, spec: str) -> bool:
        """A spec is a path (/dev/input/by-id/… links are followed), a vendor:product, or part of the name."""
        if spec.startswith("/"):
            return os.path.realpath(spec) == os.path.realpath(self.path)
        if _USB_ID.fullmatch(spec.lower()):
            return spec.lower() == f"{self.vendor}:{self.product}"
        return spec.casefold() in self.name.casefold()

    def looks_like_scanner(self) -> bool:
        name = self.name.casefold()
        return self.vendor in SCANNER_VENDORS or any(word in name for word in _SCANNER_WORDS)


class DeviceFinder:
    """Finds the configured scanners among /dev/input/event*.

    Names and USB ids come from sysfs, so nothing is opened but a match (opening a keyboard can make it
    re-assert its LEDs). With no specs, only devices that look like scanners (name or vendor) are taken:
    grabbing the till's own keyboard would leave the cashier unable to type.
    """

    def __init__(
        self,
        specs: Sequence[str] = (),
        input_dir: str = "/dev/input",
        sysfs_dir: str = "/sys/class/input",
        opener: Callable[[str], Any] = InputDevice,
    ):
        self.specs = tuple(specs)
        self.input_dir = input_dir
        self.sysfs_dir = sysfs_dir
        self.opener = opener
        self._warned: set[str] = set()

    def identify(self) -> list[DeviceId]:
        ids = []
        for path in sorted(glob.glob(os.path.join(self.input_dir, "event*"))):
            device = Path(self.sysfs_dir, os.path.basename(path), "device")
            try:
                name = (device / "name").read_text().strip()
                vendor = (device / "id" / "vendor").read_text().strip().lower()
                product = (device / "id" / "product").read_text().strip().lower()
            except OSError:
                continue
            ids.append(DeviceId(path, name, vendor, product))
        return ids

    def wanted(self, device: DeviceId) -> bool:
        if self.specs:
            return any(device.matches(spec) for spec in self.specs)
        return device.looks_like_scanner()

    def __call__(self, skip: Collection[str] = ()) -> list[InputLike]:
        """Open the wanted devices that are not in `skip` (paths) and can type a code."""
        found: list[InputLike] = []
        for device_id in self.identify():
            if device_id.path in skip or not self.wanted(device_id):
                continue
            try:
                device = self.opener(device_id.path)
            except OSError as exc:
                if device_id.path not in self._warned:
                    self._warned.add(device_id.path)
                    log.warning(
                        "cannot open scanner %s (%s): %s; is the till user in the 'input' group?",
                        device_id.path,
                        device_id.name,
                        exc,
                    )
                continue
            try:
                keys = set(device.capabilities().get(e.EV_KEY, ()))
            except OSError:  # unplugged while we looked
                keys = set()
            if keys & set(_TERMINATOR_KEYS) and keys & {e.KEY_1, e.KEY_KP1}:
                found.append(device)
            else:
                device.close()  # another interface of the same USB device (consumer keys, mouse…)
        return found


# --------------------------------------------------------------------------------------------------------
# Readers


class Scanner(Protocol):
    """What the till holds: scans arrive through the `on_scan` callback given when it was opened."""

    def connected(self) -> list[str]:
        """Names of the scanners plugged in now."""
        ...

    def close(self) -> None: ...


Finder = Callable[[Collection[str]], Iterable[InputLike]]


@dataclass
class _Open:
    device: InputLike
    path: str
    decoder: ScanDecoder = field(repr=False)


class ScannerReader:
    """Reads every scanner found by `finder` in one background thread; `on_scan` is called from it.

    The thread loops over a selector with a short timeout (toolong's selector watcher), so that it also
    ends codes on the inter-key timeout, notices `close()`, and looks for devices every `rescan_s`
    seconds: a scanner plugged in late, or again after it was unplugged, is taken up without a restart.
    """

    def __init__(
        self,
        on_scan: OnScan,
        devices: Sequence[str] = (),
        layout: str | Keymap = "fr",
        terminators: Collection[str] = DEFAULT_TERMINATORS,
        timeout_ms: int | None = None,
        *,
        finder: Finder | None = None,
        rescan_s: float = 2.0,
    ):
        ScanDecoder(layout, terminators, timeout_ms)  # fail now, not in the thread
        self.on_scan = on_scan
        self.layout = get_keymap(layout)
        self.terminators = frozenset(terminators)
        self.timeout_ms = timeout_ms
        self.rescan_s = rescan_s
        self._finder: Finder = finder if finder is not None else DeviceFinder(devices)
        self._poll_s = 0.1 if timeout_ms is None else min(0.1, timeout_ms / 2000)
        self._selector = selectors.DefaultSelector()
        self._open: dict[str, _Open] = {}
        self._names: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._grab_refused: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="scanner-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def connected(self) -> list[str]:
        with self._lock:
            return list(self._names)

    def close(self) -> None:
        """Stop the thread and release (ungrab) every scanner."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        elif not self._thread.is_alive():
            self._release_all()

    def _run(self) -> None:
        next_rescan = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_rescan:
                    self._discover()
                    next_rescan = time.monotonic() + self.rescan_s
                for key, _mask in self._selector.select(timeout=self._poll_s):
                    if self._stop.is_set():
                        break
                    self._read(key.data)
                now = time.time()
                for state in list(self._open.values()):
                    self._deliver(state.decoder.expire(now))
        finally:
            self._release_all()

    def _discover(self) -> None:
        try:
            found = list(self._finder(set(self._open)))
        except Exception:
            log.exception("looking for scanners failed")
            return
        for device in found:
            path = os.fsdecode(device.path)
            if path in self._open:
                device.close()
                continue
            try:
                device.grab()
            except OSError as exc:
                if path not in self._grab_refused:
                    self._grab_refused.add(path)
                    log.warning("scanner %s (%s) is grabbed by another program: %s", device.name, path, exc)
                device.close()
                continue
            self._grab_refused.discard(path)
            decoder = ScanDecoder(self.layout, self.terminators, self.timeout_ms, device=device.name)
            state = _Open(device, path, decoder)
            self._selector.register(device.fileno(), selectors.EVENT_READ, state)
            self._open[path] = state
            log.info("scanner %s connected (%s)", device.name, path)
        self._publish()

    def _read(self, state: _Open) -> None:
        try:
            events = list(state.device.read())
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("scanner %s (%s) lost: %s; looking for it again", state.device.name, state.path, exc)
            self._release(state)
            self._publish()
            self._deliver(ScanResult(state.device.name, error=DeviceLost(state.device.name)))
            return
        for event in events:
            self._deliver(state.decoder.feed(event))

    def _deliver(self, result: ScanResult | None) -> None:
        if result is None:
            return
        try:
            self.on_scan(result)
        except Exception:
            log.exception("on_scan failed for %r", result)

    def _release(self, state: _Open) -> None:
        self._open.pop(state.path, None)
        try:
            self._selector.unregister(state.device.fileno())
        except (KeyError, ValueError, OSError):
            pass  # already gone with its file descriptor
        try:
            state.device.close()
        except OSError:
            pass

    def _release_all(self) -> None:
        for state in list(self._open.values()):
            self._release(state)
        self._selector.close()
        self._publish()

    def _publish(self) -> None:
        with self._lock:
            self._names = [state.device.name for state in self._open.values()]


class SimulatedScanner(ScannerReader):
    """A scanner on a pipe for the demo and the tests: `scan(code)` types the code as the scanner would."""

    def __init__(
        self,
        on_scan: OnScan,
        layout: str | Keymap = "fr",
        terminators: Collection[str] = DEFAULT_TERMINATORS,
        timeout_ms: int | None = None,
        *,
        name: str = "Lecteur simulé",
    ):
        self.device = PipeDevice(name)
        super().__init__(on_scan, (), layout, terminators, timeout_ms, finder=self._find)

    def _find(self, skip: Collection[str]) -> list[InputLike]:
        return [] if self.device.closed or self.device.path in skip else [self.device]

    def scan(self, code: str, layout: str | Keymap | None = None) -> None:
        """Type `code` as a scanner configured for `layout` (default: the reader's own) would."""
        terminator = next((t for t in TERMINATORS if t in self.terminators), None)
        self.send(scan_events(code, layout or self.layout, terminator))

    def send(self, events: Iterable[InputEvent]) -> None:
        self.device.write(events)

    def close(self) -> None:
        super().close()
        self.device.close()


class NoScanner:
    """No scanner: codes are typed in the sale screen."""

    def connected(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------------------
# Configuration

_BACKENDS = ("auto", "evdev", "simulated", "none")
_KEYS = ("backend", "devices", "layout", "terminator", "timeout_ms")
_TERMINATOR_CHOICES: Mapping[str, frozenset[str]] = {
    "enter": frozenset({"enter"}),
    "tab": frozenset({"enter", "tab"}),  # a scanner set to Tab may still end some codes with Enter
    "none": frozenset(),
}


def open_scanners(cfg: Mapping[str, Any], on_scan: OnScan) -> Scanner:
    """Start the scanners described by `cfg` (the devices.scanner section), already reading.

    "auto" reads the configured devices (or, with none listed, the devices that look like scanners) when
    one is plugged in now, else falls back to a simulated scanner; "evdev" waits for them to appear.
    """
    settings = Settings("du lecteur de codes-barres", cfg, _KEYS, ValueError, key_prefix="devices.scanner.")
    backend = settings.choice("backend", "auto", _BACKENDS)
    devices = settings.cfg.get("devices", [])
    if not isinstance(devices, list) or not all(isinstance(d, str) and d.strip() for d in devices):
        raise settings.bad(
            "devices",
            devices,
            'une liste de noms (ou parties de nom), d\'identifiants USB "0c2e:0b61" ou de chemins /dev/input/…',
        )
    layout = settings.choice("layout", "fr", KEYMAPS)
    timeout_ms = settings.optional_integer(
        "timeout_ms", 10, 2000, "une durée en millisecondes de 10 à 2000, ou rien"
    )
    terminator = settings.choice("terminator", "enter", _TERMINATOR_CHOICES)
    if terminator == "none" and timeout_ms is None:
        raise settings.bad("terminator", terminator, "enter ou tab, ou bien « none » avec un timeout_ms")
    terminators = _TERMINATOR_CHOICES[terminator]
    specs = [d.strip() for d in devices]

    scanner: ScannerReader
    if backend == "none":
        return NoScanner()
    if backend == "auto":
        found = DeviceFinder(specs)()
        for device in found:
            device.close()
        if not found:
            log.info("no barcode scanner found; using a simulated one")
            backend = "simulated"
    if backend == "simulated":
        scanner = SimulatedScanner(on_scan, layout, terminators, timeout_ms)
    else:
        scanner = ScannerReader(on_scan, specs, layout, terminators, timeout_ms)
    scanner.start()
    return scanner
