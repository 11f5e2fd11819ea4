"""Response and request bodies of the API (``docs/api.md``), as pydantic models.

Every route declares one of these as its ``response_model``, so the OpenAPI document
describes every reply. Times are ISO 8601 strings with the house's local offset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

__all__ = [
    "ActionRequest",
    "ClearOut",
    "FieldErrorOut",
    "OverrideState",
    "ResetOut",
    "ShadowOut",
    "WaterBoostOut",
    "AuroraOut",
    "BlocksIn",
    "BlocksOut",
    "ConfigChanges",
    "ConfigOut",
    "ErrorOut",
    "ExecutorOut",
    "ForecastsOut",
    "HealthOut",
    "HistoryOut",
    "JobOut",
    "LearningOut",
    "LogsOut",
    "ManualBlockIn",
    "OverrideOut",
    "PerformanceOut",
    "PlannerDebugOut",
    "ReflexHistoryOut",
    "ReflexIn",
    "ReflexOut",
    "ReflexRunOut",
    "ReflexRunSummaryOut",
    "ScheduleDocument",
    "ShadowIn",
    "SimulateOut",
    "StatusOut",
    "StrategyLogOut",
    "ValidateOut",
    "WaterBoostIn",
]

Number = float | None


class _In(BaseModel):
    """A request body: unknown keys are refused and nothing is coerced.

    ``"yes"`` is not ``true`` and ``"60"`` is not ``60`` (the review found both taken).
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class FieldErrorOut(BaseModel):
    """A message for one field or config key."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error reply."""

    detail: str
    errors: list[FieldErrorOut] = []


class HealthOut(BaseModel):
    """Liveness and version."""

    status: Literal["ok", "degraded"]
    problems: list[str] = []
    version: str
    uptime_s: float
    sim_time: str | None


class OverrideOut(BaseModel):
    """A user override of the executor."""

    kind: Literal["charge", "discharge", "hold", "water_boost"]
    until: str
    created_at: str


class SIndexOut(BaseModel):
    """S-Index values of a plan."""

    model_config = ConfigDict(extra="allow")
    mode: str
    load_factor: float
    pv_confidence_percent: float
    target_soc_percent: float | None = None
    target_soc_at: str | None = None
    risk: float | None = Field(None, description="Day 2-3 risk behind the target SoC.")
    factor_inputs: dict[str, Any] | None = Field(None, description="What set load_factor.")
    risk_inputs: dict[str, Any] | None = Field(None, description="What set risk, per day.")
    overlay: dict[str, Any] | None = Field(None, description="The Analyst's overlay.")


class PlanSummary(BaseModel):
    """The plan in force."""

    planned_at: str | None
    status: str
    objective_sek: Number
    solve_time_ms: Number


class ExecutorState(BaseModel):
    """Executor mode and overrides."""

    shadow: bool
    override: OverrideOut | None
    water_override: OverrideOut | None
    safe_state: str | None = None


class InputSourceOut(BaseModel):
    """Where one planning input came from, how far or how old it is, and its fault."""

    name: str
    source: str | None
    detail: str | None
    fault: str | None


class EvStatusOut(BaseModel):
    """The car now and what the plan in force does for it."""

    soc_percent: Number
    plugged_in: bool | None
    departure: str | None
    target_soc_percent: float
    charging_kw: Number
    target_met: bool | None
    shortfall_kwh: Number
    problem: str | None


class CapacityTariffStatusOut(BaseModel):
    """The capacity tariff of the current month: counted peaks so far and their cost."""

    month: str
    sek_per_kw_month: float
    peaks_counted: int
    peaks_kw: list[float]
    billed_peak_kw: float
    charge_sek: float
    planned_billed_peak_kw: Number


