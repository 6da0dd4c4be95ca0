"""Tail anchoring: the head of every journal, copied to a file beside the database after each commit.

Deleting the last records of a journal (or restoring an older copy of the database) leaves the
database behind its anchor, which the verifier and the start-up check report. The file is one block of
4096 bytes rewritten in place (a single aligned write, with a checksum), which costs a fraction of a
rename on the checkout path; it is not fsynced, so a power cut can only leave it behind the database,
never ahead — and a torn block shows up as a bad checksum, reported as an unreadable anchor.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

BLOCK = 4096


class Anchor:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def read(self) -> dict[str, Any] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return {"corrupt": True}
        try:
            checksum, _, payload = raw.rstrip(b"\0 \n").partition(b"\n")
            if hashlib.sha256(payload).hexdigest().encode() != checksum:
                return {"corrupt": True}
            data = json.loads(payload)
        except ValueError:
            return {"corrupt": True}
        return data if isinstance(data, dict) else {"corrupt": True}

    def write(self, heads: dict[str, dict[str, Any]], key_id: str) -> None:
        payload = json.dumps({"key_id": key_id, "heads": heads}, sort_keys=True).encode()
        block = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload + b"\n"
        if len(block) > BLOCK:
            raise ValueError("anchor larger than one block")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        os.pwrite(self._fd, block.ljust(BLOCK, b"\0"), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
