"""Typed inputs and results of the Kepler optimiser.

Specs are frozen dataclasses with units in field names; arrays are per slot, indexed
``0..n-1``; powers are slot averages in kW, energies in kWh, prices in SEK/kWh.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.model import SolvedModel

__all__ = [
    "BatterySpec",
    "CapacityTariffSpec",
    "EvSpec",
    "ExportCommitment",
    "GridSpec",
    "KeplerInput",
    "KeplerResult",
    "ManualOverrides",
    "PlanArrays",
    "PlanStatus",
    "SocTarget",
    "SolverOptions",
    "SolverReport",
    "WaterDay",
    "WaterSpec",
]


class PlanStatus(StrEnum):
    """Outcome of a planning run."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    FALLBACK = "fallback"


@dataclass(frozen=True, kw_only=True)
class BatterySpec:
    """Battery ratings and state, in energy units (kWh), not percent."""

    capacity_kwh: float
    min_soc_kwh: float
    max_soc_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    initial_soc_kwh: float
    cycle_cost_sek_per_kwh: float

    def __post_init__(self) -> None:
        if not 0 <= self.min_soc_kwh < self.max_soc_kwh <= self.capacity_kwh + 1e-9:
            msg = "BatterySpec needs 0 <= min_soc_kwh < max_soc_kwh <= capacity_kwh"
            raise ValueError(msg)
        if self.initial_soc_kwh < 0:
            msg = "BatterySpec.initial_soc_kwh must be >= 0"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class GridSpec:
    """Grid connection: fuse, peak-shaving cap, export permission."""

    max_power_kw: float
    import_limit_kw: float | None = None
    export_enabled: bool = True

    @property
    def import_cap_kw(self) -> float:
        """Effective hard cap on import [kW]."""
        if self.import_limit_kw is None:
            return self.max_power_kw
        return min(self.max_power_kw, self.import_limit_kw)


@dataclass(frozen=True, kw_only=True)
class WaterDay:
    """A water day: the quota to heat within slots ``[first_slot, end_slot)``."""

    label: str
    first_slot: int
    end_slot: int
    required_kwh: float
    max_kwh: float | None = None


@dataclass(frozen=True, kw_only=True)
class WaterSpec:
    """The water heater as a deferrable on/off load."""

    power_kw: float
    days: tuple[WaterDay, ...]
    shortfall_penalty_sek_per_kwh: float
    block_start_penalty_sek: float = 0.0
    comfort_window_slots: int | None = None
    comfort_gap_penalty_sek: float = 0.0
    spacing_slots: int = 0
    decision_group: tuple[int, ...] | None = None
    """Per slot, the id of its switching group (slots of one group switch together);
    None = every slot decides on its own."""


@dataclass(frozen=True, kw_only=True)
class SocTarget:
    """Soft floor on the SoC at the end of one slot."""

    slot: int
    soc_kwh: float
    penalty_sek_per_kwh: float


