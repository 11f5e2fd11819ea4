"""Typed configuration: one pydantic model per ``config.yaml`` section.

The defaults live in ``config.default.yaml`` (next to this file), which documents every key;
a drift test keeps the two in step. Models forbid unknown keys; :mod:`darkstar.config.loader`
turns pydantic's errors into one line that names the key and suggests the nearest known one.

Lower bounds are physical, not merely positive: ``gt=0`` would admit ``1e-320``, a
denormal capacity or fuse that the solver reads as zero and that overflows a division. Each
bound lies far below any real device yet far above such values: 0.1 kWh of battery, 0.1 kW
of fuse, peak cap or heating element, efficiencies from 0.5, a 15-minute comfort gap, a
daily anti-legionella cycle at most, and a 0.1 s solve.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "CapacityTariffConfig",
    "EvConfig",
    "PvConfig",
    "PvArrayConfig",
    "WeatherConfig",
    "LocationConfig",
    "TariffConfig",
    "PricesConfig",
    "BatteryConfig",
    "BatteryEconomicsConfig",
    "DarkstarConfig",
    "ExecutorConfig",
    "ExportConfig",
    "ForecastingConfig",
    "GridConfig",
    "HomeAssistantConfig",
    "InputSensorsConfig",
    "KeplerConfig",
    "PlannerConfig",
    "REQUIRED_WITH_EV",
    "REQUIRED_WITH_HOME_ASSISTANT",
    "RetentionConfig",
    "SIndexConfig",
    "StrategyConfig",
    "SystemConfig",
    "VacationModeConfig",
    "WaterHeatingConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


class SystemConfig(_Section):
    """Which devices the house has."""

    has_battery: bool = Field(True, description="The house has a controllable battery.")
    has_water_heater: bool = Field(True, description="The house has a plannable water heater.")
    has_ev: bool = Field(
        False, description="The house has an electric car the planner charges (section ev)."
    )


class BatteryConfig(_Section):
    """Battery ratings; charge and discharge are AC-side powers."""

    capacity_kwh: float = Field(10.0, ge=0.1, le=1000, description="Usable capacity [kWh].")
    min_soc_percent: float = Field(10.0, ge=0, le=100, description="Soft floor [%].")
    max_soc_percent: float = Field(95.0, ge=0, le=100, description="Hard ceiling [%].")
    max_charge_kw: float = Field(5.0, ge=0, le=1000, description="Max AC charge power [kW].")
    max_discharge_kw: float = Field(5.0, ge=0, le=1000, description="Max AC discharge [kW].")
    charge_efficiency: float = Field(0.95, ge=0.5, le=1, description="SoC gain per AC kWh in.")
    discharge_efficiency: float = Field(0.95, ge=0.5, le=1, description="AC kWh out per SoC kWh.")

    @model_validator(mode="after")
    def _check_soc_window(self) -> Self:
        if self.min_soc_percent >= self.max_soc_percent:
            msg = (
                f"min_soc_percent ({self.min_soc_percent}) must be below "
                f"max_soc_percent ({self.max_soc_percent})"
            )
            raise ValueError(msg)
        return self


class BatteryEconomicsConfig(_Section):
    """Battery wear pricing."""

    battery_cycle_cost_kwh: float = Field(
        0.2, ge=0, le=10, description="Wear cost per kWh charged plus per kWh discharged [SEK/kWh]."
    )


class CapacityTariffConfig(_Section):
    """Power (capacity) tariff: the month's highest hourly import peaks are billed."""

    sek_per_kw_month: float = Field(
        0.0, ge=0, le=1000, description="Price of the billed peak [SEK/kW/month]; 0 = none."
    )
    peaks_counted: int = Field(3, ge=1, le=10, description="Peaks averaged into the bill.")
    distinct_days: bool = Field(True, description="At most one counted peak per day.")
    hours: str = Field(
        "all",
        pattern=r"^(all|([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4]))$",
        description="Local hours whose peaks count fully, e.g. 7-19, or all.",
    )
    months: list[int] = Field(
        default_factory=lambda: list(range(1, 13)),
        min_length=1,
        max_length=12,
        description="Months the tariff applies in (1-12).",
    )
    night_factor: float = Field(
        1.0, ge=0, le=1, description="Weight of peaks outside hours (0 = not counted)."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        bad = [m for m in self.months if not 1 <= m <= 12]
        if bad:
            msg = f"months: {bad} are not months 1-12"
            raise ValueError(msg)
        if self.hours != "all":
            first, last = (int(x) for x in self.hours.split("-"))
            if first >= last:
                msg = f"hours: {self.hours!r} must run from an earlier to a later hour"
                raise ValueError(msg)
        return self

    def weight_at_hour(self, hour: int) -> float:
        """Weight of an import peak in local clock hour ``hour`` (0-23)."""
        if self.hours == "all":
            return 1.0
        first, last = (int(x) for x in self.hours.split("-"))
        return 1.0 if first <= hour < last else self.night_factor


class GridConfig(_Section):
    """Grid connection limits."""

    max_power_kw: float = Field(
        11.0, ge=0.1, le=1000, description="Fuse: cap on import and export [kW]."
    )
    import_limit_kw: float | None = Field(
        None, ge=0.1, le=1000, description="Peak shaving: hard cap on import [kW]; null = none."
    )
    capacity_tariff: CapacityTariffConfig = Field(default_factory=CapacityTariffConfig)


class ExportConfig(_Section):
    """Grid export policy."""

    enable_export: bool = Field(True, description="False: never export to the grid.")


class VacationModeConfig(_Section):
    """Water heating while nobody is home: only the anti-legionella cycle."""

    enabled: bool = Field(False, description="Skip the daily quota; keep anti-legionella.")
    anti_legionella_interval_days: float = Field(
        7.0, ge=1, le=60, description="Days between anti-legionella cycles [days]."
    )
    anti_legionella_kwh: float = Field(3.0, ge=0, le=100, description="Energy per cycle [kWh].")


class WaterHeatingConfig(_Section):
    """The water heater as a deferrable on/off load."""

    power_kw: float = Field(3.0, ge=0.1, le=50, description="Element power, on or off [kW].")
    min_kwh_per_day: float = Field(6.0, ge=0, le=200, description="Daily quota [kWh].")
    defer_up_to_hours: float = Field(
        3.0, ge=0, le=12, description="A day's quota may be met this long after midnight [h]."
    )
    block_start_penalty_sek: float = Field(
        0.5, ge=0, le=100, description="Cost per heating block started [SEK]."
    )
    max_hours_between_heating: float | None = Field(
        8.0, ge=0.25, le=48, description="Comfort: longest wanted pause between heating [h]."
    )
    comfort_level: int = Field(3, ge=1, le=5, description="Weight of comfort gaps, 1 low - 5 high.")
    min_spacing_hours: float = Field(
        2.0, ge=0, le=24, description="Least time from a block's end to the next start [h]."
    )
    enable_top_ups: bool = Field(
        True, description="Allow heating beyond the daily quota where import price <= 0."
    )
    decision_minutes: Literal[15, 30, 60] | None = Field(
        None,
        description="Switching granularity [min]; null = auto: 60 when block starts, "
        "spacing or comfort gaps under 24 h are priced, else the slot length.",
    )
    vacation_mode: VacationModeConfig = Field(default_factory=VacationModeConfig)


class KeplerConfig(_Section):
    """Solver settings and economic knobs of the optimiser."""

    time_limit_s: float = Field(10.0, ge=0.1, le=600, description="Wall-clock cap per solve [s].")
    mip_gap: float = Field(0.0001, ge=0, le=0.5, description="Relative MIP gap to stop at.")
    ramping_cost_sek_per_kw: float = Field(
        0.0, ge=0, le=10, description="Cost per kW change of battery power between slots."
    )
    export_threshold_sek_per_kwh: float = Field(
        0.0, ge=0, le=10, description="Export only when it earns this much more per kWh."
    )
    terminal_value_sek_per_kwh: float = Field(
        0.0, ge=0, le=20, description="Value of energy left in the battery at horizon end."
    )


class SIndexConfig(_Section):
    """S-Index: load inflation and the target-SoC floor (mode ``full`` only)."""

    mode: Literal["static", "dynamic", "probabilistic"] = Field(
        "static",
        description="static: load x base_factor, target SoC from base_factor; dynamic: the "
        "factor grows with the next 24 h's PV deficit and cold, the target SoC with day 2-3's; "
        "probabilistic: the factor from the load forecast's P50-P90 spread by risk_appetite.",
    )
    base_factor: float = Field(1.1, ge=1.0, le=3.0, description="Load inflation factor.")
    max_factor: float = Field(
        1.5,
        ge=1.0,
        le=3.0,
        description="Upper bound of the dynamic factor and risk (never below base_factor).",
    )
    risk_appetite: int = Field(
        3,
        ge=1,
        le=5,
        description="Mode probabilistic: 1 plans on the load's P90, 5 on its P50 (P50 + "
        "(5 - x)/4 of the P50-P90 spread).",
    )
    pv_deficit_weight: float = Field(
        0.3, ge=0, le=2, description="Risk per unit of PV deficit against the season."
    )
    temp_weight: float = Field(0.2, ge=0, le=2, description="Risk per unit of cold.")
    temp_baseline_c: float = Field(
        15.0, ge=-30, le=40, description="Mean temperature with no cold risk [degC]."
    )
    temp_cold_c: float = Field(
        -10.0, ge=-60, le=30, description="Mean temperature of full cold risk [degC]."
    )
    soc_scaling_percent: float = Field(
        50.0, ge=0, le=100, description="Target SoC = min + (risk - 1) x this [%]."
    )
    target_soc_hour: int = Field(
        6, ge=0, le=23, description="Local clock hour at which the target SoC applies."
    )

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        if self.temp_cold_c >= self.temp_baseline_c:
            msg = (
                f"s_index.temp_cold_c: {self.temp_cold_c:g} must be below temp_baseline_c "
                f"{self.temp_baseline_c:g}"
            )
            raise ValueError(msg)
        return self


class StrategyConfig(_Section):
    """The Strategy Engine's rules: context -> solver overrides (mode ``full`` only).

    Each rule is documented in :mod:`darkstar.planner.strategy.engine`; every decision is
    in the plan's ``meta.strategy_engine`` and the strategy log.
    """

    flat_prices: bool = Field(
        False, description="Raise the wear cost when the horizon's prices are flat."
    )
    flat_spread_sek_per_kwh: float = Field(
        0.3, ge=0, le=10, description="Flat: P90 - P10 of the import price below this."
    )
    flat_wear_factor: float = Field(1.5, ge=1, le=5, description="Flat: wear cost x this.")
    calm_prices: bool = Field(
        False, description="Add a ramping cost when prices change little from slot to slot."
    )
    calm_step_sek_per_kwh: float = Field(
        0.02, ge=0, le=10, description="Calm: mean |price change| per slot below this."
    )
    calm_ramping_cost_sek_per_kw: float = Field(
        0.01, ge=0, le=10, description="Calm: ramping cost at least this [SEK/kW]."
    )
    weather_risk: bool = Field(
        False, description="Raise the export threshold when day 2-3 risk is high."
    )
    weather_risk_min: float = Field(
        1.1, ge=1, le=3, description="Weather risk: from this S-Index risk."
    )
    weather_risk_export_premium_sek_per_kwh: float = Field(
        0.1, ge=0, le=10, description="Weather risk: export threshold + this [SEK/kWh]."
    )
    vacation: bool = Field(
        False, description="On vacation (water_heating.vacation_mode): export threshold 0."
    )
    fuse_headroom: bool = Field(
        False,
        description="Lower the import limit by the load's P90-P50 spread so that unplanned "
        "load does not trip the fuse.",
    )
    analyst_overlay: bool = Field(
        False, description="Correct forecasts by the Analyst's hour-of-day bias."
    )


class ForecastingConfig(_Section):
    """How forecasts are used by the planner."""

    pv_confidence_percent: float = Field(
        90.0, ge=0, le=100, description="Share of the PV forecast the planner trusts [%]."
    )
    default_load_kw: float = Field(
        0.5, ge=0, le=100, description="Load of a slot without recorded history [kW]."
    )
    simulated_forecasts: Literal["perfect", "aurora"] = Field(
        "perfect",
        description="The simulated home only: plan on perfect PV and load forecasts, or on "
        "Aurora's (trained on the home's history since 1 January in the background when the "
        "service starts, then on automation.ml_training's schedule).",
    )


_ENTITY_ID = r"^[a-z_]+\.[a-z0-9_]+$"


def _check_weekdays(days: list[int], name: str) -> None:
    """Raise ``ValueError`` naming ``name`` for days that are not ISO weekdays 1-7."""
    bad = [d for d in days if not 1 <= d <= 7]
    if bad:
        msg = f"{name}: {bad} are not ISO weekdays 1-7"
        raise ValueError(msg)


def _next_weekly(after: datetime, tz: ZoneInfo, *, clock: str, weekdays: list[int]) -> datetime:
    """Return the first local ``clock`` (HH:MM) on one of ``weekdays`` strictly after ``after``.

    ``weekdays`` must not be empty; the result is in UTC (within 8 local days).
    """
    hour, minute = (int(x) for x in clock.split(":"))
    local_day = after.astimezone(tz).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if day.isoweekday() not in weekdays:
            continue
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if moment.astimezone(UTC) > after:
            return moment.astimezone(UTC)
    msg = f"no weekday in {weekdays}"  # unreachable for a non-empty list of 1-7
    raise ValueError(msg)


def _entity(description: str) -> Any:
    return Field(None, pattern=_ENTITY_ID, description=description)


class HomeAssistantConfig(_Section):
    """Where Home Assistant is (``url`` null: run on the simulated home)."""

    url: str | None = Field(
        None, pattern=r"^https?://\S+$", description="Base URL, e.g. http://homeassistant:8123."
    )
    token: str | None = Field(
        None, min_length=20, description="Long-lived access token (secret; never shown)."
    )
    token_file: str | None = Field(None, description="File holding the token (mode 0600).")
    timeout_s: float = Field(10.0, ge=0.5, le=120, description="Timeout of every call [s].")


class InputSensorsConfig(_Section):
    """Entities Darkstar reads (ids as in Home Assistant)."""

    battery_soc: str | None = _entity("Battery state of charge [%].")
    pv_energy: str | None = _entity("PV energy counter [Wh/kWh/MWh, total_increasing].")
    load_energy: str | None = _entity("House load energy counter (without water heater, EV).")
    grid_import_energy: str | None = _entity("Grid import energy counter.")
    grid_export_energy: str | None = _entity("Grid export energy counter.")
    battery_charge_energy: str | None = _entity("Battery charge energy counter (AC side).")
    battery_discharge_energy: str | None = _entity("Battery discharge energy counter (AC side).")
    water_heater_energy: str | None = _entity("Water heater energy counter (optional).")
    water_temperature: str | None = _entity("Water tank temperature [°C] (optional).")
    ev_soc: str | None = _entity("Car state of charge [%] (with system.has_ev).")
    ev_plugged: str | None = _entity("Car plugged in: binary_sensor on/off (with system.has_ev).")


class ExecutorConfig(_Section):
    """Entities Darkstar writes, and how often."""

    interval_seconds: int = Field(60, ge=10, le=900, description="Executor tick [s].")
    shadow_mode: bool = Field(False, description="Compute and log commands, write nothing.")
    inverter_mode: str | None = _entity("Work mode select (options as InverterMode).")
    charge_power: str | None = _entity("Battery charge power limit number [W or kW].")
    discharge_power: str | None = _entity("Battery discharge power limit number [W or kW].")
    soc_target: str | None = _entity("Battery SoC target number [%].")
    grid_charging: str | None = _entity("Grid charging switch (optional).")
    water_heater: str | None = _entity("Water heater entity or setpoint number (optional).")
    ev_charger: str | None = _entity("Car charger on/off switch (with system.has_ev).")
    ev_charge_power: str | None = _entity("Car charge power number [W or kW] (with system.has_ev).")


class PlannerConfig(_Section):
    """Which planner drives the house."""

    primary: Literal["kepler", "heuristic"] = Field(
        "kepler", description="kepler (MILP) or heuristic (rule-based, for a cautious start)."
    )


class EvConfig(_Section):
    """The electric car and its charger (planned when a request or the house gives its state)."""

    capacity_kwh: float = Field(60.0, ge=1, le=300, description="Usable battery [kWh].")
    max_charge_kw: float = Field(11.0, ge=0.5, le=350, description="Charger maximum [kW].")
    min_charge_kw: float = Field(
        4.1, ge=0, le=350, description="Charger minimum when on [kW]; 0: any power."
    )
    charge_efficiency: float = Field(
        0.9, ge=0.5, le=1, description="Car SoC gained per AC kWh in [fraction]."
    )
    departure_time: str | None = Field(
        "07:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Earliest usual departure, local HH:MM; null: charge by the horizon end.",
    )
    departure_weekdays: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5],
        max_length=7,
        description="ISO weekdays of the departure (1 = Monday ... 7 = Sunday).",
    )
    target_soc_percent: float = Field(
        80.0, ge=0, le=100, description="Car SoC wanted at departure [%]."
    )

    @model_validator(mode="after")
    def _check_powers(self) -> Self:
        if self.min_charge_kw > self.max_charge_kw:
            msg = (
                f"min_charge_kw ({self.min_charge_kw}) must not exceed "
                f"max_charge_kw ({self.max_charge_kw})"
            )
            raise ValueError(msg)
        _check_weekdays(self.departure_weekdays, "departure_weekdays")
        return self

    def next_departure(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """Return the first configured departure strictly after ``after`` (UTC), or None.

        >>> from datetime import UTC
        >>> from zoneinfo import ZoneInfo
        >>> ev = EvConfig(departure_time="07:30", departure_weekdays=[1, 2, 3, 4, 5])
        >>> friday_evening = datetime(2018, 1, 5, 18, tzinfo=UTC)
        >>> ev.next_departure(friday_evening, ZoneInfo("Europe/Stockholm")).isoformat()
        '2018-01-08T06:30:00+00:00'
        """
        if self.departure_time is None or not self.departure_weekdays:
            return None
        return _next_weekly(after, tz, clock=self.departure_time, weekdays=self.departure_weekdays)


class PricesConfig(_Section):
    """Where a real home's day-ahead prices come from (the simulated home replays its own)."""

    source: Literal["nordpool", "home_assistant"] = Field(
        "nordpool", description="nordpool (the data-portal API) or home_assistant (a sensor)."
    )
    area: str = Field("SE4", pattern=r"^[A-Z][A-Z0-9-]{1,9}$", description="Bidding area.")
    currency: str = Field("SEK", pattern=r"^[A-Z]{3}$", description="ISO currency code.")
    nordpool_url: str = Field(
        "https://dataportal-api.nordpoolgroup.com/api",
        pattern=r"^https?://\S+$",
        description="Nord Pool data-portal API root.",
    )
    timeout_s: float = Field(10.0, ge=0.5, le=120, description="Timeout of every call [s].")
    ha_entity: str | None = _entity("HA price sensor with raw_today/raw_tomorrow attributes.")


class TariffConfig(_Section):
    """Retail tariff on top of the spot price (in the prices' currency)."""

    grid_fee_sek_per_kwh: float = Field(0.2456, ge=0, le=10, description="Grid fee [/kWh].")
    energy_tax_sek_per_kwh: float = Field(0.439, ge=0, le=10, description="Energy tax [/kWh].")
    vat_percent: float = Field(25.0, ge=0, le=100, description="VAT on import [%].")
    export_compensation_sek_per_kwh: float = Field(
        0.0, ge=-10, le=10, description="Added to spot for export [/kWh]."
    )


class LocationConfig(_Section):
    """Where the house is (null: taken from Home Assistant's own configuration)."""

    latitude: float | None = Field(None, ge=-90, le=90, description="Latitude [deg].")
    longitude: float | None = Field(None, ge=-180, le=180, description="Longitude [deg].")
    altitude_m: float = Field(0.0, ge=-500, le=9000, description="Altitude [m].")
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Stockholm.")


class WeatherConfig(_Section):
    """The weather forecast behind the PV forecast."""

    open_meteo_url: str = Field(
        "https://api.open-meteo.com", pattern=r"^https?://\S+$", description="API root."
    )
    timeout_s: float = Field(10.0, ge=0.5, le=120, description="Timeout of every call [s].")


class PvArrayConfig(_Section):
    """One PV array (all arrays share the location)."""

    kwp: float = Field(ge=0.1, le=1000, description="Peak DC power [kWp].")
    tilt_deg: float = Field(ge=0, le=90, description="Tilt from horizontal [deg].")
    azimuth_deg: float = Field(ge=0, le=360, description="Azimuth, 180 = south [deg].")
    losses_percent: float = Field(14.0, ge=0, le=90, description="System losses [%].")
    inverter_kw: float | None = Field(None, ge=0.1, le=1000, description="AC limit [kW].")


class PvConfig(_Section):
    """The house's PV arrays, for the physics PV forecast."""

    arrays: list[PvArrayConfig] = Field(
        default_factory=lambda: [PvArrayConfig(kwp=5.0, tilt_deg=35.0, azimuth_deg=180.0)],
        max_length=20,
        min_length=1,
        description="PV arrays.",
    )


#: Keys that must name an entity when Home Assistant drives the house.
REQUIRED_WITH_HOME_ASSISTANT = (
    "input_sensors.battery_soc",
    "input_sensors.pv_energy",
    "input_sensors.load_energy",
    "input_sensors.grid_import_energy",
    "input_sensors.grid_export_energy",
    "input_sensors.battery_charge_energy",
    "input_sensors.battery_discharge_energy",
    "executor.inverter_mode",
    "executor.charge_power",
    "executor.discharge_power",
    "executor.soc_target",
)

REQUIRED_WITH_EV = (
    "input_sensors.ev_soc",
    "input_sensors.ev_plugged",
    "executor.ev_charger",
    "executor.ev_charge_power",
)
"""Also required with Home Assistant when ``system.has_ev``."""


class MlTrainingConfig(_Section):
    """When Aurora retrains its forecast models (local time of the house)."""

    enabled: bool = Field(True, description="Retrain on this schedule.")
    days: list[int] = Field(
        default_factory=lambda: [1, 4],
        max_length=7,
        description="ISO weekdays of the retraining (1 = Monday ... 7 = Sunday).",
    )
    time: str = Field(
        "03:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local HH:MM of the retraining (a quiet hour: it takes a core for a while).",
    )

    @model_validator(mode="after")
    def _check_days(self) -> Self:
        _check_weekdays(self.days, "days")
        return self

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """Return the first scheduled retraining strictly after ``after`` (UTC), or None.

        >>> from datetime import UTC
        >>> from zoneinfo import ZoneInfo
        >>> ml = MlTrainingConfig(days=[1, 4], time="03:00")
        >>> ml.next_after(datetime(2018, 5, 1, 12, tzinfo=UTC), ZoneInfo("Europe/Stockholm"))
        datetime.datetime(2018, 5, 3, 1, 0, tzinfo=datetime.timezone.utc)
        """
        if not self.enabled or not self.days:
            return None
        return _next_weekly(after, tz, clock=self.time, weekdays=self.days)

    def describe(self) -> str:
        """Say the schedule in words, e.g. ``Mon, Thu at 03:00`` (``off`` when disabled)."""
        if not self.enabled or not self.days:
            return "off"
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        return f"{', '.join(names[d - 1] for d in sorted(set(self.days)))} at {self.time}"


class AutomationConfig(_Section):
    """What the agent does on its own, on a schedule."""

    ml_training: MlTrainingConfig = Field(default_factory=MlTrainingConfig)


class RetentionConfig(_Section):
    """How long the learning store keeps each history table (pruned once a day).

    The lower bounds are the longest window a reader of the table needs (Reflex's 90-day
    clean streak, the Analyst's and Reflex's 14-day windows), so no value breaks a reader;
    the reasons for the defaults are in ``config.default.yaml``.
    """

    enabled: bool = Field(True, description="Prune the learning store once a day.")
    observations_days: int = Field(
        730, ge=91, le=3650, description="Measured slots and daily metrics kept [days]."
    )
    plans_days: int = Field(90, ge=15, le=3650, description="Plans and their slots kept [days].")
    forecasts_days: int = Field(
        60, ge=15, le=3650, description="Forecasts as issued kept, by slot [days]."
    )
    weather_runs_days: int = Field(
        730, ge=15, le=3650, description="Weather runs kept, by forecast hour [days]."
    )
    execution_log_days: int = Field(90, ge=7, le=3650, description="Executor log kept [days].")
    strategy_log_days: int = Field(
        365, ge=30, le=3650, description="Strategy log kept (Reflex's applied changes: all) [days]."
    )
    model_versions: int = Field(
        4,
        ge=1,
        le=1000,
        description="Trained Aurora model versions whose files are kept, per target (the "
        "active one always) [count].",
    )


class DarkstarConfig(_Section):
    """The whole ``config.yaml``."""

    system: SystemConfig = Field(default_factory=SystemConfig)
    battery: BatteryConfig = Field(default_factory=BatteryConfig)
    battery_economics: BatteryEconomicsConfig = Field(default_factory=BatteryEconomicsConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    water_heating: WaterHeatingConfig = Field(default_factory=WaterHeatingConfig)
    kepler: KeplerConfig = Field(default_factory=KeplerConfig)
    s_index: SIndexConfig = Field(default_factory=SIndexConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    forecasting: ForecastingConfig = Field(default_factory=ForecastingConfig)
    automation: AutomationConfig = Field(default_factory=AutomationConfig)
    planner: PlannerConfig = Field(default_factory=PlannerConfig)
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    input_sensors: InputSensorsConfig = Field(default_factory=InputSensorsConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    ev: EvConfig = Field(default_factory=EvConfig)
    prices: PricesConfig = Field(default_factory=PricesConfig)
    tariff: TariffConfig = Field(default_factory=TariffConfig)
    location: LocationConfig = Field(default_factory=LocationConfig)
    weather: WeatherConfig = Field(default_factory=WeatherConfig)
    pv: PvConfig = Field(default_factory=PvConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    def missing_home_assistant_entities(self) -> list[str]:
        """Return the keys :data:`REQUIRED_WITH_HOME_ASSISTANT` that are still null.

        Checked when Home Assistant is opened (not by the model: a Settings change may
        set the URL before the entities); with ``system.has_ev`` also :data:`REQUIRED_WITH_EV`.
        """
        keys = REQUIRED_WITH_HOME_ASSISTANT + (REQUIRED_WITH_EV if self.system.has_ev else ())
        return [
            key
            for key in keys
            if getattr(getattr(self, key.split(".")[0]), key.split(".")[1]) is None
        ]
