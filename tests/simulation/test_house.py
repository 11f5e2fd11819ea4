"""Tests of the simulated home: energy bookkeeping, tank physics, inverter modes, HA interface.

Hand calculations use a 200 L tank: C = 200 kg x 4186 J/(kg K) = 837 200 J/K
= 0.232556 kWh/K, so 3 kW for 1 h raises it by 10.8 MJ / 837 200 J/K = 12.9001 K.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkstar.errors import InputError
from darkstar.physics.battery import soc_after_slot_kwh
from darkstar.simulation.entities import (
    COUNTER_FLOWS,
    EV_ENTITIES,
    SIM_ENTITY_MAP,
    EntityState,
    InverterMode,
    SimEntity,
)
from darkstar.simulation.house import (
    BatterySimSpec,
    EvSpec,
    GridSpec,
    HouseSpec,
    SimulatedHouse,
    StepResult,
    WaterTankSpec,
)
from darkstar.simulation.inverter import InverterSettings, battery_limits_kw, dispatch
from darkstar.simulation.tank import tank_heat_capacity_kwh_per_k

START = datetime(2025, 6, 1, 12, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
C_200L_KWH_PER_K = 200 * 4186 / 3.6e6
FLOW_NAMES = [name for name in StepResult.__dataclass_fields__ if name.endswith("_kwh")][:10]


# ----------------------------------------------------------------------------- helpers
def battery_spec(**overrides: float) -> BatterySimSpec:
    values = {
        "capacity_kwh": 10.0,
        "min_soc_percent": 10.0,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
        "charge_efficiency": 0.95,
        "discharge_efficiency": 0.95,
        "initial_soc_percent": 50.0,
    }
    return BatterySimSpec(**(values | overrides))


def tank_spec(**overrides: float) -> WaterTankSpec:
    """A 200 L, 3 kW tank whose thermostat never heats unless a test says so."""
    values = {"volume_l": 200.0, "heater_power_kw": 3.0, "initial_temp_c": 50.0}
    return WaterTankSpec(**(values | {"initial_setpoint_c": 10.0} | overrides))


def make_house(
    *,
    battery: BatterySimSpec | None = None,
    tank: WaterTankSpec | None = None,
    fuse_kw: float = 11.0,
    ev: EvSpec | None = None,
) -> SimulatedHouse:
    spec = HouseSpec(
        battery=battery or battery_spec(),
        tank=tank or tank_spec(),
        grid=GridSpec(fuse_kw=fuse_kw),
        ev=ev,
    )
    return SimulatedHouse(spec, start=START)


def call(house: SimulatedHouse, domain: str, service: str, entity: str, **fields: Any) -> None:
    house.call_service(domain, service, {"entity_id": entity, **fields})


def set_mode(house: SimulatedHouse, mode: InverterMode) -> None:
    call(house, "select", "select_option", SimEntity.INVERTER_MODE, option=mode.value)


def set_number(house: SimulatedHouse, entity: SimEntity, value: float | str) -> None:
    domain = entity.domain
    field = "temperature" if domain == "water_heater" else "value"
    service = "set_temperature" if domain == "water_heater" else "set_value"
    call(house, domain, service, entity, **{field: value})


def switch(house: SimulatedHouse, entity: SimEntity, *, on: bool) -> None:
    call(house, "switch", "turn_on" if on else "turn_off", entity)


def balance_residual_kwh(r: StepResult) -> float:
    supply = r.pv_used_kwh + r.battery_discharge_kwh + r.grid_import_kwh
    use = (
        r.load_served_kwh
        + r.water_heater_kwh
        + r.ev_charge_kwh
        + r.battery_charge_kwh
        + r.grid_export_kwh
    )
    return supply - use


def state(house: SimulatedHouse, entity: SimEntity) -> str:
    return house.get_state(entity).state


# ----------------------------------------------------------------------------- long run
def _random_controls(house: SimulatedHouse, rng: random.Random, modes_used: set[str]) -> None:
    action = rng.randrange(8)
    if action <= 1:
        mode = rng.choice(list(InverterMode))
        set_mode(house, mode)
        modes_used.add(mode)
    elif action == 2:
        set_number(house, SimEntity.BATTERY_CHARGE_POWER, rng.uniform(0, 5000))
    elif action == 3:
        set_number(house, SimEntity.BATTERY_DISCHARGE_POWER, rng.uniform(0, 5000))
    elif action == 4:
        set_number(house, SimEntity.SOC_TARGET, rng.uniform(10, 100))
    elif action == 5:
        switch(house, SimEntity.GRID_CHARGING, on=rng.random() < 0.5)
    elif action == 6:
        set_number(house, SimEntity.WATER_HEATER, rng.uniform(40, 85))
    else:
        switch(house, SimEntity.EV_CHARGER, on=rng.random() < 0.6)
        set_number(house, SimEntity.EV_CHARGE_POWER, rng.uniform(1400, 7400))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_two_day_random_run_conserves_energy(seed: int) -> None:
    rng = random.Random(seed)
    battery = battery_spec(charge_efficiency=0.94, discharge_efficiency=0.96)
    tank = WaterTankSpec(volume_l=200.0, heater_power_kw=3.0, initial_temp_c=45.0)
    ev = EvSpec(capacity_kwh=40.0, max_charge_kw=7.4, initial_soc_percent=60.0)
    house = make_house(battery=battery, tank=tank, fuse_kw=8.0, ev=ev)
    soc0, temp0, ev0 = house.soc_kwh, house.water_temp_c, house.ev_soc_kwh
    assert ev0 is not None
    step = timedelta(minutes=5)
    results: list[StepResult] = []
    modes_used: set[str] = set()
    for k in range(2 * 24 * 12):
        if rng.random() < 0.3:
            _random_controls(house, rng, modes_used)
        hour = (k * 5 / 60) % 24
        pv_kw = max(0.0, 16.0 * math.sin(math.pi * (hour - 6) / 12)) * rng.uniform(0.4, 1.1)
        load_kw = rng.uniform(0.2, 3.0) + (9.0 if rng.random() < 0.05 else 0.0)
        plugged = house.get_state(SimEntity.EV_PLUGGED).state == "on"
        plug_change = rng.random() < (0.03 if plugged else 0.08)
        now_plugged = plugged != plug_change
        trip_kwh = rng.uniform(0, 6) if not now_plugged and rng.random() < 0.2 else 0.0
        result = house.step(
            duration=step,
            pv_kw=pv_kw,
            load_kw=load_kw,
            hot_water_draw_l=rng.uniform(0, 60) if rng.random() < 0.1 else 0.0,
            ev_trip_kwh=trip_kwh,
            ev_plugged=now_plugged if plug_change else None,
        )
        results.append(result)
        h = step.total_seconds() / 3600
        assert abs(balance_residual_kwh(result)) < 1e-9
        assert result.pv_used_kwh + result.pv_curtailed_kwh == pytest.approx(pv_kw * h, abs=1e-9)
        assert result.load_served_kwh <= load_kw * h + 1e-9
        for name in FLOW_NAMES:
            assert getattr(result, name) >= -1e-12, name
        assert result.grid_import_kwh <= 8.0 * h + 1e-9
        assert result.grid_export_kwh <= 8.0 * h + 1e-9
        assert 1.0 - 1e-9 <= house.soc_kwh <= 10.0 + 1e-9
        assert 0.0 <= float(state(house, SimEntity.BATTERY_SOC)) <= 100.0
        assert house.water_temp_c <= 85.0 + 1e-9

    # the run exercised every mode, shedding and curtailment
    assert modes_used == set(InverterMode)
    assert sum(r.load_shed_kwh for r in results) > 0
    assert sum(r.pv_curtailed_kwh for r in results) > 0
    assert sum(r.ev_trip_kwh for r in results) > 0

    counters = house.counters_kwh
    for entity, flow in COUNTER_FLOWS.items():
        total = math.fsum(getattr(r, flow) for r in results)
        assert counters[entity] == pytest.approx(total, abs=1e-9), entity
        assert float(state(house, entity)) == pytest.approx(total, abs=1e-6), entity

    charged = math.fsum(r.battery_charge_kwh for r in results)
    discharged = math.fsum(r.battery_discharge_kwh for r in results)
    assert house.soc_kwh - soc0 == pytest.approx(0.94 * charged - discharged / 0.96, abs=1e-6)

    heat_in = math.fsum(r.water_heater_kwh for r in results)
    heat_out = math.fsum(r.tank_loss_kwh + r.hot_water_kwh for r in results)
    stored = C_200L_KWH_PER_K * (house.water_temp_c - temp0)
    assert stored == pytest.approx(heat_in - heat_out, abs=1e-6)

    ev_net = math.fsum(r.ev_charge_kwh - r.ev_trip_kwh for r in results)
    assert house.ev_soc_kwh == pytest.approx(ev0 + ev_net, abs=1e-6)


@pytest.mark.parametrize(
    "duration",
    [timedelta(seconds=30), timedelta(seconds=90), timedelta(minutes=7.5), timedelta(minutes=15)],
)
def test_step_odd_durations_keep_clock_and_balance(duration: timedelta) -> None:
    house = make_house(tank=tank_spec(initial_setpoint_c=60.0))
    result = house.step(duration=duration, pv_kw=1.0, load_kw=2.5, hot_water_draw_l=10.0)
    assert house.now == START + duration == result.end
    assert result.duration_h == duration.total_seconds() / 3600
    assert abs(balance_residual_kwh(result)) < 1e-12
    assert result.pv_used_kw == pytest.approx(1.0)


def test_step_is_deterministic() -> None:
    def run() -> list[StepResult]:
        house = make_house(tank=tank_spec(initial_setpoint_c=60.0))
        set_mode(house, InverterMode.FORCE_CHARGE)
        switch(house, SimEntity.GRID_CHARGING, on=True)
        set_number(house, SimEntity.SOC_TARGET, 90)
        return [house.step(duration=5 * MINUTE, pv_kw=k / 3, load_kw=1.0) for k in range(20)]

    assert run() == run()


# ----------------------------------------------------------------------------- dispatch
@settings(max_examples=300, deadline=None)
@given(
    pv_kw=st.floats(0, 20),
    load_kw=st.floats(0, 20),
    heater_kw=st.floats(0, 5),
    ev_kw=st.floats(0, 11),
    soc_frac=st.floats(0, 1),
    mode=st.sampled_from(list(InverterMode)),
    charge_limit_kw=st.floats(0, 5),
    discharge_limit_kw=st.floats(0, 5),
    target_percent=st.floats(10, 100),
    grid_charging=st.booleans(),
    fuse_kw=st.floats(1, 20),
    dt_s=st.floats(1, 60),
)
def test_dispatch_invariants(
    pv_kw: float,
    load_kw: float,
    heater_kw: float,
    ev_kw: float,
    soc_frac: float,
    mode: InverterMode,
    charge_limit_kw: float,
    discharge_limit_kw: float,
    target_percent: float,
    grid_charging: bool,  # noqa: FBT001
    fuse_kw: float,
    dt_s: float,
) -> None:
    battery = battery_spec(charge_efficiency=0.9, discharge_efficiency=0.92)
    soc_kwh = 1.0 + 9.0 * soc_frac
    dt_h = dt_s / 3600
    settings_ = InverterSettings(
        mode=mode,
        charge_limit_kw=charge_limit_kw,
        discharge_limit_kw=discharge_limit_kw,
        soc_target_percent=target_percent,
        grid_charging=grid_charging,
    )
    f = dispatch(
        pv_kw=pv_kw,
        load_kw=load_kw,
        heater_kw=heater_kw,
        ev_kw=ev_kw,
        soc_kwh=soc_kwh,
        battery=battery,
        settings=settings_,
        fuse_kw=fuse_kw,
        dt_h=dt_h,
    )
    assert min(f) >= 0.0
    supply = f.pv_used + f.battery_discharge + f.grid_import
    use = f.load_served + f.water_heater + f.ev_charge + f.battery_charge + f.grid_export
    assert supply == pytest.approx(use, abs=1e-9)
    assert f.battery_charge == 0 or f.battery_discharge == 0
    assert f.grid_import == 0 or f.grid_export == 0
    assert f.grid_import <= fuse_kw
    assert f.grid_export <= fuse_kw
    assert f.pv_used + f.pv_curtailed == pytest.approx(pv_kw, abs=1e-9)
    served = f.load_served + f.water_heater + f.ev_charge
    assert served + f.load_shed == pytest.approx(load_kw + heater_kw + ev_kw, abs=1e-9)
    end_kwh = soc_after_slot_kwh(
        soc_kwh=soc_kwh,
        charge_kw=f.battery_charge,
        discharge_kw=f.battery_discharge,
        slot_h=dt_h,
        charge_efficiency=0.9,
        discharge_efficiency=0.92,
    )
    assert 1.0 - 1e-9 <= end_kwh <= 10.0 + 1e-9
    hw_charge_kw, hw_discharge_kw = battery_limits_kw(
        soc_kwh=soc_kwh, floor_kwh=1.0, ceiling_kwh=10.0, battery=battery, dt_h=dt_h
    )
    if f.load_shed > 1e-9:  # shed only with the fuse full and the battery at its limit
        assert f.grid_import == fuse_kw
        assert f.battery_discharge == pytest.approx(hw_discharge_kw)
    if f.pv_curtailed > 1e-9:  # curtail only with export full and the battery at its limit
        assert f.grid_export == fuse_kw
        assert f.battery_charge == pytest.approx(hw_charge_kw)
    if mode is InverterMode.HOLD and f.load_shed == 0 and f.pv_curtailed == 0:
        exceeds = abs(load_kw + heater_kw + ev_kw - pv_kw) > fuse_kw
        assert exceeds or f.battery_charge == f.battery_discharge == 0


# ----------------------------------------------------------------------------- tank
def test_tank_heating_raises_temperature_by_energy_over_heat_capacity() -> None:
    tank = tank_spec(initial_temp_c=20.0, loss_w_per_k=0.0, initial_setpoint_c=85.0)
    house = make_house(tank=tank)
    result = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0)
    assert tank_heat_capacity_kwh_per_k(200.0) == pytest.approx(0.232556, abs=1e-6)
    assert result.water_heater_kwh == pytest.approx(3.0, abs=1e-12)
    assert house.water_temp_c == pytest.approx(20.0 + 10.8e6 / 837_200, abs=1e-9)  # 32.9001
    assert state(house, SimEntity.WATER_TEMPERATURE) == "32.9"
    assert state(house, SimEntity.WATER_HEATER_ENERGY) == "3.0"


def test_tank_heating_with_standing_loss() -> None:
    tank = tank_spec(initial_temp_c=20.0, ambient_c=20.0, loss_w_per_k=2.0, initial_setpoint_c=85)
    house = make_house(tank=tank)
    result = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0)
    rise_k = house.water_temp_c - 20.0
    # the mean excess over ambient is about half the rise: loss ~ 2 W/K x 6.45 K x 1 h
    assert result.tank_loss_kwh == pytest.approx(2.0 * 12.9 / 2 / 1000, rel=0.03)
    assert C_200L_KWH_PER_K * rise_k == pytest.approx(3.0 - result.tank_loss_kwh, abs=1e-12)
    assert rise_k == pytest.approx(12.9001 - 0.0129 / C_200L_KWH_PER_K, abs=2e-3)  # 12.845 K


def test_tank_standing_loss_cools_toward_ambient_at_ua_rate() -> None:
    tank = tank_spec(initial_temp_c=60.0, ambient_c=20.0, loss_w_per_k=2.0)
    house = make_house(tank=tank)
    first = house.step(duration=MINUTE, pv_kw=0.0, load_kw=0.0)
    assert first.tank_loss_kwh == pytest.approx(2.0 * 40.0 / 1000 / 60, abs=1e-15)  # 80 W
    result = house.step(duration=HOUR - MINUTE, pv_kw=0.0, load_kw=0.0)
    tau_s = 837_200 / 2.0  # C / UA
    euler_c = 20.0 + 40.0 * (1 - 60 / tau_s) ** 60
    assert house.water_temp_c == pytest.approx(euler_c, abs=1e-9)
    assert house.water_temp_c == pytest.approx(20 + 40 * math.exp(-3600 / tau_s), abs=1e-4)
    assert result.water_heater_kwh == 0.0


def test_tank_draw_mixing_formula() -> None:
    house = make_house(tank=tank_spec(initial_temp_c=60.0, loss_w_per_k=0.0))
    result = house.step(duration=MINUTE, pv_kw=0.0, load_kw=0.0, hot_water_draw_l=50.0)
    assert house.water_temp_c == pytest.approx(60.0 - 50 / 200 * (60.0 - 10.0), abs=1e-12)
    assert result.hot_water_kwh == pytest.approx(C_200L_KWH_PER_K * 12.5, abs=1e-12)


def test_tank_draw_spread_over_substeps() -> None:
    house = make_house(tank=tank_spec(initial_temp_c=60.0, loss_w_per_k=0.0))
    house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.0, hot_water_draw_l=50.0)
    expected = 10.0 + 50.0 * (1 - 50 / 15 / 200) ** 15
    assert house.water_temp_c == pytest.approx(expected, abs=1e-12)


def test_tank_thermostat_stops_at_setpoint_and_keeps_deadband() -> None:
    house = make_house(tank=tank_spec(initial_temp_c=50.0, initial_setpoint_c=55.0))
    minutes = [house.step(duration=MINUTE, pv_kw=0.0, load_kw=0.0) for _ in range(60)]
    temps = [r.water_temp_c for r in minutes]
    on = [r.water_heater_kwh > 0 for r in minutes]
    # 5 K x 0.2326 kWh/K = 1.163 kWh at 3 kW: on for 23 full minutes, a partial 24th, then off
    assert on == [True] * 24 + [False] * 36
    assert max(temps) == pytest.approx(55.0, abs=1e-9)
    assert temps[23] == pytest.approx(55.0, abs=1e-9)
    assert minutes[23].water_heater_kwh < 3.0 / 60
    heat = math.fsum(r.water_heater_kwh for r in minutes)
    loss = math.fsum(r.tank_loss_kwh for r in minutes)
    assert heat == pytest.approx(C_200L_KWH_PER_K * (house.water_temp_c - 50.0) + loss, abs=1e-12)
    idle = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0)  # cools ~0.3 K: inside deadband
    assert idle.water_heater_kwh == 0.0
    assert 53.0 < house.water_temp_c < 55.0
    set_number(house, SimEntity.WATER_HEATER, 56.0)  # 1-2 K below the new setpoint: stays off
    assert house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.0).water_heater_kwh == 0.0
    house.step(duration=MINUTE, pv_kw=0.0, load_kw=0.0, hot_water_draw_l=30.0)  # -> ~48 °C
    assert house.water_temp_c < 54.0
    reheat = [house.step(duration=MINUTE, pv_kw=0.0, load_kw=0.0) for _ in range(60)]
    assert reheat[0].water_heater_kw == pytest.approx(3.0)
    assert max(r.water_temp_c for r in reheat) == pytest.approx(56.0, abs=1e-9)


def test_tank_setpoint_above_max_is_refused() -> None:
    house = make_house()
    with pytest.raises(InputError) as info:
        set_number(house, SimEntity.WATER_HEATER, 86.0)
    assert info.value.field == "water_heater.darkstar_sim_tank.temperature"


# ----------------------------------------------------------------------------- inverter modes
def test_self_consumption_covers_deficit_and_stores_surplus() -> None:
    house = make_house()
    deficit = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=2.0)
    assert deficit.battery_discharge_kw == pytest.approx(2.0)
    assert deficit.grid_import_kwh == 0.0
    assert house.soc_kwh == pytest.approx(5.0 - 0.5 / 0.95, abs=1e-12)
    surplus = house.step(duration=15 * MINUTE, pv_kw=5.0, load_kw=1.0)
    assert surplus.battery_charge_kw == pytest.approx(4.0)
    assert surplus.grid_export_kwh == 0.0
    set_number(house, SimEntity.BATTERY_CHARGE_POWER, 2500)  # the limit applies here too
    limited = house.step(duration=15 * MINUTE, pv_kw=5.0, load_kw=1.0)
    assert limited.battery_charge_kw == pytest.approx(2.5)
    assert limited.grid_export_kw == pytest.approx(1.5)


def test_self_consumption_soc_target_is_a_discharge_floor() -> None:
    house = make_house(battery=battery_spec(initial_soc_percent=50.0))
    set_number(house, SimEntity.SOC_TARGET, 50)
    floor = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=2.0)
    assert floor.battery_discharge_kwh == 0.0
    assert floor.grid_import_kw == pytest.approx(2.0)
    pv = house.step(duration=15 * MINUTE, pv_kw=3.0, load_kw=1.0)  # still charges from PV
    assert pv.battery_charge_kw == pytest.approx(2.0)
    set_number(house, SimEntity.SOC_TARGET, 40)  # drains to 40 % and stops exactly there
    drain = house.step(duration=HOUR, pv_kw=0.0, load_kw=3.0)
    assert house.soc_kwh == pytest.approx(4.0, abs=1e-9)
    assert drain.battery_discharge_kwh == pytest.approx((5.0 + 0.5 * 0.95 - 4.0) * 0.95)


def test_self_consumption_full_battery_exports_and_empty_battery_imports() -> None:
    full = make_house(battery=battery_spec(initial_soc_percent=100.0))
    result = full.step(duration=15 * MINUTE, pv_kw=4.0, load_kw=1.0)
    assert result.battery_charge_kwh == 0.0
    assert result.grid_export_kw == pytest.approx(3.0)
    empty = make_house(battery=battery_spec(initial_soc_percent=10.0))
    result = empty.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=2.0)
    assert result.battery_discharge_kwh == 0.0
    assert result.grid_import_kw == pytest.approx(2.0)


def test_force_charge_from_grid_until_target() -> None:
    house = make_house()
    set_mode(house, InverterMode.FORCE_CHARGE)
    set_number(house, SimEntity.SOC_TARGET, 60)
    set_number(house, SimEntity.BATTERY_CHARGE_POWER, 3000)
    no_grid = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.5)
    assert no_grid.battery_charge_kwh == 0.0  # grid charging is off
    assert no_grid.battery_discharge_kwh == 0.0  # and force_charge never discharges
    switch(house, SimEntity.GRID_CHARGING, on=True)
    first = house.step(duration=5 * MINUTE, pv_kw=2.0, load_kw=0.5)
    assert first.battery_charge_kw == pytest.approx(3.0)  # PV surplus 1.5 + grid 1.5
    assert first.grid_import_kw == pytest.approx(1.5)
    rest = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.5)
    assert house.soc_kwh == pytest.approx(6.0, abs=1e-9)
    total_charge = first.battery_charge_kwh + rest.battery_charge_kwh
    assert total_charge == pytest.approx(1.0 / 0.95, abs=1e-9)
    idle = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.5)
    assert idle.battery_charge_kwh == idle.battery_discharge_kwh == 0.0


def test_force_charge_without_grid_charging_uses_pv_surplus_only() -> None:
    house = make_house()
    set_mode(house, InverterMode.FORCE_CHARGE)
    set_number(house, SimEntity.SOC_TARGET, 100)
    result = house.step(duration=15 * MINUTE, pv_kw=2.0, load_kw=0.5)
    assert result.battery_charge_kw == pytest.approx(1.5)
    assert result.grid_import_kwh == result.grid_export_kwh == 0.0


def test_force_discharge_exports_down_to_target() -> None:
    house = make_house()
    set_mode(house, InverterMode.FORCE_DISCHARGE)
    set_number(house, SimEntity.SOC_TARGET, 40)
    set_number(house, SimEntity.BATTERY_DISCHARGE_POWER, 2000)
    first = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.5)
    assert first.battery_discharge_kw == pytest.approx(2.0)
    assert first.grid_export_kw == pytest.approx(1.5)
    rest = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.5)
    assert house.soc_kwh == pytest.approx(4.0, abs=1e-9)
    assert first.battery_discharge_kwh + rest.battery_discharge_kwh == pytest.approx(0.95)
    idle = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.5)
    assert idle.battery_discharge_kwh == 0.0
    assert idle.grid_import_kw == pytest.approx(0.5)


def test_hold_keeps_battery_idle() -> None:
    house = make_house()
    set_mode(house, InverterMode.HOLD)
    surplus = house.step(duration=15 * MINUTE, pv_kw=3.0, load_kw=1.0)
    deficit = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=2.0)
    assert surplus.grid_export_kw == pytest.approx(2.0)
    assert deficit.grid_import_kw == pytest.approx(2.0)
    assert house.soc_kwh == 5.0
    assert surplus.battery_charge_kwh == deficit.battery_discharge_kwh == 0.0


# ----------------------------------------------------------------------------- fuse
def test_fuse_sheds_load_when_battery_cannot_help() -> None:
    house = make_house(battery=battery_spec(initial_soc_percent=10.0), fuse_kw=5.0)
    result = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=9.0)
    assert result.grid_import_kw == pytest.approx(5.0)
    assert result.load_shed_kw == pytest.approx(4.0)
    assert result.load_served_kw == pytest.approx(5.0)


def test_fuse_protection_discharges_battery_even_in_hold() -> None:
    house = make_house(fuse_kw=5.0)
    set_mode(house, InverterMode.HOLD)
    result = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=9.0)
    assert result.battery_discharge_kw == pytest.approx(4.0)
    assert result.grid_import_kw == pytest.approx(5.0)
    assert result.load_shed_kwh == 0.0


def test_fuse_sheds_ev_then_water_heater_then_base_load() -> None:
    ev = EvSpec(capacity_kwh=60.0, max_charge_kw=3.7, initial_soc_percent=50.0)
    tank = tank_spec(initial_temp_c=40.0, initial_setpoint_c=55.0)
    battery = battery_spec(initial_soc_percent=10.0)
    house = make_house(battery=battery, tank=tank, fuse_kw=5.0, ev=ev)
    switch(house, SimEntity.EV_CHARGER, on=True)
    result = house.step(duration=MINUTE, pv_kw=0.0, load_kw=4.0)  # demand 4 + 3 + 3.7
    assert result.load_shed_kw == pytest.approx(5.7)
    assert result.ev_charge_kwh == 0.0
    assert result.water_heater_kw == pytest.approx(1.0)
    assert result.load_served_kw == pytest.approx(4.0)
    assert house.water_temp_c == pytest.approx(
        40.0 + (1.0 - 0.04) / 60 / C_200L_KWH_PER_K
    )  # 40 W loss


def test_fuse_curtails_pv_only_when_export_and_battery_are_full() -> None:
    full = make_house(battery=battery_spec(initial_soc_percent=100.0), fuse_kw=5.0)
    result = full.step(duration=15 * MINUTE, pv_kw=9.0, load_kw=1.0)
    assert result.grid_export_kw == pytest.approx(5.0)
    assert result.pv_curtailed_kw == pytest.approx(3.0)
    hold = make_house(fuse_kw=5.0)
    set_mode(hold, InverterMode.HOLD)
    result = hold.step(duration=15 * MINUTE, pv_kw=12.0, load_kw=1.0)
    assert result.battery_charge_kw == pytest.approx(5.0)  # fuse protection overrides hold
    assert result.grid_export_kw == pytest.approx(5.0)
    assert result.pv_curtailed_kw == pytest.approx(1.0)


# ----------------------------------------------------------------------------- EV
def ev_house(**overrides: Any) -> SimulatedHouse:
    values = {"capacity_kwh": 60.0, "max_charge_kw": 7.4, "initial_soc_percent": 50.0}
    return make_house(ev=EvSpec(**(values | overrides)))


def test_ev_charges_when_plugged_and_switched_on() -> None:
    house = ev_house()
    off = house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=0.0)
    assert off.ev_charge_kwh == 0.0
    switch(house, SimEntity.EV_CHARGER, on=True)
    set_number(house, SimEntity.EV_CHARGE_POWER, "7400")  # HA accepts numeric strings
    on = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0)
    assert on.ev_charge_kwh == pytest.approx(7.4, abs=1e-12)
    assert house.ev_soc_kwh == pytest.approx(37.4, abs=1e-12)
    assert state(house, SimEntity.EV_SOC) == "62.33"
    assert state(house, SimEntity.EV_CHARGE_ENERGY) == "7.4"


def test_ev_stops_at_capacity() -> None:
    house = ev_house(capacity_kwh=10.0, initial_soc_percent=95.0)
    switch(house, SimEntity.EV_CHARGER, on=True)
    result = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0)
    assert result.ev_charge_kwh == pytest.approx(0.5, abs=1e-12)
    assert result.ev_soc_kwh == pytest.approx(10.0, abs=1e-12)


def test_ev_trip_while_unplugged() -> None:
    house = ev_house()
    switch(house, SimEntity.EV_CHARGER, on=True)
    trip = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0, ev_plugged=False, ev_trip_kwh=8.0)
    assert trip.ev_charge_kwh == 0.0
    assert trip.ev_trip_kwh == 8.0
    assert house.ev_soc_kwh == 22.0
    assert state(house, SimEntity.EV_PLUGGED) == "off"
    short = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0, ev_trip_kwh=30.0)
    assert (short.ev_trip_kwh, short.ev_trip_shortfall_kwh, house.ev_soc_kwh) == (22.0, 8.0, 0.0)
    back = house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0, ev_plugged=True)
    assert back.ev_charge_kwh == pytest.approx(7.4)
    assert state(house, SimEntity.EV_PLUGGED) == "on"


def test_ev_trip_while_plugged_is_refused() -> None:
    house = ev_house()
    with pytest.raises(InputError) as info:
        house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0, ev_trip_kwh=1.0)
    assert info.value.field == "ev_trip_kwh"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ev_trip_kwh": 1.0}, "ev_trip_kwh"),
        ({"ev_plugged": True}, "ev_plugged"),
    ],
)
def test_ev_arguments_without_ev_are_refused(kwargs: dict[str, Any], field: str) -> None:
    house = make_house()
    with pytest.raises(InputError) as info:
        house.step(duration=HOUR, pv_kw=0.0, load_kw=0.0, **kwargs)
    assert info.value.field == field


# ----------------------------------------------------------------------------- HA interface
@pytest.mark.parametrize(
    ("domain", "service", "data", "field"),
    [
        ("switch", "toggle", {"entity_id": SimEntity.GRID_CHARGING}, "switch.toggle"),
        (
            "number",
            "set_value",
            {"entity_id": "number.nope", "value": 1},
            "number.set_value.entity_id",
        ),
        ("number", "set_value", {"value": 1}, "number.set_value.entity_id"),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.BATTERY_SOC, "value": 1},
            "sensor.darkstar_sim_battery_soc",
        ),
        (
            "switch",
            "turn_on",
            {"entity_id": SimEntity.SOC_TARGET},
            "number.darkstar_sim_soc_target",
        ),
        (
            "select",
            "select_option",
            {"entity_id": SimEntity.INVERTER_MODE, "option": "turbo"},
            "select.darkstar_sim_inverter_mode.option",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.BATTERY_CHARGE_POWER, "value": 5001},
            "number.darkstar_sim_battery_charge_power.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.BATTERY_DISCHARGE_POWER, "value": -1},
            "number.darkstar_sim_battery_discharge_power.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.SOC_TARGET, "value": 5},
            "number.darkstar_sim_soc_target.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.SOC_TARGET, "value": "high"},
            "number.darkstar_sim_soc_target.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.SOC_TARGET, "value": True},
            "number.darkstar_sim_soc_target.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.SOC_TARGET, "value": math.nan},
            "number.darkstar_sim_soc_target.value",
        ),
        (
            "number",
            "set_value",
            {"entity_id": SimEntity.SOC_TARGET},
            "number.darkstar_sim_soc_target.value",
        ),
        (
            "switch",
            "turn_on",
            {"entity_id": SimEntity.GRID_CHARGING, "value": 1},
            "switch.turn_on.value",
        ),
        (
            "water_heater",
            "set_temperature",
            {"entity_id": SimEntity.WATER_HEATER, "temperature": 5},
            "water_heater.darkstar_sim_tank.temperature",
        ),
        ("switch", "turn_on", {"entity_id": SimEntity.EV_CHARGER}, "switch.turn_on.entity_id"),
    ],
)
def test_call_service_refuses_like_ha(
    domain: str, service: str, data: dict[str, Any], field: str
) -> None:
    house = make_house()
    before = list(house.get_states().values())
    with pytest.raises(ValueError, match=field.replace(".", r"\.")) as info:
        house.call_service(domain, service, data)
    assert isinstance(info.value, InputError)
    assert info.value.field == field
    assert list(house.get_states().values()) == before


def test_call_service_updates_state_and_last_updated() -> None:
    house = make_house()
    house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=1.0)
    set_mode(house, InverterMode.FORCE_DISCHARGE)
    set_number(house, SimEntity.BATTERY_DISCHARGE_POWER, 2500.5)
    switch(house, SimEntity.GRID_CHARGING, on=True)
    set_number(house, SimEntity.WATER_HEATER, 65)
    mode = house.get_state(SimEntity.INVERTER_MODE)
    assert mode.state == "force_discharge"
    assert mode.last_updated == START + 15 * MINUTE
    assert state(house, SimEntity.BATTERY_DISCHARGE_POWER) == "2500.5"
    assert house.inverter.discharge_limit_kw == pytest.approx(2.5005)
    assert state(house, SimEntity.GRID_CHARGING) == "on"
    assert house.get_state(SimEntity.WATER_HEATER).attributes["temperature"] == 65.0
    house.step(duration=15 * MINUTE, pv_kw=0.0, load_kw=1.0)
    assert house.get_state(SimEntity.INVERTER_MODE).last_updated == START + 15 * MINUTE
    assert house.get_state(SimEntity.BATTERY_SOC).last_updated == START + 30 * MINUTE


def test_states_are_strings_with_units_in_attributes() -> None:
    house = make_house(ev=EvSpec(capacity_kwh=60.0, max_charge_kw=7.4, initial_soc_percent=50))
    house.step(duration=15 * MINUTE, pv_kw=2.0, load_kw=1.2)
    states = house.get_states()
    assert set(states) == {e.value for e in SimEntity}
    for entity_id, entity_state in states.items():
        assert isinstance(entity_state, EntityState)
        assert isinstance(entity_state.state, str)
        assert entity_state.last_updated.utcoffset() == timedelta(0)
        assert entity_state.attributes["friendly_name"]
        unit = SIM_ENTITY_MAP[SimEntity(entity_id)].unit_of_measurement
        if entity_id.startswith(("sensor.", "number.")):
            float(entity_state.state)
            assert entity_state.attributes["unit_of_measurement"] == unit
    assert states[SimEntity.PV_POWER].state == "2000.0"
    assert states[SimEntity.LOAD_POWER].attributes["unit_of_measurement"] == "W"
    assert states[SimEntity.BATTERY_SOC].state == "51.9"  # 5 + 0.8 kW x 0.25 h x 0.95
    counter = states[SimEntity.GRID_EXPORT_ENERGY].attributes
    assert (counter["unit_of_measurement"], counter["device_class"]) == ("kWh", "energy")
    assert counter["state_class"] == "total_increasing"
    assert states[SimEntity.INVERTER_MODE].attributes["options"] == [
        "self_consumption",
        "force_charge",
        "force_discharge",
        "hold",
    ]
    charge = states[SimEntity.BATTERY_CHARGE_POWER]
    assert (charge.state, charge.attributes["min"], charge.attributes["max"]) == (
        "5000.0",
        0.0,
        5000.0,
    )
    assert states[SimEntity.SOC_TARGET].attributes["min"] == 10.0
    heater = states[SimEntity.WATER_HEATER].attributes
    assert (heater["current_temperature"], heater["max_temp"]) == (49.94, 85.0)  # 60 W loss
    assert states[SimEntity.EV_PLUGGED].state == "on"
    assert states[SimEntity.GRID_CHARGING].state == "off"
    with pytest.raises(TypeError):
        states[SimEntity.PV_POWER].attributes["unit_of_measurement"] = "kW"  # type: ignore[index]


def test_house_without_ev_has_no_ev_entities() -> None:
    house = make_house()
    ids = set(house.get_states())
    assert ids == {e.value for e in SimEntity if e not in EV_ENTITIES}
    assert house.ev_soc_kwh is None
    with pytest.raises(InputError, match="does not exist"):
        house.get_state(SimEntity.EV_SOC)
    with pytest.raises(InputError, match="unknown entity"):
        house.get_state("sensor.nope")


def test_unavailable_entity_reads_unavailable_and_refuses_writes() -> None:
    house = make_house()
    house.set_available(SimEntity.SOC_TARGET, available=False)
    soc_target = house.get_state(SimEntity.SOC_TARGET)
    assert soc_target.state == "unavailable"
    assert soc_target.attributes["unit_of_measurement"] == "%"
    with pytest.raises(InputError, match="unavailable"):
        set_number(house, SimEntity.SOC_TARGET, 50)
    house.set_available(SimEntity.SOC_TARGET, available=True)
    set_number(house, SimEntity.SOC_TARGET, 50)
    assert state(house, SimEntity.SOC_TARGET) == "50.0"


def test_entity_state_requires_utc() -> None:
    with pytest.raises(ValueError, match="UTC"):
        EntityState("sensor.x", "1", {}, datetime(2025, 1, 1))  # noqa: DTZ001
    EntityState("sensor.x", "1", {}, datetime(2025, 1, 1, tzinfo=timezone(timedelta(0))))


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: battery_spec(capacity_kwh=0.0), "battery.capacity_kwh"),
        (lambda: battery_spec(min_soc_percent=100.0), "battery.min_soc_percent"),
        (lambda: battery_spec(max_charge_kw=-1.0), "battery.max_charge_kw"),
        (lambda: battery_spec(charge_efficiency=0.0), "battery.charge_efficiency"),
        (lambda: battery_spec(discharge_efficiency=1.1), "battery.discharge_efficiency"),
        (lambda: battery_spec(initial_soc_percent=5.0), "battery.initial_soc_percent"),
        (lambda: battery_spec(capacity_kwh=math.nan), "battery.capacity_kwh"),
        (lambda: tank_spec(volume_l=0.0), "tank.volume_l"),
        (lambda: tank_spec(heater_power_kw=-3.0), "tank.heater_power_kw"),
        (lambda: tank_spec(loss_w_per_k=-1.0), "tank.loss_w_per_k"),
        (lambda: tank_spec(max_temp_c=120.0), "tank.max_temp_c"),
        (lambda: tank_spec(initial_temp_c=90.0), "tank.initial_temp_c"),
        (lambda: tank_spec(initial_setpoint_c=5.0), "tank.initial_setpoint_c"),
        (
            lambda: EvSpec(capacity_kwh=0.0, max_charge_kw=7.4, initial_soc_percent=50),
            "ev.capacity_kwh",
        ),
        (
            lambda: EvSpec(capacity_kwh=60.0, max_charge_kw=7.4, initial_soc_percent=101),
            "ev.initial_soc_percent",
        ),
        (lambda: GridSpec(fuse_kw=0.0), "grid.fuse_kw"),
    ],
)
def test_specs_validate_and_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        build()
    assert info.value.field == field


def test_start_must_be_utc() -> None:
    spec = HouseSpec(battery=battery_spec(), tank=tank_spec(), grid=GridSpec(fuse_kw=11.0))
    with pytest.raises(InputError, match="start"):
        SimulatedHouse(spec, start=datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(InputError, match="start"):
        SimulatedHouse(spec, start=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1))))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"duration": timedelta(0)}, "duration"),
        ({"pv_kw": -0.1}, "pv_kw"),
        ({"load_kw": math.nan}, "load_kw"),
        ({"load_kw": math.inf}, "load_kw"),
        ({"hot_water_draw_l": -1.0}, "hot_water_draw_l"),
        ({"hot_water_draw_l": 201.0}, "hot_water_draw_l"),
    ],
)
def test_step_refuses_bad_inputs(kwargs: dict[str, Any], field: str) -> None:
    house = make_house()
    args: dict[str, Any] = {"duration": MINUTE, "pv_kw": 0.0, "load_kw": 0.0} | kwargs
    with pytest.raises(InputError) as info:
        house.step(**args)
    assert info.value.field == field
    assert house.now == START
