"""The uplink's MQTT topics (see the package docstring for who writes which)."""

from __future__ import annotations

ROOT = "till"


def base(shop: str, till: str) -> str:
    return f"{ROOT}/{shop}/{till}"


def events(shop: str, till: str) -> str:
    return f"{base(shop, till)}/events"


def ack(shop: str, till: str) -> str:
    return f"{base(shop, till)}/ack"


def status(shop: str, till: str) -> str:
    return f"{base(shop, till)}/status"


def cmd(shop: str, till: str) -> str:
    return f"{base(shop, till)}/cmd"


def cmd_result(shop: str, till: str) -> str:
    return f"{base(shop, till)}/cmd/result"


def inbound(shop: str, till: str) -> str:
    return f"{base(shop, till)}/inbound"


def parse(topic: str) -> tuple[str, str, str] | None:
    """(shop, till, kind) of a till topic, kind being e.g. "events" or "cmd/result"; None otherwise."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT:
        return None
    return parts[1], parts[2], "/".join(parts[3:])


def catalogue(shop: str, till: str) -> str:
    return f"{base(shop, till)}/catalogue"
