"""Loading the configuration: config/default.toml, overridden by a user file, validated, then parsed once
into typed sections (kiosk.config.sections)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fiscal.fec import fec_config
from kiosk.config.schema import ConfigError, flatten, unflatten, validate
from kiosk.config.sections import (
    BarcodesSection,
    CashSection,
    CatalogueSection,
    CreditNotesSection,
    CustomersSection,
    DevicesSection,
    DiscountsSection,
    FiscalSection,
    LoyaltySection,
    MailSection,
    ReceiptSection,
    ShopSection,
    StaffSection,
    TendersSection,
    TillSection,
    UplinkSection,
)

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent.parent / "config" / "default.toml"
USER_CONFIG_NAME = "kiosk.toml"


@dataclass(frozen=True)
class Config:
    """The validated configuration, one typed section per TOML table; `raw` keeps the nested dict as
    loaded (recorded in the database to journal what changed between two starts)."""

    raw: dict[str, Any]
    sources: tuple[Path, ...]
    shop: ShopSection
    till: TillSection
    fiscal: FiscalSection
    receipt: ReceiptSection
    cash: CashSection
    loyalty: LoyaltySection
    customers: CustomersSection
    discounts: DiscountsSection
    tenders: TendersSection
    credit_notes: CreditNotesSection
    staff: StaffSection
    barcodes: BarcodesSection
    catalogue: CatalogueSection
    devices: DevicesSection
    mail: MailSection
    uplink: UplinkSection

    @classmethod
    def parse(cls, tree: dict[str, Any], sources: tuple[Path, ...] = ()) -> Config:
        """Typed sections from a validated tree (every key present: config/default.toml holds them all)."""
        return cls(
            raw=tree,
            sources=sources,
            shop=ShopSection.parse(tree["shop"]),
            till=TillSection.parse(tree["till"]),
            fiscal=FiscalSection.parse(tree["fiscal"]),
            receipt=ReceiptSection.parse(tree["receipt"]),
            cash=CashSection.parse(tree["cash"]),
            loyalty=LoyaltySection.parse(tree["loyalty"]),
            customers=CustomersSection.parse(tree["customers"]),
            discounts=DiscountsSection.parse(tree["discounts"]),
            tenders=TendersSection.parse(tree["tenders"]),
            credit_notes=CreditNotesSection.parse(tree["credit_notes"]),
            staff=StaffSection.parse(tree["staff"]),
            barcodes=BarcodesSection.parse(tree["barcodes"]),
            catalogue=CatalogueSection.parse(tree["catalogue"]),
            devices=DevicesSection.parse(tree.get("devices", {})),
            mail=MailSection.parse(tree["mail"]),
            uplink=UplinkSection.parse(tree["uplink"]),
        )

    @property
    def shop_id(self) -> str:
        return self.shop.id

    @property
    def till_id(self) -> str:
        return self.till.id

    @property
    def timezone(self) -> ZoneInfo:
        return self.till.zone

    def fec_accounts(self) -> dict[str, Any]:
        """The FEC journal and accounts: defaults with the shop's `[fiscal.fec]` settings merged in."""
        return fec_config(_thawed(self.fiscal.fec))


def _thawed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    if hasattr(value, "items"):
        return {k: _thawed(v) for k, v in value.items()}
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{path} : fichier introuvable"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path} : TOML invalide ({exc})"]) from None


def load_config(config_file: Path | None = None, data_dir: Path | None = None) -> Config:
    """Defaults, then the given file (or data-dir/kiosk.toml when present); raises ConfigError."""
    sources = [DEFAULT_CONFIG]
    flat = flatten(_read_toml(DEFAULT_CONFIG))
    override = config_file
    if override is None and data_dir is not None and (data_dir / USER_CONFIG_NAME).exists():
        override = data_dir / USER_CONFIG_NAME
    if override is not None:
        flat.update(flatten(_read_toml(override)))
        sources.append(override)
    problems = validate(flat)
    if problems:
        raise ConfigError(problems)
    return Config.parse(unflatten(flat), tuple(sources))


def resolve_data_dir(explicit: str | None) -> Path:
    """--data-dir, else KIOSK_DATA_DIR, else /var/lib/kiosk when writable, else ~/.local/share/kiosk."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("KIOSK_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    system = Path("/var/lib/kiosk")
    if system.is_dir() and os.access(system, os.W_OK):
        return system
    return Path.home() / ".local" / "share" / "kiosk"
