"""The Strategy Engine: named rules from context to solver overrides (mode ``full`` only).

Each rule reads the plan's context (its prices, the S-Index risk of the coming days, the
vacation switch, the load forecast's spread, the grid's fuse) and may override one solver
parameter. The rules run in this order, each seeing the values the ones before it set:

``flat_prices`` (wear)
    When the horizon's import prices are flat -- P90 - P10 below
    ``strategy.flat_spread_sek_per_kwh`` -- the wear cost is multiplied by
    ``strategy.flat_wear_factor``: the gains of cycling are small and forecast errors can
    turn them into losses.
``calm_prices`` (ramping)
    When prices change little from slot to slot -- mean ``|price change|`` below
    ``strategy.calm_step_sek_per_kwh`` -- the ramping cost is raised to at least
    ``strategy.calm_ramping_cost_sek_per_kw``: nothing is gained by moving battery power
    around, steady power means fewer inverter writes.
``weather_risk`` (export threshold)
    When the S-Index risk of day 2-3 is at least ``strategy.weather_risk_min``, the export
    threshold rises by ``strategy.weather_risk_export_premium_sek_per_kwh``: energy is kept
    for dark or cold days unless exporting pays clearly.
``vacation`` (export threshold)
    On vacation (``water_heating.vacation_mode.enabled``) the export threshold is 0:
    nobody at home relies on the stored energy.
``fuse_headroom`` (import limit)
    With the load's P90 in every slot, the import limit is lowered to the fuse minus the
    largest P90 - P50 gap [kW], so that load above the forecast does not trip the fuse
    while the plan imports at full power; never below the highest P90 load (so the rule
    never makes the plan shed forecast load).

A rule that is switched off (``strategy.<rule>: false``) or whose condition does not hold
changes nothing and leaves no decision. :func:`run_engine` returns the overrides and a
:class:`Decision` per change, with its inputs and the values before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from darkstar.config.models import DarkstarConfig
    from darkstar.planner.inputs.types import PlannerInput

__all__ = [
    "RULES",
    "Decision",
    "EngineResult",
    "SolverOverrides",
    "run_engine",
]

#: The rules in the order they run.
RULES = ("flat_prices", "calm_prices", "weather_risk", "vacation", "fuse_headroom")


@dataclass(frozen=True, kw_only=True)
class SolverOverrides:
    """Solver parameters set by the Strategy Engine (None: the configured value)."""

    cycle_cost_sek_per_kwh: float | None = None
    ramping_cost_sek_per_kw: float | None = None
    export_threshold_sek_per_kwh: float | None = None
    import_limit_kw: float | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One rule's change of one solver parameter, and why."""

    rule: str
    parameter: str
    before: float | None
    after: float
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``meta.strategy_engine.decisions``)."""
        return {
            "rule": self.rule,
            "parameter": self.parameter,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "inputs": self.inputs,
        }


@dataclass(frozen=True, kw_only=True)
class EngineResult:
    """The overrides of one plan and the decisions behind them."""

    overrides: SolverOverrides
    decisions: tuple[Decision, ...]
    enabled_rules: tuple[str, ...]

    def meta(self) -> dict[str, Any]:
        """Return the ``meta.strategy_engine`` section of ``schedule.json``."""
        return {
            "enabled_rules": list(self.enabled_rules),
            "decisions": [d.to_dict() for d in self.decisions],
        }


def _r(value: float) -> float:
    return round(float(value), 6)


def run_engine(pin: PlannerInput, cfg: DarkstarConfig, *, risk: float | None) -> EngineResult:
    """Run the enabled rules on a plan's context.

    ``risk`` is the S-Index risk of day 2-3 from the weather (None: not measured -- mode
    ``static``, or no whole day 2 or 3 in the horizon; the weather-risk rule is then off).

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> from darkstar.config.models import DarkstarConfig
    >>> from darkstar.planner.inputs.types import PlannerInput, PlannerState, SlotData
    >>> t0 = datetime(2026, 3, 1, tzinfo=UTC)
    >>> slots = tuple(SlotData(start=t0 + timedelta(hours=i), import_price_sek_per_kwh=1.0,
    ...     export_price_sek_per_kwh=0.5, pv_forecast_kwh=0.0, load_forecast_kwh=0.5)
    ...     for i in range(4))
    >>> pin = PlannerInput(timezone=ZoneInfo("Europe/Stockholm"), slots=slots,
    ...     slot_duration=timedelta(hours=1), state=PlannerState(soc_percent=50))
    >>> cfg = DarkstarConfig.model_validate({"strategy": {"flat_prices": True,
    ...                                                   "calm_prices": True}})
    >>> [(d.rule, d.parameter, d.before, d.after)
    ...  for d in run_engine(pin, cfg, risk=None).decisions]
    [('flat_prices', 'cycle_cost_sek_per_kwh', 0.2, 0.3), ('calm_prices', \
'ramping_cost_sek_per_kw', 0.0, 0.01)]
    """
    s = cfg.strategy
    enabled = tuple(rule for rule in RULES if getattr(s, rule))
    prices = pin.column("import_price_sek_per_kwh")
    wear = cfg.battery_economics.battery_cycle_cost_kwh
    ramping = cfg.kepler.ramping_cost_sek_per_kw
    threshold = cfg.kepler.export_threshold_sek_per_kwh
    fuse = cfg.grid.max_power_kw
    limit = cfg.grid.import_limit_kw
    decisions: list[Decision] = []

    def decide(rule: str, parameter: str, before: float | None, after: float, **kw: Any) -> None:
        if before is not None and _r(after) == _r(before):
            return
        decisions.append(
            Decision(
                rule=rule,
                parameter=parameter,
                before=None if before is None else _r(before),
                after=_r(after),
                **kw,
            )
        )

    if s.flat_prices and cfg.system.has_battery:
        spread = float(np.percentile(prices, 90) - np.percentile(prices, 10))
        if spread < s.flat_spread_sek_per_kwh:
            new = wear * s.flat_wear_factor
            decide(
                "flat_prices",
                "cycle_cost_sek_per_kwh",
                wear,
                new,
                reason=f"import price P90 - P10 {spread:.3f} < "
                f"{s.flat_spread_sek_per_kwh:g} SEK/kWh",
                inputs={"spread_sek_per_kwh": _r(spread)},
            )
            wear = new
    if s.calm_prices and cfg.system.has_battery and len(prices) > 1:
        step = float(np.mean(np.abs(np.diff(prices))))
        if step < s.calm_step_sek_per_kwh and ramping < s.calm_ramping_cost_sek_per_kw:
            decide(
                "calm_prices",
                "ramping_cost_sek_per_kw",
                ramping,
                s.calm_ramping_cost_sek_per_kw,
                reason=f"mean price step {step:.4f} < {s.calm_step_sek_per_kwh:g} SEK/kWh",
                inputs={"mean_step_sek_per_kwh": _r(step)},
            )
            ramping = s.calm_ramping_cost_sek_per_kw
    if s.weather_risk and risk is not None and risk >= s.weather_risk_min:
        new = threshold + s.weather_risk_export_premium_sek_per_kwh
        decide(
            "weather_risk",
            "export_threshold_sek_per_kwh",
            threshold,
            new,
            reason=f"day 2-3 risk {risk:.3f} >= {s.weather_risk_min:g}",
            inputs={"risk": _r(risk)},
        )
        threshold = new
    if s.vacation and cfg.water_heating.vacation_mode.enabled and threshold > 0:
        decide(
            "vacation",
            "export_threshold_sek_per_kwh",
            threshold,
            0.0,
            reason="vacation mode is on",
            inputs={"vacation": True},
        )
        threshold = 0.0
    if s.fuse_headroom:
        p50 = pin.column("load_forecast_kwh") / pin.slot_h
        p90 = pin.column("load_p90_kwh") / pin.slot_h
        if np.all(np.isfinite(p90)):
            gap = float(np.max(p90 - p50))
            current = fuse if limit is None else min(limit, fuse)
            new = max(fuse - gap, float(np.max(p90)))
            if gap > 0 and new < current:
                decide(
                    "fuse_headroom",
                    "import_limit_kw",
                    limit,
                    new,
                    reason=f"load P90 up to {gap:.2f} kW above P50; fuse {fuse:g} kW",
                    inputs={"gap_kw": _r(gap), "fuse_kw": fuse, "p90_peak_kw": _r(np.max(p90))},
                )
                limit = new
    changed = {d.parameter for d in decisions}
    return EngineResult(
        overrides=SolverOverrides(
            cycle_cost_sek_per_kwh=wear if "cycle_cost_sek_per_kwh" in changed else None,
            ramping_cost_sek_per_kw=ramping if "ramping_cost_sek_per_kw" in changed else None,
            export_threshold_sek_per_kwh=threshold
            if "export_threshold_sek_per_kwh" in changed
            else None,
            import_limit_kw=limit if "import_limit_kw" in changed else None,
        ),
        decisions=tuple(decisions),
        enabled_rules=enabled,
    )
