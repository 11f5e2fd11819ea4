"""SQLAlchemy 2.0 typed models of the learning store (``planner_learning.db``).

Column conventions (STYLE §H.28, DESIGN §5):

* ``*_utc`` columns are **integer UTC epoch seconds** (slot keys are DST-proof integers);
* ``*_at`` columns are **ISO 8601 UTC text** (``2026-10-25T01:00:00.000000+00:00``);
* units are in the names: ``_kwh`` energy per slot, ``_kw`` slot-average power (as in
  ``schedule.json`` rows), ``_percent`` state of charge, ``_sek_per_kwh`` prices.

The schema is owned by the numbered Alembic migrations in ``migrations/versions``; a drift
test keeps these models and the migrated schema identical.

Every history table has a natural key, so replaying the same slots after a restart
rewrites rows instead of adding them (``0002_idempotent_history``): ``slot_observations``
by ``slot_start_utc``, ``plans`` by ``(planned_at, mode)``, ``execution_log`` by ``at_utc``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "DailyMetricsRow",
    "ExecutionLog",
    "ForecastModel",
    "Plan",
    "SlotForecast",
    "SlotObservation",
    "SlotPlan",
    "SpotPrice",
    "StrategyLogEntry",
    "WeatherRun",
]

#: Deterministic constraint names, so migrations can refer to them (SQLite batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ISO_LEN = 32  # "2026-10-25T01:00:00.000000+00:00"


class Base(DeclarativeBase):
    """Declarative base carrying the store's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # ``float`` is FLOAT on every SQLAlchemy 2.x (2.1 would otherwise pick DOUBLE).
    type_annotation_map: dict[Any, Any] = {float: Float()}


class SlotObservation(Base):
    """Measured energy flows of one slot, from energy counters (one row per slot)."""

    __tablename__ = "slot_observations"

    slot_start_utc: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    pv_kwh: Mapped[float]
    load_kwh: Mapped[float]
    grid_import_kwh: Mapped[float]
    grid_export_kwh: Mapped[float]
    battery_charge_kwh: Mapped[float]
    battery_discharge_kwh: Mapped[float]
    water_heater_kwh: Mapped[float]
    soc_end_percent: Mapped[float | None]
    water_temp_c: Mapped[float | None]
    import_price_sek_per_kwh: Mapped[float]
    export_price_sek_per_kwh: Mapped[float]
    recorded_at: Mapped[str] = mapped_column(String(_ISO_LEN))


