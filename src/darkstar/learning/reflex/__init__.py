"""Aurora Reflex: bounded, audited tuning of four config keys from measured drift (DESIGN §5).

Four analyzers read the learning store and propose changes of one key each:

* **safety** -- evening (16-20 h) low-SoC days over 30 days -> ``s_index.base_factor``
  (1.0-1.3);
* **confidence** -- PV bias vs the forecast as issued over 14 days ->
  ``forecasting.pv_confidence_percent`` (80-100);
* **roi** -- arbitrage profit per full cycle over 30 days ->
  ``battery_economics.battery_cycle_cost_kwh`` (0.1-0.5);
* **capacity** -- discharged kWh / SoC lost over 30 days -> ``battery.capacity_kwh``
  (only down, never above the nameplate).

:mod:`~darkstar.learning.reflex.signals` measures, :mod:`~darkstar.learning.reflex.analyzers`
decides (pure rules, hard bounds, a maximum change per day), and
:mod:`~darkstar.learning.reflex.runner` logs every proposal and applied change in the
strategy log and writes changes through the comment-preserving config writer.
"""

from __future__ import annotations

from darkstar.learning.reflex.analyzers import (
    CONFIG_KEYS,
    MAX_CHANGE_PER_DAY,
    Analyzer,
    Assessment,
    analyze_capacity,
    analyze_confidence,
    analyze_roi,
    analyze_safety,
)
from darkstar.learning.reflex.runner import (
    ReflexReport,
    assess_reflex,
    describe_signal,
    run_reflex,
)
from darkstar.learning.reflex.signals import (
    CapacitySignal,
    ConfidenceSignal,
    RoiSignal,
    SafetySignal,
    read_capacity_signal,
    read_confidence_signal,
    read_roi_signal,
    read_safety_signal,
)

__all__ = [
    "CONFIG_KEYS",
    "MAX_CHANGE_PER_DAY",
    "Analyzer",
    "Assessment",
    "CapacitySignal",
    "ConfidenceSignal",
    "ReflexReport",
    "RoiSignal",
    "SafetySignal",
    "analyze_capacity",
    "analyze_confidence",
    "analyze_roi",
    "analyze_safety",
    "assess_reflex",
    "describe_signal",
    "read_capacity_signal",
    "read_confidence_signal",
    "read_roi_signal",
    "read_safety_signal",
    "run_reflex",
]
