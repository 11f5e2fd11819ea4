"""Reflex's four analyzers: pure rules from a signal and a key's state to an assessment.

Each analyzer takes its signal (:mod:`darkstar.learning.reflex.signals`), the key's current
value and the time Reflex last changed it, and returns an :class:`Assessment`: the value it
proposes, or ``None`` with the reason it holds (never a silent "no"). Every rule respects

* **hard bounds** (``*_BOUNDS``): nothing is ever proposed outside them, and a value the
  user set outside them is left alone (it is the user's, not Reflex's, to move back);
* **a maximum change per day** (:data:`MAX_CHANGE_PER_DAY`, :data:`CAPACITY_MAX_STEP_FRAC`)
  and **at most one change per key per local day** (:func:`changed_today`).

The rules, and why:

``safety`` -> ``s_index.base_factor`` (the seed's rule)
    More than :data:`SAFETY_MAX_EVENT_DAYS` evening low-SoC days in the last 30 raise it by
    :data:`SAFETY_STEP_UP`; :data:`SAFETY_CLEAN_DAYS` clean evenings in a row lower it by
    :data:`SAFETY_STEP_DOWN`. Up fast, down slowly: an empty battery at the evening peak
    costs more than a little unused reserve. Evidence from before the last change is not
    counted again, so each further step needs new evenings.
``confidence`` -> ``forecasting.pv_confidence_percent``
    The confidence is a haircut on the PV forecast; the user's value is the margin they
    want on an *unbiased* forecast. With the measured bias :math:`b` the haircut that
    restores that margin is :math:`c^* = c_{user}(1 + b)`, so Reflex tracks :math:`c^*`
    (within :data:`CONFIDENCE_BOUNDS`, by at most 5 points a day) when it is more than
    :data:`CONFIDENCE_DEADBAND_PERCENT` away. An unbiased forecast keeps the user's value;
    once the forecaster learns its bias away, the confidence returns to it.
``roi`` -> ``battery_economics.battery_cycle_cost_kwh``
    The wear cost is the hurdle each kWh through the battery must clear. If the realised
    profit per full cycle fell short of the wear the planner charged per cycle
    (:data:`ROI_LOW_MARGIN`), its cycles did not pay: raise the hurdle by a step. If the
    battery sat mostly idle (under :data:`ROI_IDLE_CYCLES_PER_DAY`) while each cycle earned
    :data:`ROI_HIGH_MARGIN` times its wear, the hurdle is filtering out paying cycles:
    lower it by a step. Steps, not a jump to the realised value: the value per cycle
    depends on the hurdle itself (fewer, better cycles), so the loop must settle slowly;
    each step needs new evidence (:data:`ROI_MIN_CYCLES` cycles since the last change).
``capacity`` -> ``battery.capacity_kwh``
    Only down, towards the realised capacity, when it is more than
    :data:`CAPACITY_DEADBAND_FRAC` below the configured value; never above the nameplate
    (the user's value before Reflex first lowered it), never below
    :data:`CAPACITY_FLOOR_FRAC` of it (an estimate that low is a broken sensor or meter,
    not fade: reported, not applied).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, tzinfo

    from darkstar.learning.reflex.signals import (
        CapacitySignal,
        ConfidenceSignal,
        RoiSignal,
        SafetySignal,
    )

__all__ = [
    "CAPACITY_DEADBAND_FRAC",
    "CAPACITY_FLOOR_FRAC",
    "CAPACITY_MAX_STEP_FRAC",
    "CONFIDENCE_BOUNDS",
    "CONFIDENCE_DEADBAND_PERCENT",
    "CONFIG_KEYS",
    "MAX_CHANGE_PER_DAY",
    "ROI_BOUNDS",
    "ROI_HIGH_MARGIN",
    "ROI_IDLE_CYCLES_PER_DAY",
    "ROI_LOW_MARGIN",
    "ROI_MIN_CYCLES",
    "SAFETY_BOUNDS",
    "SAFETY_CLEAN_DAYS",
    "SAFETY_MAX_EVENT_DAYS",
    "SAFETY_STEP_DOWN",
    "SAFETY_STEP_UP",
    "Analyzer",
    "Assessment",
    "analyze_capacity",
    "analyze_confidence",
    "analyze_roi",
    "analyze_safety",
    "changed_today",
]


class Analyzer(StrEnum):
    """Reflex's analyzers; each tunes one config key (:data:`CONFIG_KEYS`)."""

    SAFETY = "safety"
    CONFIDENCE = "confidence"
    ROI = "roi"
    CAPACITY = "capacity"

    @property
    def rule(self) -> str:
        """The analyzer's rule name in the strategy log, e.g. ``reflex.safety``."""
        return f"reflex.{self.value}"