class StatusOut(BaseModel):
    """Live status of the house, the plan and the executor."""

    now: str
    timezone: str
    running: bool
    speed: float
    soc_percent: Number
    battery_kw: float
    grid_kw: float
    pv_kw: float
    load_kw: float
    water_temp_c: Number
    import_price_sek_per_kwh: Number
    export_price_sek_per_kwh: Number
    current_action: str | None
    current_reason: str | None
    plan: PlanSummary
    s_index: SIndexOut | None
    executor: ExecutorState
    cost_today_sek: float
    water_planned: bool = False
    water_cold_minutes_today: float = 0.0
    problems: list[str] = []
    inputs: list[InputSourceOut] = []
    ev: EvStatusOut | None = None
    capacity_tariff: CapacityTariffStatusOut | None = None


class ScheduleRow(BaseModel):
    """One slot of ``schedule.json`` (DESIGN §3.2)."""

    model_config = ConfigDict(extra="allow")
    start: str
    end: str
    import_price_sek_per_kwh: float
    export_price_sek_per_kwh: float
    adjusted_pv_kwh: float
    adjusted_load_kwh: float
    battery_charge_kw: float
    battery_discharge_kw: float
    grid_import_kw: float
    grid_export_kw: float
    water_heating_kw: float
    ev_charging_kw: float
    ev_soc_percent: float | None = None
    pv_curtailment_kw: float
    load_shedding_kw: float
    projected_soc_percent: float
    projected_soc_kwh: float
    soc_target_percent: float
    planned_cost_sek: float
    action: str
    reason: str


class ScheduleMeta(BaseModel):
    """``meta`` of ``schedule.json``."""

    model_config = ConfigDict(extra="allow")
    planned_at: str
    status: str
    mode: str
    objective_sek: float
    energy_cost_sek: float
    solve_time_ms: float
    timezone: str
    slot_minutes: int
    warnings: list[str]


class ScheduleDocument(BaseModel):
    """The current ``schedule.json``."""

    meta: ScheduleMeta
    schedule: list[ScheduleRow]


class PlannerDebugOut(BaseModel):
    """``planner_debug.json`` of the plan in force (``docs/api.md``, *Planner debug*)."""

    model_config = ConfigDict(extra="allow")
    schema_version: int
    planned_at: str
    status: str
    slot_starts: list[str]
    inputs: dict[str, Any]
    strategy: dict[str, Any]
    solver: dict[str, Any]
    binding: dict[str, Any]
    marginal_value_sek_per_kwh: list[float | None] | None = Field(
        description="Per slot: SEK saved per extra kWh stored at the slot's end; "
        "null without a Kepler solution or a battery."
    )
    marginal_value: dict[str, Any]


class HistorySlotOut(BaseModel):
    """One measured slot with the plan that covered it."""

    start: str
    end: str
    import_price_sek_per_kwh: float
    export_price_sek_per_kwh: float
    planned_soc_percent: Number
    actual_soc_percent: Number
    pv_kw: float
    load_kw: float
    grid_import_kw: float
    grid_export_kw: float
    battery_charge_kw: float
    battery_discharge_kw: float
    water_heating_kw: float
    planned_cost_sek: Number
    actual_cost_sek: float


class HistoryOut(BaseModel):
    """Measured slots, oldest first."""

    slots: list[HistorySlotOut]


class JobOut(BaseModel):
    """A long-running request."""

    id: str
    kind: Literal["plan"]
    state: Literal["queued", "running", "done", "failed"]
    progress: float
    message: str
    created_at: str
    finished_at: str | None


class ForecastSlotOut(BaseModel):
    """PV and load forecast quantiles of one slot [kW]."""

    start: str
    pv_p10_kw: Number
    pv_p50_kw: float
    pv_p90_kw: Number
    load_p10_kw: Number
    load_p50_kw: float
    load_p90_kw: Number


class ForecastsOut(BaseModel):
    """Forecasts of the current plan's horizon."""

    source: str
    timezone: str
    slots: list[ForecastSlotOut]


