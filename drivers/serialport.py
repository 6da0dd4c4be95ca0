"""What the serial drivers (payment terminal, scale, customer display) share about their port.

A driver is given either a device path, which it opens with pyserial itself and may close and reopen
(after a failure: an unplugged USB adapter comes back on its own), or an open serial-like object lent
by the caller, which it uses but never closes.
"""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

try:  # pyserial raises termios.error (not an OSError) when a port refuses its settings
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - not POSIX
    _TermiosError = OSError  # type: ignore[misc, assignment]

log = logging.getLogger(__name__)

# What a failing port raises: pyserial's SerialException is an OSError; ValueError: a closed file object.
PORT_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, _TermiosError)

PortT = TypeVar("PortT")


class PortUser(Generic[PortT]):
    """The port of a serial driver: `_path` when the driver opens it itself, and `_port`, the open port
    (None until opened, and after `_drop_port`)."""

    def __init__(self, port: str | PortT):
        self._path: str | None = port if isinstance(port, str) else None
        self._port: PortT | None = None if isinstance(port, str) else port

    @property
    def port_name(self) -> str | None:
        """The device path, None for a port given by the caller."""
        return self._path

    def _drop_port(self) -> None:
        """Forget a broken connection: close the port we opened, quietly, so that the next call reopens the
        path. A caller's port is kept."""
        if self._path is None:
            return
        port, self._port = self._port, None
        close = getattr(port, "close", None)
        if close is not None:
            try:
                close()
            except PORT_ERRORS as exc:
                log.debug("closing %s: %s", self._path, exc)