class Plan(Base):
    """One planned horizon (a ``schedule.json`` ``meta``); one per ``(planned_at, mode)``."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("planned_at", "mode", name="uq_plans_planned_at_mode"),)

    plan_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    planned_at: Mapped[str] = mapped_column(String(_ISO_LEN))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    objective_sek: Mapped[float | None]
    solve_time_ms: Mapped[float | None]
    horizon_start_utc: Mapped[int]
    horizon_end_utc: Mapped[int]


class SlotPlan(Base):
    """One slot of a plan: a ``schedule.json`` row with its start as an integer UTC key."""

    __tablename__ = "slot_plans"
    __table_args__ = (
        UniqueConstraint("plan_id", "slot_start_utc", name="uq_slot_plans_plan_id_slot_start"),
        Index("ix_slot_plans_slot_start_utc", "slot_start_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.plan_id", ondelete="CASCADE"))
    slot_start_utc: Mapped[int]
    slot_end_utc: Mapped[int]
    import_price_sek_per_kwh: Mapped[float]
    export_price_sek_per_kwh: Mapped[float]
    adjusted_pv_kwh: Mapped[float | None]
    adjusted_load_kwh: Mapped[float | None]
    battery_charge_kw: Mapped[float]
    battery_discharge_kw: Mapped[float]
    grid_import_kw: Mapped[float]
    grid_export_kw: Mapped[float]
    water_heating_kw: Mapped[float]
    ev_charging_kw: Mapped[float]
    pv_curtailment_kw: Mapped[float]
    load_shedding_kw: Mapped[float]
    projected_soc_percent: Mapped[float]
    soc_target_percent: Mapped[float | None]
    planned_cost_sek: Mapped[float | None]
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))


class ExecutionLog(Base):
    """One executor tick (one row per ``at_utc``): what was planned, commanded and observed."""

    __tablename__ = "execution_log"
    __table_args__ = (UniqueConstraint("at_utc", name="uq_execution_log_at_utc"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at_utc: Mapped[int]
    slot_start_utc: Mapped[int | None]
    planned_action: Mapped[str | None] = mapped_column(String(32))
    commanded: Mapped[str]  # JSON text (sorted keys)
    observed_soc_percent: Mapped[float | None]
    note: Mapped[str | None]


class SpotPrice(Base):
    """One cached day-ahead market slot (Nord Pool), per area and currency.

    A delivery day is cached whole or not at all (:mod:`darkstar.learning.store.prices`);
    ``final`` is false for preliminary prices, which are fetched again.
    """

    __tablename__ = "spot_prices"
    __table_args__ = (
        UniqueConstraint("area", "currency", "start_utc", name="uq_spot_prices_area"),
        Index("ix_spot_prices_delivery_date", "area", "currency", "delivery_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    area: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    delivery_date: Mapped[str] = mapped_column(String(10))
    start_utc: Mapped[int]
    end_utc: Mapped[int]
    spot_per_kwh: Mapped[float]
    final: Mapped[bool]
    fetched_at: Mapped[str] = mapped_column(String(_ISO_LEN))


class SlotForecast(Base):
    """One slot of a forecast issued at ``issued_at_utc``: P10/P50/P90 of PV and load."""

    __tablename__ = "slot_forecasts"
    __table_args__ = (
        UniqueConstraint("issued_at_utc", "slot_start_utc", name="uq_slot_forecasts_issued_at_utc"),
        Index("ix_slot_forecasts_slot_start_utc", "slot_start_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    issued_at_utc: Mapped[int]
    slot_start_utc: Mapped[int]
    pv_p10_kwh: Mapped[float]
    pv_p50_kwh: Mapped[float]
    pv_p90_kwh: Mapped[float]
    load_p10_kwh: Mapped[float]
    load_p50_kwh: Mapped[float]
    load_p90_kwh: Mapped[float]
    pv_source: Mapped[str] = mapped_column(String(64))
    load_source: Mapped[str] = mapped_column(String(64))


class ForecastModel(Base):
    """A trained Aurora model (``target`` ``pv`` or ``load``): where its files are, how good."""

    __tablename__ = "forecast_models"
    __table_args__ = (UniqueConstraint("target", "version", name="uq_forecast_models_target"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(8))
    version: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[str] = mapped_column(String(_ISO_LEN))
    train_start_utc: Mapped[int]
    train_end_utc: Mapped[int]
    path: Mapped[str] = mapped_column(String(512))
    metrics: Mapped[str] = mapped_column(Text)  # JSON text (sorted keys)
    active: Mapped[bool]


class WeatherRun(Base):
    """One hour of a weather forecast run fetched at ``issued_at_utc`` (hourly means).

    Irradiance [W/m²], air temperature [°C] and cloud cover [%] as the run forecast the
    hour starting at ``hour_utc``; one row per ``(issued_at_utc, hour_utc)``.
    """

    __tablename__ = "weather_runs"
    __table_args__ = (Index("ix_weather_runs_hour_utc", "hour_utc"),)

    issued_at_utc: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hour_utc: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ghi_w_per_m2: Mapped[float]
    dni_w_per_m2: Mapped[float]
    dhi_w_per_m2: Mapped[float]
    temp_air_c: Mapped[float]
    cloud_cover_percent: Mapped[float]


class StrategyLogEntry(Base):
    """One strategy decision or Reflex step (proposal, applied change) at ``at_utc``.

    ``inputs`` holds the signal the decision came from, ``before`` and ``after`` the
    affected config keys' values (all three JSON text, sorted keys).
    """

    __tablename__ = "strategy_log"
    __table_args__ = (Index("ix_strategy_log_kind_rule_at", "kind", "rule", "at_utc"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at_utc: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)  # JSON text (sorted keys)
    before: Mapped[str] = mapped_column(Text)  # JSON text (sorted keys)
    after: Mapped[str] = mapped_column(Text)  # JSON text (sorted keys)


class DailyMetricsRow(Base):
    """The Analyst's metrics of one local day (``day``, ``YYYY-MM-DD`` in ``timezone``).

    Forecast errors are per slot [kWh] against the P50 as issued (forecast - actual), costs
    [SEK], the realised battery efficiency a fraction, the SoC tracking error [percentage
    points]; a column is NULL when the day had no data for it. One row per day: the
    Analyst recomputes a day (later observations may have arrived) and replaces its row.
    """

    __tablename__ = "learning_daily_metrics"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    observed_slots: Mapped[int]
    matched_slots: Mapped[int]
    forecast_slots: Mapped[int]
    pv_mae_kwh: Mapped[float | None]
    pv_bias_kwh: Mapped[float | None]
    load_mae_kwh: Mapped[float | None]
    load_bias_kwh: Mapped[float | None]
    planned_cost_sek: Mapped[float | None]
    actual_cost_sek: Mapped[float | None]
    cost_deviation_sek: Mapped[float | None]
    battery_efficiency_realized: Mapped[float | None]
    soc_tracking_error_percent: Mapped[float | None]
    low_soc_events: Mapped[int | None]
    computed_at: Mapped[str] = mapped_column(String(_ISO_LEN))
