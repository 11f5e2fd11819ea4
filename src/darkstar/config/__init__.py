"""Darkstar configuration: typed section models, loading, validation and file updates.

``config.yaml`` is read with :func:`load_config` (or validated from a mapping with
:func:`parse_config`) over the documented defaults in ``config.default.yaml``
(:func:`read_default_config_text`); :func:`update_config_file` changes keys in a user's
file without disturbing its comments.
"""

from __future__ import annotations

from darkstar.config.loader import (
    load_config,
    merge_config,
    parse_config,
    read_default_config_text,
)
from darkstar.config.models import (
    BatteryConfig,
    BatteryEconomicsConfig,
    DarkstarConfig,
    ExportConfig,
    ForecastingConfig,
    GridConfig,
    KeplerConfig,
    SIndexConfig,
    StrategyConfig,
    SystemConfig,
    VacationModeConfig,
    WaterHeatingConfig,
)
from darkstar.config.yaml_io import update_config_file

__all__ = [
    "BatteryConfig",
    "BatteryEconomicsConfig",
    "DarkstarConfig",
    "ExportConfig",
    "ForecastingConfig",
    "GridConfig",
    "KeplerConfig",
    "SIndexConfig",
    "StrategyConfig",
    "SystemConfig",
    "VacationModeConfig",
    "WaterHeatingConfig",
    "load_config",
    "merge_config",
    "parse_config",
    "read_default_config_text",
    "update_config_file",
]
