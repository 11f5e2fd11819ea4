"""S-Index: the load inflation factor and the risk behind the target SoC (mode ``full``).

Three modes (``s_index.mode``):

* ``static`` -- load factor ``base_factor``; risk ``base_factor``.
* ``dynamic`` -- load factor ``base_factor + pv_deficit_weight x deficit + temp_weight x
  cold`` over the next 24 hours; risk ``1 + pv_deficit_weight x deficit + temp_weight x
  cold`` averaged over day 2 and day 3 (the local days after today that the horizon covers
  whole).
* ``probabilistic`` -- load factor ``1 + (5 - risk_appetite) / 4 x spread``, the spread being
  the next 24 hours' load ``sum(P90 - P50) / sum(P50)``: appetite 1 plans on the P90, 5 on
  the P50. Risk as ``dynamic``. Without P90 in every slot of the next 24 hours: ``dynamic``.

Both are bounded to ``[1, max(max_factor, base_factor)]``. The PV *deficit* of a period is
``1 - PV / (season x days)``, clipped to 0-1, where the season is the mean daily PV of the
last 14 days (:class:`StrategyContext`); without it the deficit is not known and counts 0.
*Cold* is ``(temp_baseline_c - mean temperature) / (temp_baseline_c - temp_cold_c)``,
clipped to 0-1, from the slots' ``temperature_c``; without any, 0. When the horizon covers
neither day 2 nor day 3 whole (plans made before the next day's prices are out), the risk
is ``base_factor``, as in ``static``. Every input is reported with the result.

The target SoC is ``min % + (risk - 1) x soc_scaling_percent``, clipped to the SoC window,
applied as a soft floor at ``target_soc_hour`` local time
(:func:`darkstar.planner.strategy.target_soc.target_soc_slot`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from datetime import date

    from numpy.typing import NDArray

    from darkstar.config.models import BatteryConfig, SIndexConfig
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.strategy.overlays import HourlyBias

__all__ = [
    "SIndex",
    "StrategyContext",
    "compute_s_index",
    "risk_factor",
    "target_soc_percent",
]

_D1 = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True)
class StrategyContext:
    """What a plan knows beyond its request: the season and the Analyst's bias.

    ``pv_season_kwh_per_day``: mean daily PV of the last 14 days (None: unknown).
    ``hourly_bias``: the Analyst's forecast bias by local hour (None: no overlay).
    """

    pv_season_kwh_per_day: float | None = None
    hourly_bias: HourlyBias | None = None


@dataclass(frozen=True, kw_only=True)
class SIndex:
    """The S-Index of one plan and the inputs that produced it."""

    mode: str
    load_factor: float
    factor_inputs: dict[str, Any] = field(default_factory=dict)
    risk: float
    risk_inputs: dict[str, Any] = field(default_factory=dict)
    target_soc_percent: float
    weather_risk: bool = False
    """Whether ``risk`` was measured from day 2-3's weather (not ``base_factor``)."""


def risk_factor(cfg: SIndexConfig) -> float:
    """Return the static load inflation factor (>= 1): ``base_factor``."""
    return cfg.base_factor


def target_soc_percent(
    *, s_index: SIndexConfig, battery: BatteryConfig, risk: float | None = None
) -> float:
    """Return the target SoC: ``min % + (risk - 1) x scaling``, clipped to the SoC window.

    ``risk`` defaults to the static one (``base_factor``).

    Examples
    --------
    >>> from darkstar.config.models import BatteryConfig, SIndexConfig
    >>> target_soc_percent(s_index=SIndexConfig(base_factor=1.2, soc_scaling_percent=50),
    ...                    battery=BatteryConfig(min_soc_percent=10))
    20.0
    >>> target_soc_percent(s_index=SIndexConfig(soc_scaling_percent=40),
    ...                    battery=BatteryConfig(min_soc_percent=10), risk=1.35)
    24.0
    """
    r = risk_factor(s_index) if risk is None else risk
    raw = battery.min_soc_percent + (r - 1.0) * s_index.soc_scaling_percent
    return round(min(max(raw, battery.min_soc_percent), battery.max_soc_percent), 6)


def _bounded(value: float, cfg: SIndexConfig) -> float:
    return round(min(max(value, 1.0), max(cfg.max_factor, cfg.base_factor)), 6)


def _deficit(pv_kwh: float, days: float, season: float | None) -> float | None:
    """``1 - PV / (season x days)`` clipped to 0-1; None without a season reference."""
    if season is None or season <= 0 or days <= 0:
        return None
    return float(min(max(1.0 - pv_kwh / (season * days), 0.0), 1.0))


def _cold(temperatures: NDArray[np.float64], cfg: SIndexConfig) -> tuple[float | None, float]:
    """Return (mean temperature or None, cold 0-1; 0 without temperatures)."""
    known = temperatures[np.isfinite(temperatures)]
    if not len(known):
        return None, 0.0
    mean = float(np.mean(known))
    cold = (cfg.temp_baseline_c - mean) / (cfg.temp_baseline_c - cfg.temp_cold_c)
    return round(mean, 3), float(min(max(cold, 0.0), 1.0))


