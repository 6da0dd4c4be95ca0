"""The one base of the device errors the cashier sees (PrinterError, DrawerError, DisplayError...)."""

from __future__ import annotations


class DeviceError(Exception):
    """A device failure, with a message for the cashier (French) saying what to do: `message`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
