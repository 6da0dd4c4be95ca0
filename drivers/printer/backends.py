"""The printer backends: a real printer over a python-escpos transport, and a simulated one that keeps
every job as a file."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from escpos.constants import (
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError

from drivers.printer.profiles import DEFAULT_PROFILE, PrinterProfile
from drivers.printer.render import kick_bytes
from drivers.printer.status import (
    OFFLINE_MESSAGE,
    PaperOut,
    PaperState,
    PrinterOffline,
    PrinterStatus,
    status_of,
)
from drivers.printer.transports import Transport, transport

# What a transport raises when the printer is unplugged, switched off or unreachable. pyusb and pyserial
# errors derive from OSError; python-escpos wraps failed opens in DeviceNotFoundError (an escpos Error).
_TRANSPORT_ERRORS = (EscposError, OSError, AssertionError)


class EscposPrinter:
    """A real printer reached through a python-escpos transport (USB, serial, network or device file).

    `device` is a transport config dict (see `open_printer`), a checked `Transport`, or a ready
    python-escpos printer object. The connection is opened on first use, dropped on any transport error and reopened on the
    next call, so a printer switched back on works again without restarting the till.
    """

    def __init__(
        self, device: Mapping[str, Any] | Transport | Escpos, profile: PrinterProfile = DEFAULT_PROFILE
    ):
        self.profile = profile
        self._lock = threading.Lock()
        self._escpos: Escpos | None = device if isinstance(device, Escpos) else None
        self._transport: Transport | None = None
        if isinstance(device, Transport):
            self._transport = device
        elif not isinstance(device, Escpos):
            self._transport = transport(device)

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
        # python-escpos's is_online()/paperstatus_of() read silence as "offline" and "paper ok"; a printer
        # that does not answer is reported as connected with an unknown paper state instead.
        if online_byte is None:
            return status_of(True, "unknown")
        return status_of(not online_byte & RT_MASK_ONLINE, paper)

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> None:
        # No status check: the printer itself decides whether it can pulse the drawer.
        data = kick_bytes(pin, pulse_ms)
        with self._lock:
            self._send(data)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _device(self) -> Escpos:
        if self._escpos is None:
            assert self._transport is not None
            self._escpos = self._transport.open(self.profile.escpos_profile)
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
        return status_of(True, self.paper)

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> None:
        data = kick_bytes(pin, pulse_ms)
        with self._lock:
            if not self.online:
                raise PrinterOffline()
            with open(self.out_dir / "drawer.log", "ab") as logfile:
                logfile.write(data)
            self.kicks += 1