CONFIG_KEYS: Mapping[Analyzer, str] = MappingProxyType(
    {
        Analyzer.SAFETY: "s_index.base_factor",
        Analyzer.CONFIDENCE: "forecasting.pv_confidence_percent",
        Analyzer.ROI: "battery_economics.battery_cycle_cost_kwh",
        Analyzer.CAPACITY: "battery.capacity_kwh",
    }
)
"""The config key each analyzer tunes."""

SAFETY_BOUNDS = (1.0, 1.3)
"""``s_index.base_factor`` Reflex may set: no deflation, at most 30 % load inflation."""

SAFETY_STEP_UP = 0.02
"""Raise of the factor after too many low-SoC evenings (+2 % planned evening load)."""

SAFETY_STEP_DOWN = 0.01
"""Relaxation after a clean streak: half the raise (up fast, down slowly)."""

SAFETY_MAX_EVENT_DAYS = 3
"""More low-SoC evenings than this in 30 days raise the factor (about one a week is
weather; more is a pattern)."""

SAFETY_CLEAN_DAYS = 60
"""Clean evenings in a row that lower the factor (two months: a season's evenings)."""

CONFIDENCE_BOUNDS = (80.0, 100.0)
"""``forecasting.pv_confidence_percent`` Reflex may set [%]: never trust more than the
forecast, never plan on less than 80 % of it (below that the forecast is broken and
needs fixing, not a haircut)."""

CONFIDENCE_DEADBAND_PERCENT = 2.0
"""No change while the tracked confidence is closer than this [percentage points]: two
weeks of weather leave a few percent of noise in the bias."""

ROI_BOUNDS = (0.1, 0.5)
"""``battery_economics.battery_cycle_cost_kwh`` Reflex may set [SEK/kWh]."""

ROI_MIN_CYCLES = 5.0
"""Full cycles needed (since the last change) before the profit per cycle is trusted."""

ROI_LOW_MARGIN = 1.0
"""Profit per cycle below this many times the wear charged per cycle raises the cost:
the planner's cycles did not pay for the wear it priced in."""

ROI_HIGH_MARGIN = 3.0
"""Profit per cycle at least this many times the wear (with an idle battery) lowers it."""

ROI_IDLE_CYCLES_PER_DAY = 0.5
"""Below this many full cycles a day the battery counts as mostly idle [1/day]."""

CAPACITY_DEADBAND_FRAC = 0.03
"""Fade smaller than this share of the configured capacity is left alone: SoC steps
and efficiency spread make a few percent of noise in the estimate."""

CAPACITY_FLOOR_FRAC = 0.6
"""Never set the capacity below this share of the nameplate; an estimate under it is
reported as implausible (a battery at 60 % is long past its warranty's end of life)."""

CAPACITY_MAX_STEP_FRAC = 0.05
"""Largest capacity change per day, as a share of the nameplate (10 % fade: two days)."""

MAX_CHANGE_PER_DAY: Mapping[str, float] = MappingProxyType(
    {
        "s_index.base_factor": SAFETY_STEP_UP,
        "forecasting.pv_confidence_percent": 5.0,
        "battery_economics.battery_cycle_cost_kwh": 0.05,
    }
)
"""Largest change per day of each key, in its unit (capacity: :data:`CAPACITY_MAX_STEP_FRAC`
of the nameplate). Confidence: 5 points, a quarter of its range; ROI: 0.05 SEK/kWh, an
eighth of its range, so one run of bad luck cannot swing the planner's economics."""