@dataclass(frozen=True, kw_only=True)
class ExportCommitment:
    """Export at least ``energy_kwh`` to the grid within slots ``[first_slot, end_slot)``.

    A soft commitment: what the fuse, battery and PV cannot deliver is left as a priced
    shortfall (see :func:`darkstar.planner.solver.kepler.add_export_commitment_constraints`).
    """

    first_slot: int
    end_slot: int
    energy_kwh: float

    def __post_init__(self) -> None:
        if not 0 <= self.first_slot < self.end_slot:
            msg = (
                "ExportCommitment needs 0 <= first_slot < end_slot, "
                f"got [{self.first_slot}, {self.end_slot})"
            )
            raise ValueError(msg)
        if not (np.isfinite(self.energy_kwh) and self.energy_kwh >= 0):
            msg = f"ExportCommitment.energy_kwh must be finite and >= 0, got {self.energy_kwh}"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class ManualOverrides:
    """Per-slot battery overrides from the user's manual blocks.

    Built by :func:`darkstar.planner.strategy.manual_plan.to_manual_overrides`; honoured by
    :func:`darkstar.planner.solver.kepler.add_battery_constraints` (the bounds) and
    :func:`darkstar.planner.solver.manual.add_manual_constraints` (the soft rows).

    Attributes
    ----------
    max_charge_kw, max_discharge_kw : NDArray[np.float64]
        Per slot, an upper bound on battery charge / discharge [kW]; ``inf`` = no override.
        ``0`` in both is a hold slot.
    forced_direction : NDArray[np.int8]
        Per slot, ``+1``: charge as much as the battery can, ``-1``: discharge as much as
        the load and export can take, ``0``: no push (free slot or hold). Each maximal run
        of equal non-zero values is one window with one soft target.
    """

    max_charge_kw: NDArray[np.float64]
    max_discharge_kw: NDArray[np.float64]
    forced_direction: NDArray[np.int8]

    def __post_init__(self) -> None:
        n = len(self.forced_direction)
        for name in ("max_charge_kw", "max_discharge_kw"):
            arr = getattr(self, name)
            if len(arr) != n:
                msg = f"ManualOverrides.{name} has {len(arr)} slots, expected {n}"
                raise ValueError(msg)
            if np.any(np.isnan(arr)) or np.any(arr < 0):
                msg = f"ManualOverrides.{name} must be >= 0 (inf = no override), not NaN"
                raise ValueError(msg)
        if not np.all(np.isin(self.forced_direction, (-1, 0, 1))):
            msg = "ManualOverrides.forced_direction must be -1, 0 or +1 in every slot"
            raise ValueError(msg)

    @property
    def manual_slots(self) -> NDArray[np.bool_]:
        """True in every slot some manual block overrides."""
        bounded = np.isfinite(self.max_charge_kw) | np.isfinite(self.max_discharge_kw)
        return np.asarray(bounded | (self.forced_direction != 0), dtype=np.bool_)

    def windows(self, direction: int) -> list[tuple[int, int]]:
        """Maximal runs ``[first_slot, end_slot)`` whose forced direction is ``direction``."""
        inside = np.r_[False, self.forced_direction == direction, False].astype(np.int8)
        edges = np.flatnonzero(np.diff(inside))
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def bounds_only(self) -> ManualOverrides:
        """Return the same bounds without the soft targets (for the violation-minimum LPs)."""
        return replace(self, forced_direction=np.zeros_like(self.forced_direction))


@dataclass(frozen=True, kw_only=True)
class CapacityTariffSpec:
    """The month's billed import peak (:mod:`~darkstar.planner.solver.capacity`), indexed.

    ``slot_hour[t]``: the local clock hour slot t belongs to; ``hour_weight[k]``: that
    hour's weight; ``hour_value[k]``: the peak value it feeds (its day with distinct days,
    else itself; -1 outside the tariff's months); ``value_month[j]``: the month group of
    value j (0 = the horizon's first month); ``existing_kw[g]``: the counted peaks of month
    group g measured before the horizon (only group 0 has any).
    """

    fee_sek_per_kw: float
    peaks_counted: int
    slot_hour: NDArray[np.int64]
    hour_weight: NDArray[np.float64]
    hour_value: NDArray[np.int64]
    value_month: NDArray[np.int64]
    existing_kw: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, kw_only=True)
class EvSpec:
    """The electric car as a second store the plan may charge (never discharge).

    ``available[t]``: the car is plugged in and still home for the whole slot t. The SoC at
    the end of slot ``target_slot`` should reach ``target_kwh`` (a soft constraint: what
    cannot be reached is a shortfall); ``target_slot`` None means no slot ends before the
    departure, so nothing can be charged for it.
    """

    capacity_kwh: float
    initial_soc_kwh: float
    max_charge_kw: float
    min_charge_kw: float
    charge_efficiency: float
    available: NDArray[np.bool_]
    target_kwh: float
    target_slot: int | None


@dataclass(frozen=True, kw_only=True)
class SolverOptions:
    """Solver limits and economic knobs."""

    time_limit_s: float = 10.0
    mip_gap: float = 0.0001
    ramping_cost_sek_per_kw: float = 0.0
    export_threshold_sek_per_kwh: float = 0.0
    terminal_value_sek_per_kwh: float = 0.0


