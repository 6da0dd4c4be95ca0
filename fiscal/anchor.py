"""Tail anchoring: the head of every journal, copied to a file beside the database after each commit.

Deleting the last records of a journal (or restoring an older copy of the database) leaves the
database behind its anchor, which the verifier and the start-up check report. The file is replaced
atomically; it is not fsynced, so a power cut can only leave it behind the database, never ahead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class Anchor:
    def __init__(self, path: Path):
        self.path = path

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"corrupt": True}
        return data if isinstance(data, dict) else {"corrupt": True}

    def write(self, heads: dict[str, dict[str, Any]], key_id: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key_id": key_id, "heads": heads}, sort_keys=True), "utf-8")
        os.replace(tmp, self.path)