_DIGITS: Mapping[str, int] = MappingProxyType(
    {
        "s_index.base_factor": 3,
        "forecasting.pv_confidence_percent": 1,
        "battery_economics.battery_cycle_cost_kwh": 3,
        "battery.capacity_kwh": 2,
    }
)


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What one analyzer concluded for its key.

    Attributes
    ----------
    analyzer : Analyzer
        Which rule.
    key : str
        The config key (dotted path).
    current : float
        Its value now, in the key's unit.
    proposed : float or None
        The value proposed (within bounds and the day's maximum change); ``None`` to hold.
    reason : str
        One line: why it proposes, or why it holds.
    signal : Mapping[str, Any]
        The numbers the decision came from (JSON-ready; kept in the strategy log).
    """

    analyzer: Analyzer
    key: str
    current: float
    proposed: float | None
    reason: str
    signal: Mapping[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether a new value is proposed."""
        return self.proposed is not None

    def to_dict(self) -> dict[str, Any]:
        """``{analyzer, key, current, proposed, reason, signal}``, JSON-ready."""
        return {
            "analyzer": self.analyzer.value,
            "key": self.key,
            "current": self.current,
            "proposed": self.proposed,
            "reason": self.reason,
            "signal": dict(self.signal),
        }


def changed_today(last_change: datetime | None, *, now: datetime, tz: tzinfo) -> bool:
    """Whether Reflex already changed the key on ``now``'s local day (or later).

    Calendar days, not 24 hours, so a daily job that runs a few seconds earlier than the
    day before is not locked out.
    """
    return last_change is not None and (
        last_change.astimezone(tz).date() >= now.astimezone(tz).date()
    )


def _outside(value: float, bounds: tuple[float, float]) -> bool:
    return not bounds[0] <= value <= bounds[1]


def _step(
    key: str, *, current: float, target: float, bounds: tuple[float, float], max_step: float
) -> float | None:
    """Move ``current`` towards ``target`` by at most ``max_step``, within ``bounds``.

    ``None`` when that leaves the (rounded) value where it is.
    """
    digits = _DIGITS[key]
    low, high = bounds
    aim = min(max(target, low), high)
    delta = max(-max_step, min(max_step, aim - current))
    proposed = round(min(max(current + delta, low), high), digits)
    if math.isclose(proposed, current, abs_tol=0.5 * 10**-digits):
        return None
    return proposed


def _propose(
    analyzer: Analyzer,
    *,
    current: float,
    target: float,
    bounds: tuple[float, float],
    max_step: float,
    reason: str,
    unchanged: str,
    signal: Mapping[str, Any],
) -> Assessment:
    """Propose the :func:`_step` towards ``target``; hold with ``unchanged`` when none is left."""
    key = CONFIG_KEYS[analyzer]
    proposed = _step(key, current=current, target=target, bounds=bounds, max_step=max_step)
    if proposed is None:
        return _hold(analyzer, current, unchanged, signal)
    return Assessment(
        analyzer=analyzer, key=key, current=current, proposed=proposed, reason=reason, signal=signal
    )


def _hold(analyzer: Analyzer, current: float, reason: str, signal: Mapping[str, Any]) -> Assessment:
    return Assessment(
        analyzer=analyzer,
        key=CONFIG_KEYS[analyzer],
        current=current,
        proposed=None,
        reason=reason,
        signal=signal,
    )


def _guard(
    analyzer: Analyzer,
    *,
    current: float,
    bounds: tuple[float, float],
    last_change: datetime | None,
    now: datetime,
    tz: tzinfo,
    signal: Mapping[str, Any],
) -> Assessment | None:
    """Return the holds every rule shares: a value outside the bounds, a change today."""
    if _outside(current, bounds):
        return _hold(
            analyzer,
            current,
            f"{current:g} is outside Reflex's bounds {bounds[0]:g}-{bounds[1]:g}: left to the user",
            signal,
        )
    if last_change is not None and changed_today(last_change, now=now, tz=tz):
        at = last_change.astimezone(tz).isoformat(timespec="minutes")
        return _hold(analyzer, current, f"rate limit: already changed today ({at})", signal)
    return None


def analyze_safety(
    signal: SafetySignal,
    *,
    current: float,
    last_change: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> Assessment:
    """Raise ``s_index.base_factor`` after frequent low-SoC evenings, lower it after calm.

    Parameters
    ----------
    signal : SafetySignal
        Evening low-SoC days (counted since the last change) and the clean streak.
    current : float
        ``s_index.base_factor`` now [-].
    last_change : datetime or None
        When Reflex last changed it (``None``: never).
    now : datetime
        The analysis time, tz-aware.
    tz : tzinfo
        The house's local time (the rate limit's calendar day).

    Returns
    -------
    Assessment
        ``current + SAFETY_STEP_UP`` after more than :data:`SAFETY_MAX_EVENT_DAYS` event
        days, ``current - SAFETY_STEP_DOWN`` after :data:`SAFETY_CLEAN_DAYS` clean ones
        (within :data:`SAFETY_BOUNDS`), else a hold.
    """
    analyzer, numbers = Analyzer.SAFETY, signal.summary()
    held = _guard(
        analyzer,
        current=current,
        bounds=SAFETY_BOUNDS,
        last_change=last_change,
        now=now,
        tz=tz,
        signal=numbers,
    )
    if held is not None:
        return held
    days = signal.low_soc_days
    seen = f"{days} low-SoC evening(s) in {signal.evenings_observed} observed"
    if days > SAFETY_MAX_EVENT_DAYS:
        target, why = current + SAFETY_STEP_UP, f"{seen} (> {SAFETY_MAX_EVENT_DAYS}): more reserve"
        max_step = SAFETY_STEP_UP
    elif signal.clean_streak_days >= SAFETY_CLEAN_DAYS:
        target = current - SAFETY_STEP_DOWN
        why = f"{signal.clean_streak_days} clean evenings in a row: less reserve"
        max_step = SAFETY_STEP_DOWN
    else:
        return _hold(
            analyzer,
            current,
            f"{seen} (> {SAFETY_MAX_EVENT_DAYS} raises); clean streak "
            f"{signal.clean_streak_days} of {SAFETY_CLEAN_DAYS} days to lower",
            numbers,
        )
    return _propose(
        analyzer,
        current=current,
        target=target,
        bounds=SAFETY_BOUNDS,
        max_step=max_step,
        reason=why,
        unchanged=f"{why}, but already at the bound",
        signal=numbers,
    )


def analyze_confidence(
    signal: ConfidenceSignal,
    *,
    current: float,
    user_value: float,
    last_change: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> Assessment:
    """Track ``pv_confidence_percent`` to ``user_value x (1 + PV bias)``.

    Parameters
    ----------
    signal : ConfidenceSignal
        The PV bias over 14 days (``None``: too little PV to tell).
    current : float
        ``forecasting.pv_confidence_percent`` now [%].
    user_value : float
        The user's value: what the key held before Reflex's changes of it [%].
    last_change : datetime or None
        When Reflex last changed it (``None``: never).
    now : datetime
        The analysis time, tz-aware.
    tz : tzinfo
        The house's local time (the rate limit's calendar day).

    Returns
    -------
    Assessment
        A step of at most 5 points towards the target, within :data:`CONFIDENCE_BOUNDS`,
        when the target is more than :data:`CONFIDENCE_DEADBAND_PERCENT` away; else a hold.
    """
    analyzer = Analyzer.CONFIDENCE
    key = CONFIG_KEYS[analyzer]
    numbers = {**signal.summary(), "user_value_percent": user_value}
    held = _guard(
        analyzer,
        current=current,
        bounds=CONFIDENCE_BOUNDS,
        last_change=last_change,
        now=now,
        tz=tz,
        signal=numbers,
    )
    if held is not None:
        return held
    bias = signal.bias_frac
    if bias is None:
        return _hold(
            analyzer,
            current,
            f"too little PV to measure a bias: {signal.pv_days} PV day(s) in the window",
            numbers,
        )
    target = user_value * (1.0 + bias)  # clamped to the bounds by _step
    numbers["target_percent"] = round(target, 2)
    shown = round(100 * bias, 1) + 0.0  # no "-0.0"
    what = f"PV {shown:+.1f} % vs forecast: target {target:.1f} % (user {user_value:g} %)"
    if abs(target - current) <= CONFIDENCE_DEADBAND_PERCENT:
        return _hold(analyzer, current, f"{what}: within the deadband", numbers)
    return _propose(
        analyzer,
        current=current,
        target=target,
        bounds=CONFIDENCE_BOUNDS,
        max_step=MAX_CHANGE_PER_DAY[key],
        reason=what,
        unchanged=f"{what}: already at the bound",
        signal=numbers,
    )


def analyze_roi(
    signal: RoiSignal,
    *,
    current: float,
    last_change: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> Assessment:
    """Step ``battery_cycle_cost_kwh`` by the realised profit per cycle vs its wear.

    Parameters
    ----------
    signal : RoiSignal
        The battery's value and cycles (counted since the last change).
    current : float
        ``battery_economics.battery_cycle_cost_kwh`` now [SEK/kWh].
    last_change : datetime or None
        When Reflex last changed it (``None``: never).
    now : datetime
        The analysis time, tz-aware.
    tz : tzinfo
        The house's local time (the rate limit's calendar day).

    Returns
    -------
    Assessment
        +0.05 SEK/kWh when the profit per cycle is below :data:`ROI_LOW_MARGIN` x the wear
        per cycle; -0.05 when it is at least :data:`ROI_HIGH_MARGIN` x with fewer than
        :data:`ROI_IDLE_CYCLES_PER_DAY` cycles a day (within :data:`ROI_BOUNDS`); else a hold.

    Notes
    -----
    The wear charged per cycle is ``current x (charge + discharge) / cycles`` [SEK/cycle],
    so the margin is ``value_sek / (current x throughput_kwh)``.
    """
    analyzer = Analyzer.ROI
    key = CONFIG_KEYS[analyzer]
    numbers = signal.summary()
    held = _guard(
        analyzer,
        current=current,
        bounds=ROI_BOUNDS,
        last_change=last_change,
        now=now,
        tz=tz,
        signal=numbers,
    )
    if held is not None:
        return held
    per_cycle, per_day = signal.profit_per_cycle_sek, signal.cycles_per_day
    if per_cycle is None or per_day is None or signal.full_cycles < ROI_MIN_CYCLES:
        return _hold(
            analyzer,
            current,
            f"{signal.full_cycles:.1f} full cycles since {signal.window_start:%Y-%m-%d} "
            f"({ROI_MIN_CYCLES:g} needed)",
            numbers,
        )
    wear_per_cycle = current * signal.throughput_kwh / signal.full_cycles
    margin = per_cycle / wear_per_cycle
    numbers |= {"wear_per_cycle_sek": round(wear_per_cycle, 3), "margin": round(margin, 3)}
    what = (
        f"{per_cycle:.2f} SEK per cycle vs {wear_per_cycle:.2f} SEK wear "
        f"({margin:.2f}x, {per_day:.2f} cycles/day)"
    )
    if margin < ROI_LOW_MARGIN:
        target, why = current + MAX_CHANGE_PER_DAY[key], f"{what}: cycles do not pay, raise"
    elif margin >= ROI_HIGH_MARGIN and per_day < ROI_IDLE_CYCLES_PER_DAY:
        target, why = current - MAX_CHANGE_PER_DAY[key], f"{what}: idle but paying, lower"
    else:
        return _hold(analyzer, current, what, numbers)
    return _propose(
        analyzer,
        current=current,
        target=target,
        bounds=ROI_BOUNDS,
        max_step=MAX_CHANGE_PER_DAY[key],
        reason=why,
        unchanged=f"{why}, but already at the bound",
        signal=numbers,
    )


def analyze_capacity(
    signal: CapacitySignal,
    *,
    current: float,
    nameplate: float,
    last_change: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> Assessment:
    """Lower ``battery.capacity_kwh`` towards the realised capacity; never raise it.

    Parameters
    ----------
    signal : CapacitySignal
        The realised capacity of deep discharges (``None``: too few).
    current : float
        ``battery.capacity_kwh`` now [kWh].
    nameplate : float
        The user's value before Reflex first lowered it [kWh].
    last_change : datetime or None
        When Reflex last changed it (``None``: never).
    now : datetime
        The analysis time, tz-aware.
    tz : tzinfo
        The house's local time (the rate limit's calendar day).

    Returns
    -------
    Assessment
        A step down of at most :data:`CAPACITY_MAX_STEP_FRAC` x ``nameplate`` towards the
        estimate, within ``[CAPACITY_FLOOR_FRAC x nameplate, min(nameplate, current)]``,
        when the estimate is more than :data:`CAPACITY_DEADBAND_FRAC` below ``current``.
    """
    analyzer = Analyzer.CAPACITY
    numbers = {**signal.summary(), "nameplate_kwh": nameplate}
    bounds = (CAPACITY_FLOOR_FRAC * nameplate, nameplate)
    held = _guard(
        analyzer,
        current=current,
        bounds=bounds,
        last_change=last_change,
        now=now,
        tz=tz,
        signal=numbers,
    )
    if held is not None:
        return held
    estimate = signal.capacity_kwh
    if estimate is None:
        return _hold(
            analyzer,
            current,
            f"{signal.episodes} deep discharge(s) in 30 days, {signal.shallow_episodes} "
            "too shallow: no estimate",
            numbers,
        )
    what = f"realised {estimate:.2f} kWh over {signal.episodes} deep discharges"
    if estimate >= current * (1.0 - CAPACITY_DEADBAND_FRAC):
        return _hold(
            analyzer,
            current,
            f"{what}: not below {current:g} kWh by more than "
            f"{CAPACITY_DEADBAND_FRAC:.0%} (capacity is never raised)",
            numbers,
        )
    if estimate < bounds[0]:
        return _hold(
            analyzer,
            current,
            f"{what}: under {CAPACITY_FLOOR_FRAC:.0%} of the nameplate {nameplate:g} kWh, "
            "implausible; check the SoC sensor and the battery meters",
            numbers,
        )
    return _propose(  # a fade smaller than the rounding holds: nothing to write
        analyzer,
        current=current,
        target=estimate,
        bounds=(bounds[0], min(nameplate, current)),
        max_step=CAPACITY_MAX_STEP_FRAC * nameplate,
        reason=what,
        unchanged=f"{what}: below rounding",
        signal=numbers,
    )
