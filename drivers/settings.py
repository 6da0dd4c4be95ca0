"""Checking a device's configuration section, with messages naming the wrong key for the cashier.

Every driver's `open_xxx(cfg)` takes a section of the till's configuration: a `Settings` checks that it
is a table with only known keys, then reads each value with its check. A wrong value raises the driver's
own exception type (ValueError, DrawerError, DisplayError...) with the message
« Configuration <of the device> : « key » vaut <value> ; attendu : <what was expected>. ».
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any


class Settings:
    """The configuration section `cfg` of one device.

    `of` names the device as the message says it, article included: "de l'imprimante", "du tiroir-caisse".
    `keys` are the keys allowed (None: not checked); `error` builds the exception raised; `key_prefix` is
    put before the key in messages (the scanner names its keys "devices.scanner.…").
    """

    def __init__(
        self,
        of: str,
        cfg: Any,
        keys: Collection[str] | None,
        error: Callable[[str], Exception],
        *,
        key_prefix: str = "",
    ):
        self.of = of
        self.error = error
        self.key_prefix = key_prefix
        if not isinstance(cfg, Mapping):
            raise error(f"Configuration {of} : une table de réglages est attendue, pas {cfg!r}.")
        self.cfg: Mapping[str, Any] = cfg
        if keys is not None:
            unknown = sorted(set(cfg) - set(keys))
            if unknown:
                raise self.bad(unknown[0], cfg[unknown[0]], "une clé parmi " + ", ".join(sorted(keys)))

    def bad(self, key: str, value: Any, expected: str) -> Exception:
        """The exception to raise when `key` has a wrong `value`."""
        return self.error(
            f"Configuration {self.of} : « {self.key_prefix}{key} » vaut {value!r} ; attendu : {expected}."
        )

    def choice(self, key: str, default: Any, choices: Collection[Any], expected: str | None = None) -> Any:
        """One of `choices` (never a bool standing for 1 or 0); `expected` defaults to the list of them."""
        choices = tuple(choices)
        value = self.cfg.get(key, default)
        if isinstance(value, bool) or value not in choices:
            raise self.bad(key, value, expected or ", ".join(map(str, choices)))
        return value

    def flag(self, key: str, default: bool) -> bool:
        """true or false, as TOML writes them (not 1 or "oui")."""
        value = self.cfg.get(key, default)
        if not isinstance(value, bool):
            raise self.bad(key, value, "true ou false")
        return value

    def integer(self, key: str, default: int, low: int, high: int, expected: str | None = None) -> int:
        """An int from `low` to `high` (not a bool); `expected` defaults to "un entier de `low` à `high`"."""
        value = self.cfg.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.bad(key, value, expected or f"un entier de {low} à {high}")
        return value

    def optional_integer(self, key: str, low: int, high: int, expected: str) -> int | None:
        """Like `integer`, but None when the key is absent (or None)."""
        value = self.cfg.get(key)
        if value is None:
            return None
        return self.integer(key, value, low, high, expected)  # the key is there: its value is the default

    def text(self, key: str, expected: str, default: str | None = None) -> str:
        """A string that is not blank; required when there is no `default`."""
        value = self.cfg.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(key, value, expected)
        return value

    def optional_text(self, key: str, expected: str) -> str | None:
        """Like `text`, but None when the key is absent (or None)."""
        value = self.cfg.get(key)
        if value is None:
            return None
        return self.text(key, expected, value)