class StrategyEntryOut(BaseModel):
    """One strategy decision.

    Entries from the store's strategy log (Reflex, the Strategy Engine) also say which
    ``rule`` decided, from what ``inputs``, and the values ``before`` and ``after``; the
    service's own entries (plans, warnings, config changes) carry ``values``.
    """

    at: str
    kind: str
    message: str
    values: dict[str, float | str | None]
    rule: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None


class StrategyLogOut(BaseModel):
    """Strategy decisions, newest first."""

    entries: list[StrategyEntryOut]
    problem: str | None = None


class DayMetricsOut(BaseModel):
    """Metrics of one local day."""

    day: str
    observed_slots: int
    matched_slots: int
    actual_cost_sek: float
    planned_cost_sek: Number
    cost_deviation_sek: Number
    battery_charge_kwh: float
    battery_discharge_kwh: float
    battery_efficiency_realized: Number
    pv_mae_kwh: Number
    load_mae_kwh: Number


class LearningOut(BaseModel):
    """Daily metrics, oldest first."""

    days: list[DayMetricsOut]


class TunnelSlotOut(BaseModel):
    """Planned and actual SoC of one slot and the range the plans projected [%]."""

    start: str
    planned_soc_percent: Number
    actual_soc_percent: Number
    low_soc_percent: Number
    high_soc_percent: Number


class CostDayOut(BaseModel):
    """Planned vs realised cost of one local day."""

    day: str
    planned_cost_sek: Number
    actual_cost_sek: float


class PerformanceOut(BaseModel):
    """Performance mirror."""

    soc_tunnel: list[TunnelSlotOut]
    cost_reality: list[CostDayOut]


class ReflexIn(_In):
    """Turn Reflex on or off."""

    enabled: bool


class ReflexRunSummaryOut(BaseModel):
    """One Reflex run in a few fields (``at``: its analysis time, house time)."""

    at: str
    reason: Literal["scheduled", "requested"]
    state: Literal["done", "failed"]
    dry_run: bool
    proposed: int
    applied: int
    error: str | None


class ReflexRunOut(ReflexRunSummaryOut):
    """A Reflex run and its report (``ReflexReport.to_dict``: assessments, applied, ...)."""

    report: dict[str, Any] | None


class ReflexHistoryOut(BaseModel):
    """A Reflex row of the strategy log: a proposal or an applied change of one key."""

    at: str
    kind: str
    rule: str
    key: str
    before: float | None
    after: float | None
    message: str


class ReflexOut(BaseModel):
    """Reflex state and proposals.

    ``proposals`` holds the latest assessment of each analyzer (``proposed`` null: it
    holds, ``reason`` says why) with its ``bounds`` and ``signal_summary``.
    """

    enabled: bool
    proposals: list[dict[str, Any]]
    note: str
    running: bool = False
    assessed_at: str | None = None
    last_run: ReflexRunSummaryOut | None = None
    next_run: str | None = None
    history: list[ReflexHistoryOut] = []


class TrainingOut(BaseModel):
    """Aurora's training job: state, progress and schedule (times ISO 8601)."""

    state: str
    progress: float
    message: str | None
    reason: str | None
    started_at: str | None
    finished_at: str | None
    next_at: str | None
    schedule: str


class RetrainOut(BaseModel):
    """A retraining accepted: the job's state (progress follows on the WebSocket)."""

    training: TrainingOut


class AuroraOut(BaseModel):
    """Aurora cockpit: Bridge, Context Radar, Reflex."""

    bridge: dict[str, Any]
    radar: dict[str, Any]
    reflex: ReflexOut


class ExecutorTickOut(BaseModel):
    """One executed slot: planned vs commanded vs observed."""

    at: str
    slot_start: str
    planned_action: str | None
    mode: str
    charge_limit_kw: float
    discharge_limit_kw: float
    soc_target_percent: float
    water_setpoint_c: Number
    planned_soc_percent: Number
    observed_soc_percent: Number
    applied: bool
    note: str | None


class NotificationOut(BaseModel):
    """A notification."""

    at: str
    level: Literal["info", "warning", "error"]
    message: str


