"""Translate the planner input and configuration into one :class:`KeplerInput`.

This is where percentages become kWh, config sections become frozen specs, and the
mode (``full`` or ``baseline``) decides which strategy layers reach the solver.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from darkstar.physics.capacity import hour_key
from darkstar.planner.scheduling.water_heating import build_water_spec
from darkstar.planner.solver.types import (
    BatterySpec,
    CapacityTariffSpec,
    EvSpec,
    GridSpec,
    KeplerInput,
    SocTarget,
    SolverOptions,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.config.models import DarkstarConfig
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.strategy.engine import SolverOverrides

__all__ = [
    "TARGET_SOC_PENALTY_MARGIN_SEK_PER_KWH",
    "battery_spec",
    "capacity_tariff_spec",
    "ev_spec",
    "to_kepler_input",
]

#: Missing target SoC costs the highest import price plus this per kWh: the floor is met
#: whenever the battery can reach it, at any price in the horizon.
TARGET_SOC_PENALTY_MARGIN_SEK_PER_KWH = 1.0


def battery_spec(pin: PlannerInput, cfg: DarkstarConfig) -> BatterySpec | None:
    """Return the battery spec in kWh, or None when the house has no battery."""
    if not cfg.system.has_battery:
        return None
    b = cfg.battery
    return BatterySpec(
        capacity_kwh=b.capacity_kwh,
        min_soc_kwh=b.capacity_kwh * b.min_soc_percent / 100.0,
        max_soc_kwh=b.capacity_kwh * b.max_soc_percent / 100.0,
        max_charge_kw=b.max_charge_kw,
        max_discharge_kw=b.max_discharge_kw,
        charge_efficiency=b.charge_efficiency,
        discharge_efficiency=b.discharge_efficiency,
        initial_soc_kwh=b.capacity_kwh * pin.state.soc_percent / 100.0,
        cycle_cost_sek_per_kwh=cfg.battery_economics.battery_cycle_cost_kwh,
    )


def ev_spec(pin: PlannerInput, cfg: DarkstarConfig) -> EvSpec | None:
    """Return the car's spec from ``state.ev`` and ``config.ev``; None without a car state.

    The car may charge in every slot that ends by its departure while it is plugged in.
    Its target applies at the end of the last such slot; with no departure, or one after
    the horizon, at the horizon's end (later prices are not known).
    """
    state = pin.state.ev
    if state is None:
        return None
    c = cfg.ev
    ends = np.array([s.start + pin.slot_duration for s in pin.slots])
    home = np.ones(pin.n_slots, dtype=bool) if state.departure is None else ends <= state.departure
    available = home & state.plugged_in
    last_home = np.flatnonzero(home)
    return EvSpec(
        capacity_kwh=c.capacity_kwh,
        initial_soc_kwh=c.capacity_kwh * state.soc_percent / 100.0,
        max_charge_kw=c.max_charge_kw,
        min_charge_kw=c.min_charge_kw,
        charge_efficiency=c.charge_efficiency,
        available=available,
        target_kwh=c.capacity_kwh * state.target_soc_percent / 100.0,
        target_slot=int(last_home[-1]) if len(last_home) else None,
    )


def capacity_tariff_spec(pin: PlannerInput, cfg: DarkstarConfig) -> CapacityTariffSpec | None:
    """Index the horizon's clock hours, days and months for the capacity tariff."""
    tariff = cfg.grid.capacity_tariff
    if tariff.sek_per_kw_month <= 0:
        return None
    slot_hour = np.zeros(pin.n_slots, dtype=np.int64)
    hour_keys: list[tuple[int, int, int, int]] = []  # (year, month, day, hour) local
    for t, slot in enumerate(pin.slots):
        key = hour_key(slot.start, pin.timezone)  # the same hours the bill counts
        if not hour_keys or hour_keys[-1] != key:
            hour_keys.append(key)
        slot_hour[t] = len(hour_keys) - 1
    months = list(dict.fromkeys((y, m) for y, m, _, _ in hour_keys))
    value_keys: dict[tuple[int, int, int, int], int] = {}  # value key -> its index
    hour_value = np.full(len(hour_keys), -1, dtype=np.int64)
    hour_weight = np.zeros(len(hour_keys))
    for k, (y, m, d, h) in enumerate(hour_keys):
        hour_weight[k] = tariff.weight_at_hour(h // 100)
        if m not in tariff.months or hour_weight[k] <= 0:
            continue
        vkey = (y, m, d, -1) if tariff.distinct_days else (y, m, d, h)
        hour_value[k] = value_keys.setdefault(vkey, len(value_keys))
    month_index = {month: g for g, month in enumerate(months)}
    value_month = np.array([month_index[y, m] for y, m, _, _ in value_keys], dtype=np.int64)
    first_month_billed = months[0][1] in tariff.months
    existing = tuple(pin.state.month_peaks_kw) if first_month_billed else ()
    return CapacityTariffSpec(
        fee_sek_per_kw=tariff.sek_per_kw_month,
        peaks_counted=tariff.peaks_counted,
        slot_hour=slot_hour,
        hour_weight=hour_weight,
        hour_value=hour_value,
        value_month=value_month,
        existing_kw=(existing, *(() for _ in months[1:])),
    )


def to_kepler_input(
    pin: PlannerInput,
    cfg: DarkstarConfig,
    *,
    pv_kwh: NDArray[np.float64],
    load_kwh: NDArray[np.float64],
    soc_target: tuple[int, float] | None = None,
    overrides: SolverOverrides | None = None,
) -> KeplerInput:
    """Build the solver input; ``soc_target`` is (slot index, SoC percent) or None.

    ``overrides`` (the Strategy Engine's) replace the configured wear cost, ramping cost,
    export threshold and import limit where they are set.
    """
    import_price = pin.column("import_price_sek_per_kwh")
    battery = battery_spec(pin, cfg)
    o = overrides
    if battery is not None and o is not None and o.cycle_cost_sek_per_kwh is not None:
        battery = replace(battery, cycle_cost_sek_per_kwh=o.cycle_cost_sek_per_kwh)
    water = None
    if cfg.system.has_water_heater:
        water = build_water_spec(
            pin, cfg.water_heating, max_import_price_sek_per_kwh=float(np.max(import_price))
        )
    target = None
    if soc_target is not None and battery is not None:
        slot, percent = soc_target
        target = SocTarget(
            slot=slot,
            soc_kwh=battery.capacity_kwh * percent / 100.0,
            penalty_sek_per_kwh=max(0.0, float(np.max(import_price)))
            + TARGET_SOC_PENALTY_MARGIN_SEK_PER_KWH,
        )
    k = cfg.kepler
    return KeplerInput(
        slot_h=pin.slot_h,
        import_price_sek_per_kwh=import_price,
        export_price_sek_per_kwh=pin.column("export_price_sek_per_kwh"),
        pv_kwh=pv_kwh,
        load_kwh=load_kwh,
        grid=GridSpec(
            max_power_kw=cfg.grid.max_power_kw,
            import_limit_kw=cfg.grid.import_limit_kw
            if o is None or o.import_limit_kw is None
            else o.import_limit_kw,
            export_enabled=cfg.export.enable_export,
        ),
        battery=battery,
        water=water,
        soc_target=target,
        ev=ev_spec(pin, cfg),
        capacity_tariff=capacity_tariff_spec(pin, cfg),
        options=SolverOptions(
            time_limit_s=k.time_limit_s,
            mip_gap=k.mip_gap,
            ramping_cost_sek_per_kw=k.ramping_cost_sek_per_kw
            if o is None or o.ramping_cost_sek_per_kw is None
            else o.ramping_cost_sek_per_kw,
            export_threshold_sek_per_kwh=k.export_threshold_sek_per_kwh
            if o is None or o.export_threshold_sek_per_kwh is None
            else o.export_threshold_sek_per_kwh,
            terminal_value_sek_per_kwh=k.terminal_value_sek_per_kwh,
        ),
    )
