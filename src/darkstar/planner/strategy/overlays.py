"""The Analyst's overlay: a bounded correction of the forecasts by local hour of day.

The Analyst (:mod:`darkstar.learning.analyst`) measures, per local hour of day, how much
the forecasts the plans used missed what was then observed (mean forecast - actual, in kW).
:func:`apply_overlay` subtracts that bias from the forecasts of a new plan, in mode ``full``
only, bounded per slot to :data:`OVERLAY_MAX_SHARE` of the forecast itself (a slot forecast
at 0 stays 0: no PV at night, however the hour's bias looks), and only for hours with at
least :data:`OVERLAY_MIN_SAMPLES` measured slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta, tzinfo

    from numpy.typing import NDArray

__all__ = [
    "OVERLAY_MAX_SHARE",
    "OVERLAY_MIN_SAMPLES",
    "HourlyBias",
    "OverlayResult",
    "apply_overlay",
    "hourly_bias",
]

#: A slot's forecast moves by at most this share of itself.
OVERLAY_MAX_SHARE = 0.25

#: An hour of day is corrected only with at least this many measured slots behind its bias
#: (a week of 15-minute slots is 28).
OVERLAY_MIN_SAMPLES = 28


def _zeros() -> tuple[float, ...]:
    return (0.0,) * 24


def _no_samples() -> tuple[int, ...]:
    return (0,) * 24


@dataclass(frozen=True, kw_only=True)
class HourlyBias:
    """Mean forecast - actual power per local hour of day (index 0-23), PV and load.

    Positive: the forecast was too high. ``*_samples`` count the slots behind each mean.
    """

    pv_kw: tuple[float, ...] = field(default_factory=_zeros)
    load_kw: tuple[float, ...] = field(default_factory=_zeros)
    pv_samples: tuple[int, ...] = field(default_factory=_no_samples)
    load_samples: tuple[int, ...] = field(default_factory=_no_samples)
    window_days: int = 14

    def __post_init__(self) -> None:
        for name in ("pv_kw", "load_kw", "pv_samples", "load_samples"):
            values = getattr(self, name)
            if len(values) != 24:
                msg = f"HourlyBias.{name}: 24 values expected, got {len(values)}"
                raise ValueError(msg)
        for name in ("pv_kw", "load_kw"):
            if not all(np.isfinite(getattr(self, name))):
                msg = f"HourlyBias.{name}: values must be finite"
                raise ValueError(msg)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (rounded to 4 decimals)."""
        return {
            "window_days": self.window_days,
            "pv_kw": [round(v, 4) for v in self.pv_kw],
            "load_kw": [round(v, 4) for v in self.load_kw],
            "pv_samples": list(self.pv_samples),
            "load_samples": list(self.load_samples),
        }


def _by_hour(
    hours: NDArray[np.int64], error_kw: NDArray[np.float64]
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    known = np.isfinite(error_kw)
    counts = np.bincount(hours[known], minlength=24)
    sums = np.bincount(hours[known], weights=error_kw[known], minlength=24)
    means = np.divide(sums, counts, out=np.zeros(24), where=counts > 0)
    return tuple(float(v) for v in means), tuple(int(c) for c in counts)


def hourly_bias(
    local_hours: NDArray[np.int64],
    *,
    pv_forecast_kw: NDArray[np.float64],
    pv_actual_kw: NDArray[np.float64],
    load_forecast_kw: NDArray[np.float64],
    load_actual_kw: NDArray[np.float64],
    window_days: int,
) -> HourlyBias:
    """Mean forecast - actual per local hour of day (NaN pairs left out); pure.

    Examples
    --------
    >>> hours = np.array([12, 12, 13])
    >>> b = hourly_bias(hours, pv_forecast_kw=np.array([2.0, 3.0, 1.0]),
    ...     pv_actual_kw=np.array([1.0, 2.0, np.nan]), load_forecast_kw=np.zeros(3),
    ...     load_actual_kw=np.zeros(3), window_days=14)
    >>> b.pv_kw[12], b.pv_samples[12], b.pv_samples[13]
    (1.0, 2, 0)
    """
    hours = np.asarray(local_hours, dtype=np.int64)
    pv_mean, pv_n = _by_hour(hours, np.asarray(pv_forecast_kw, float) - pv_actual_kw)
    load_mean, load_n = _by_hour(hours, np.asarray(load_forecast_kw, float) - load_actual_kw)
    return HourlyBias(
        pv_kw=pv_mean,
        load_kw=load_mean,
        pv_samples=pv_n,
        load_samples=load_n,
        window_days=window_days,
    )


@dataclass(frozen=True, kw_only=True)
class OverlayResult:
    """The corrected forecasts and what moved (kWh over the horizon, signed)."""

    pv_kwh: NDArray[np.float64]
    load_kwh: NDArray[np.float64]
    pv_change_kwh: float
    load_change_kwh: float


def _correct(
    values: NDArray[np.float64],
    bias_kw: Sequence[float],
    samples: Sequence[int],
    hours: NDArray[np.int64],
    slot_h: float,
) -> NDArray[np.float64]:
    bias = np.asarray(bias_kw, dtype=float)[hours] * slot_h
    bias = np.where(np.asarray(samples)[hours] >= OVERLAY_MIN_SAMPLES, bias, 0.0)
    bound = OVERLAY_MAX_SHARE * np.abs(values)
    return np.maximum(values - np.clip(bias, -bound, bound), 0.0)


def apply_overlay(
    bias: HourlyBias,
    *,
    pv_kwh: NDArray[np.float64],
    load_kwh: NDArray[np.float64],
    slot_starts: Sequence[datetime],
    slot_duration: timedelta,
    tz: tzinfo,
) -> OverlayResult:
    """Subtract the hour-of-day bias from the forecasts, bounded per slot.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> pv_bias = (0.0,) * 12 + (1.0,) + (0.0,) * 11  # PV 1 kW too high at 12-13 h
    >>> bias = HourlyBias(pv_kw=pv_bias, pv_samples=(28,) * 24, load_samples=(28,) * 24)
    >>> out = apply_overlay(bias, pv_kwh=np.array([2.0, 0.4]), load_kwh=np.array([0.5, 0.5]),
    ...     slot_starts=[datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 12, 15,
    ...     tzinfo=UTC)], slot_duration=timedelta(minutes=15), tz=UTC)
    >>> out.pv_kwh.tolist()  # -0.25 kWh each, the second slot bounded to 25 % of 0.4
    [1.75, 0.30000000000000004]
    """
    slot_h = slot_duration.total_seconds() / 3600.0
    hours = np.array([s.astimezone(tz).hour for s in slot_starts], dtype=np.int64)
    pv = _correct(np.asarray(pv_kwh, float), bias.pv_kw, bias.pv_samples, hours, slot_h)
    load = _correct(np.asarray(load_kwh, float), bias.load_kw, bias.load_samples, hours, slot_h)
    return OverlayResult(
        pv_kwh=pv,
        load_kwh=load,
        pv_change_kwh=float(np.sum(pv) - np.sum(pv_kwh)),
        load_change_kwh=float(np.sum(load) - np.sum(load_kwh)),
    )