class ExecutorOut(BaseModel):
    """Executor status, ticks and notifications, newest first."""

    shadow: bool
    override: OverrideOut | None
    water_override: OverrideOut | None
    safe_state: str | None = None
    ticks: list[ExecutorTickOut]
    notifications: list[NotificationOut]


class ShadowIn(_In):
    """Turn shadow mode on or off."""

    enabled: bool


class ShadowOut(BaseModel):
    """Shadow mode state."""

    shadow: bool


class ActionRequest(_In):
    """A quick action: a battery override for ``minutes`` of house time; ``auto`` clears."""

    action: Literal["charge", "discharge", "hold", "auto"]
    minutes: int = Field(60, ge=15, le=720)


class OverrideState(BaseModel):
    """The battery override after a quick action."""

    override: OverrideOut | None


class WaterBoostIn(_In):
    """Boost the water heater for ``minutes`` of house time; 0 cancels."""

    minutes: int = Field(60, ge=0, le=240)


class WaterBoostOut(BaseModel):
    """The water override after a boost request."""

    water_override: OverrideOut | None


_DATE_TIME: JsonDict = {"format": "date-time"}


class ManualBlockIn(_In):
    """A manual block: a battery action over a time range (ISO 8601; no offset = house time)."""

    start: str = Field(json_schema_extra=_DATE_TIME)
    end: str = Field(json_schema_extra=_DATE_TIME)
    action: Literal["charge", "discharge", "hold"]


class BlocksIn(_In):
    """Manual blocks to simulate or save."""

    blocks: list[ManualBlockIn] = Field(max_length=50)


class BlocksOut(BaseModel):
    """The saved manual blocks."""

    blocks: list[ManualBlockIn]


class SimulateOut(BaseModel):
    """A plan with the given blocks next to the plan in force."""

    schedule: ScheduleDocument
    current_cost_sek: float
    simulated_cost_sek: float
    delta_sek: float


class ConfigFieldOut(BaseModel):
    """One config key."""

    key: str
    group: str
    value: Any
    default: Any
    help: str
    kind: Literal["number", "integer", "boolean", "string", "list", "null"]
    nullable: bool


class ConfigOut(BaseModel):
    """The configuration, key by key."""

    path: str
    fields: list[ConfigFieldOut]


class ConfigChanges(_In):
    """Changed config keys, dotted (``battery.capacity_kwh``)."""

    changes: dict[str, Any] = Field(max_length=200)


class ValidateOut(BaseModel):
    """Validation result."""

    valid: bool
    errors: list[FieldErrorOut]


class ResetOut(BaseModel):
    """Rows deleted from the learning store."""

    deleted_rows: int


class ClearOut(BaseModel):
    """Caches cleared."""

    cleared: list[str]


class LogRecordOut(BaseModel):
    """One log record."""

    at: str
    level: str
    logger: str
    message: str


class LogsOut(BaseModel):
    """Log records, newest first."""

    records: list[LogRecordOut]


class ExportWhatIfIn(BaseModel):
    """An export commitment to try: ``energy_kwh`` within the hour ``at``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    energy_kwh: float = Field(ge=0, le=1000, description="Energy to export [kWh].")
    at: str = Field(
        "tomorrow peak",
        max_length=64,
        description="'today peak', 'tomorrow peak' or a local time (ISO 8601).",
    )


class ExportWindowOut(BaseModel):
    """The hour the export is committed in."""

    start: str
    end: str
    first_slot: int
    end_slot: int


class ExportWhatIfOut(BaseModel):
    """The export what-if: both plans' costs and the net impact [SEK]."""

    mode: str
    at: str
    energy_kwh: float
    window: ExportWindowOut
    base_cost_sek: float
    whatif_cost_sek: float
    net_impact_sek: float
    base_export_kwh: float
    whatif_export_kwh: float
    shortfall_kwh: float
    soc_end_change_kwh: float
    base_status: str
    whatif_status: str
    warnings: list[str]
