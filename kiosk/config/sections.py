"""The configuration as typed, frozen sections: parsed once after validation, read as attributes.

Stdlib dataclasses rather than pydantic or msgspec: the checks and their French messages already live in
schema.py (one table that `kiosk config check` and the till share), so the sections only need types and
immutability, and a dependency would bring a second set of error messages. Device sections stay read-only
mappings: each driver validates its own keys (drivers/ imports nothing from kiosk/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Self
from zoneinfo import ZoneInfo


def _frozen(value: Any) -> Any:
    """Lists become tuples and tables read-only mappings, so a section cannot be changed in place."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


class _Section:
    @classmethod
    def parse(cls, table: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: _frozen(v) for k, v in table.items() if k in names})


@dataclass(frozen=True)
class ShopSection(_Section):
    id: str
    name: str
    address: tuple[str, ...]
    phone: str
    siret: str
    vat_number: str
    naf: str


@dataclass(frozen=True)
class TillSection(_Section):
    id: str
    timezone: str
    training: bool

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class FiscalSection(_Section):
    first_month: int
    archive_dir: str
    fec: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ReceiptSection(_Section):
    auto_print: bool
    logo: str
    header: tuple[str, ...]
    footer: tuple[str, ...]


@dataclass(frozen=True)
class CashSection(_Section):
    presets: tuple[int, ...]  # cents
    float_at_login: bool


@dataclass(frozen=True)
class LoyaltySection(_Section):
    alcohol_earns: bool
    offline_allowance_cents: int


@dataclass(frozen=True)
class CustomersSection(_Section):
    retention_months: int
    inactive_days: int


@dataclass(frozen=True)
class DiscountsSection(_Section):
    max_percent_without_manager: int


@dataclass(frozen=True)
class TendersSection(_Section):
    meal_voucher_max: int  # cents


@dataclass(frozen=True)
class CreditNotesSection(_Section):
    validity_days: int


@dataclass(frozen=True)
class StaffSection(_Section):
    max_failed_logins: int
    lockout_seconds: int


@dataclass(frozen=True)
class BarcodesSection(_Section):
    scale_labels: tuple[str, ...]


@dataclass(frozen=True)
class CatalogueSection(_Section):
    usb_dir: str
    new_categories: str  # "create" | "reject"


@dataclass(frozen=True)
class MailSection(_Section):
    host: str
    port: int
    security: str  # "starttls" | "ssl" | "none"
    username: str
    password: str
    sender: str
    timeout: int

    def __repr__(self) -> str:  # never the password in a log line
        return f"MailSection(host={self.host!r}, port={self.port}, sender={self.sender!r})"


@dataclass(frozen=True)
class UplinkSection(_Section):
    enabled: bool
    host: str
    port: int
    tls: bool
    ca_file: str
    cert_file: str
    key_file: str
    username: str
    password: str
    fleet_public_key: str
    backlog_budget_mb: int
    status_interval_s: int
    reconnect_max_s: int
    keepalive_s: int
    ack_timeout_s: int
    mqtt_version: int
    portal_db: str

    def __repr__(self) -> str:  # never the password in a log line
        return f"UplinkSection(enabled={self.enabled}, host={self.host!r}, port={self.port})"


@dataclass(frozen=True)
class DevicesSection:
    """Each device's table as given; the driver that opens the device checks its keys."""

    printer: Mapping[str, Any]
    scanner: Mapping[str, Any]
    display: Mapping[str, Any]
    scale: Mapping[str, Any]
    payment: Mapping[str, Any]
    drawer: Mapping[str, Any]

    @classmethod
    def parse(cls, table: Mapping[str, Any]) -> DevicesSection:
        # one level only: the drivers' own checks expect TOML's lists
        return cls(**{f.name: MappingProxyType(dict(table.get(f.name, {}))) for f in fields(cls)})
