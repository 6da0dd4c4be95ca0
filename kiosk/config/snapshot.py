"""The configuration as recorded in the database, secrets as digests, and what changed between two starts."""

from __future__ import annotations

import hashlib
from typing import Any

from kiosk.config.load import Config
from kiosk.config.schema import flatten

SECRET_KEYS = ("password", "secret", "token", "key_file")


def _is_secret(key: str) -> bool:
    return any(word in key for word in SECRET_KEYS)


def config_snapshot(config: Config) -> dict[str, Any]:
    """The configuration as recorded in the database to notice changes at the next start: secrets only
    as a digest (the database is backed up and exported; a password must not travel with it)."""

    def masked(section: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in section.items():
            key = f"{prefix}{name}"
            if isinstance(value, dict):
                out[name] = masked(value, f"{key}.")
            elif _is_secret(key) and isinstance(value, str) and value:
                out[name] = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
            else:
                out[name] = value
        return out

    return masked(config.raw, "")


def config_changes(before: dict[str, Any] | None, config: Config) -> dict[str, Any]:
    """What changed since the configuration last recorded (for the JET): {key: [old, new]}; the whole
    configuration the first time. Secrets are never copied, only said to have changed."""
    after = flatten(config_snapshot(config))
    old = flatten(before) if before is not None else {}
    changes: dict[str, Any] = {}
    for key in sorted(set(old) | set(after)):
        if old.get(key) != after.get(key):
            changes[key] = "(modifié)" if _is_secret(key) else [old.get(key), after.get(key)]
    return changes