def _period(
    pv: NDArray[np.float64],
    temperature: NDArray[np.float64],
    mask: NDArray[np.bool_],
    days: float,
    cfg: SIndexConfig,
    season: float | None,
) -> dict[str, Any]:
    """Return the risk inputs of the slots in ``mask`` (``days`` long)."""
    pv_kwh = float(np.sum(pv[mask]))
    deficit = _deficit(pv_kwh, days, season)
    mean_temp, cold = _cold(temperature[mask], cfg)
    return {
        "pv_kwh": round(pv_kwh, 3),
        "pv_deficit": None if deficit is None else round(deficit, 4),
        "temperature_c": mean_temp,
        "cold": round(cold, 4),
        "added": round(cfg.pv_deficit_weight * (deficit or 0.0) + cfg.temp_weight * cold, 6),
    }


def _local_midnight_utc(day: date, pin: PlannerInput) -> datetime:
    return datetime.combine(day, time(), tzinfo=pin.timezone).astimezone(UTC)


def _whole_days(pin: PlannerInput, starts: list[datetime]) -> list[tuple[date, NDArray[np.bool_]]]:
    """Day 2 and day 3 (local) that the horizon covers whole, with their slot masks."""
    today = pin.start.astimezone(pin.timezone).date()
    local = np.array([s.astimezone(pin.timezone).date() for s in starts])
    out = []
    for offset in (1, 2):
        day = today + timedelta(days=offset)
        begin = _local_midnight_utc(day, pin)
        end = _local_midnight_utc(day + timedelta(days=1), pin)
        if pin.start <= begin and pin.end >= end:
            out.append((day, local == day))
    return out


def compute_s_index(
    pin: PlannerInput,
    *,
    cfg: SIndexConfig,
    battery: BatteryConfig,
    context: StrategyContext | None = None,
) -> SIndex:
    """Return the S-Index of a plan: load factor, risk, target SoC and their inputs.

    See the module docstring for the formulas; pure and DST-correct (days are local).
    """
    season = None if context is None else context.pv_season_kwh_per_day
    if cfg.mode == "static":
        return SIndex(
            mode="static",
            load_factor=cfg.base_factor,
            factor_inputs={"base_factor": cfg.base_factor},
            risk=cfg.base_factor,
            risk_inputs={"base_factor": cfg.base_factor},
            target_soc_percent=target_soc_percent(s_index=cfg, battery=battery),
        )
    starts = [s.start for s in pin.slots]
    pv = pin.column("pv_forecast_kwh")
    temperature = pin.column("temperature_c")
    d1 = np.array([s < pin.start + _D1 for s in starts])
    d1_days = float(np.sum(d1)) * pin.slot_h / 24.0
    d1_inputs = _period(pv, temperature, d1, d1_days, cfg, season)
    factor_inputs: dict[str, Any] = {
        "base_factor": cfg.base_factor,
        "pv_season_kwh_per_day": None if season is None else round(season, 3),
        "next_24h": d1_inputs,
    }
    mode = cfg.mode
    load_factor = _bounded(cfg.base_factor + d1_inputs["added"], cfg)
    if mode == "probabilistic":
        p50 = pin.column("load_forecast_kwh")[d1]
        p90 = pin.column("load_p90_kwh")[d1]
        if np.all(np.isfinite(p90)) and float(np.sum(p50)) > 0:
            spread = float(np.sum(np.maximum(p90 - p50, 0.0)) / np.sum(p50))
            share = (5 - cfg.risk_appetite) / 4.0
            load_factor = _bounded(1.0 + share * spread, cfg)
            factor_inputs = {
                "load_spread": round(spread, 4),
                "risk_appetite": cfg.risk_appetite,
                "spread_share": share,
            }
        else:
            mode = "dynamic"
            factor_inputs["note"] = "no load P90 in the next 24 h: dynamic factor"
    days = _whole_days(pin, starts)
    if days:
        per_day = {
            day.isoformat(): _period(pv, temperature, mask, 1.0, cfg, season) for day, mask in days
        }
        added = float(np.mean([d["added"] for d in per_day.values()]))
        risk = _bounded(1.0 + added, cfg)
        risk_inputs: dict[str, Any] = {"days": per_day}
    else:
        risk = cfg.base_factor
        risk_inputs = {
            "base_factor": cfg.base_factor,
            "note": "the horizon covers neither day 2 nor day 3 whole: risk = base_factor",
        }
    if season is None:
        risk_inputs["pv_note"] = "no season reference: PV deficit not counted"
    return SIndex(
        mode=mode,
        load_factor=load_factor,
        factor_inputs=factor_inputs,
        risk=risk,
        risk_inputs=risk_inputs,
        target_soc_percent=target_soc_percent(s_index=cfg, battery=battery, risk=risk),
        weather_risk=bool(days),
    )
