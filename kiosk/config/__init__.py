"""Configuration: config/default.toml, overridden by a user file, validated with errors naming the key,
then read through typed, frozen sections (`config.cash.presets`, `config.devices.printer`...)."""

from kiosk.config.load import DEFAULT_CONFIG, USER_CONFIG_NAME, Config, load_config, resolve_data_dir
from kiosk.config.schema import SCHEMA, ConfigError, flatten, validate
from kiosk.config.snapshot import config_changes, config_snapshot

__all__ = [
    "DEFAULT_CONFIG",
    "SCHEMA",
    "USER_CONFIG_NAME",
    "Config",
    "ConfigError",
    "config_changes",
    "config_snapshot",
    "load_config",
    "resolve_data_dir",
    "flatten",
    "validate",
]