@dataclass(frozen=True, kw_only=True)
class KeplerInput:
    """One optimisation problem: arrays per slot plus device specs."""

    slot_h: float
    import_price_sek_per_kwh: NDArray[np.float64]
    export_price_sek_per_kwh: NDArray[np.float64]
    pv_kwh: NDArray[np.float64]
    load_kwh: NDArray[np.float64]
    grid: GridSpec
    battery: BatterySpec | None = None
    water: WaterSpec | None = None
    soc_target: SocTarget | None = None
    options: SolverOptions = field(default_factory=SolverOptions)
    export_commitment: ExportCommitment | None = None
    manual: ManualOverrides | None = None
    """Per-slot overrides from manual blocks; None = none (the model is unchanged)."""
    ev: EvSpec | None = None
    """The electric car; None = no car in this plan."""
    capacity_tariff: CapacityTariffSpec | None = None
    """The month's billed peak; None = no capacity tariff."""

    def __post_init__(self) -> None:
        n = len(self.import_price_sek_per_kwh)
        for name in ("export_price_sek_per_kwh", "pv_kwh", "load_kwh"):
            arr = getattr(self, name)
            if len(arr) != n:
                msg = f"KeplerInput.{name} has {len(arr)} slots, expected {n}"
                raise ValueError(msg)
            if not np.all(np.isfinite(arr)):
                msg = f"KeplerInput.{name} contains NaN or inf"
                raise ValueError(msg)
        if not np.all(np.isfinite(self.import_price_sek_per_kwh)):
            msg = "KeplerInput.import_price_sek_per_kwh contains NaN or inf"
            raise ValueError(msg)
        commitment = self.export_commitment
        if commitment is not None and commitment.end_slot > n:
            msg = f"KeplerInput.export_commitment ends at slot {commitment.end_slot}, after {n}"
            raise ValueError(msg)
        if self.ev is not None and len(self.ev.available) != n:
            msg = f"KeplerInput.ev.available has {len(self.ev.available)} slots, expected {n}"
            raise ValueError(msg)
        if self.manual is not None and len(self.manual.forced_direction) != n:
            msg = f"KeplerInput.manual has {len(self.manual.forced_direction)} slots, expected {n}"
            raise ValueError(msg)

    @property
    def n_slots(self) -> int:
        """Number of slots."""
        return len(self.import_price_sek_per_kwh)


@dataclass(frozen=True, kw_only=True)
class PlanArrays:
    """A plan as per-slot arrays (powers are slot averages, SoC at slot end)."""

    battery_charge_kw: NDArray[np.float64]
    battery_discharge_kw: NDArray[np.float64]
    grid_import_kw: NDArray[np.float64]
    grid_export_kw: NDArray[np.float64]
    pv_curtailment_kw: NDArray[np.float64]
    load_shedding_kw: NDArray[np.float64]
    water_heating_kw: NDArray[np.float64]
    soc_kwh: NDArray[np.float64]
    ev_charge_kw: NDArray[np.float64] | None = None
    """AC power into the car; None without a car."""
    ev_soc_kwh: NDArray[np.float64] | None = None
    """The car's SoC at each slot's end; None without a car."""


@dataclass(frozen=True, kw_only=True)
class SolverReport:
    """How the solve went."""

    solver: str
    termination: str
    solve_time_ms: float
    mip_gap: float
    n_variables: int
    n_constraints: int
    n_binaries: int
    n_solves: int = 1


@dataclass(frozen=True, kw_only=True)
class KeplerResult:
    """Typed result of :func:`darkstar.planner.solver.kepler.solve_kepler`."""

    status: PlanStatus
    plan: PlanArrays
    objective_sek: float
    report: SolverReport
    warnings: tuple[str, ...] = ()
    fallback_reason: str | None = None
    solved: SolvedModel | None = field(default=None, repr=False, compare=False)
    """The final model and its solution (Kepler only; for the debug view)."""

    @property
    def is_ok(self) -> bool:
        """True when the plan came from the optimiser (optimal or feasible)."""
        return self.status is not PlanStatus.FALLBACK
