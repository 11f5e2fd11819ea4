"""Static S-Index: the load inflation factor and the risk-driven target SoC.

In this version the risk is the configured ``s_index.base_factor``; the adaptive,
weather-driven S-Index (and its ``max_factor`` bound) replaces :func:`risk_factor` later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from darkstar.config.models import BatteryConfig, SIndexConfig

__all__ = ["risk_factor", "target_soc_percent"]


def risk_factor(cfg: SIndexConfig) -> float:
    """Return the load inflation factor (>= 1)."""
    return cfg.base_factor


def target_soc_percent(*, s_index: SIndexConfig, battery: BatteryConfig) -> float:
    """Return the target SoC: ``min % + (risk - 1) x scaling``, clipped to the SoC window.

    Examples
    --------
    >>> from darkstar.config.models import BatteryConfig, SIndexConfig
    >>> target_soc_percent(s_index=SIndexConfig(base_factor=1.2, soc_scaling_percent=50),
    ...                    battery=BatteryConfig(min_soc_percent=10))
    20.0
    """
    raw = battery.min_soc_percent + (risk_factor(s_index) - 1.0) * s_index.soc_scaling_percent
    return round(min(max(raw, battery.min_soc_percent), battery.max_soc_percent), 6)
