// Shapes of the HTTP API (docs/api.md). Keep in step with that page.

export type FieldError = { field: string; message: string };

export type OverrideKind = "charge" | "discharge" | "hold" | "water_boost";
export type Override = { kind: OverrideKind; until: string; created_at: string };

/** The inputs of one period of the S-Index (the next 24 h, or one local day 2 or 3). */
export type SIndexPeriod = {
  pv_kwh: number;
  pv_deficit: number | null;
  temperature_c: number | null;
  cold: number;
  added: number;
};

export type SIndex = {
  mode: string;
  load_factor: number;
  pv_confidence_percent: number;
  target_soc_percent: number;
  target_soc_at: string | null;
  risk?: number;
  factor_inputs?: {
    base_factor?: number;
    next_24h?: SIndexPeriod;
    load_spread?: number;
    risk_appetite?: number;
    note?: string;
    [k: string]: unknown;
  };
  risk_inputs?: { days?: Record<string, SIndexPeriod>; note?: string; pv_note?: string; [k: string]: unknown };
  overlay?: {
    enabled: boolean;
    applied?: boolean;
    reason?: string;
    pv_change_kwh?: number;
    load_change_kwh?: number;
    pv_hours_measured?: number;
    load_hours_measured?: number;
  };
};

/** One Strategy Engine decision of a plan (meta.strategy_engine.decisions). */
export type EngineDecision = {
  rule: string;
  parameter: string;
  before: number | null;
  after: number;
  reason: string;
  inputs: Record<string, unknown>;
};

export type Status = {
  now: string;
  timezone: string;
  running: boolean;
  speed: number;
  soc_percent: number | null;
  battery_kw: number;
  grid_kw: number;
  pv_kw: number;
  load_kw: number;
  water_temp_c: number | null;
  import_price_sek_per_kwh: number | null;
  export_price_sek_per_kwh: number | null;
  current_action: string | null;
  current_reason: string | null;
  plan: {
    planned_at: string | null;
    status: string;
    objective_sek: number | null;
    solve_time_ms: number | null;
  };
  s_index: SIndex | null;
  executor: {
    shadow: boolean;
    override: Override | null;
    water_override: Override | null;
    /** Why the last slot was not executed as planned (e.g. "SoC unreadable: nothing written"). */
    safe_state: string | null;
  };
  cost_today_sek: number;
  /** Whether plans include the water heater. */
  water_planned: boolean;
  /** Minutes today whose slot ended with the tank below 40 °C (comfort misses). */
  water_cold_minutes_today: number;
  /** What is degraded right now, in words (e.g. "storage: cannot write ..."); empty when all is well. */
  problems: string[];
  /** Where each planning input came from, how far it reaches or how old it is, and its fault. */
  inputs: InputSource[];
  /** The car (null without one): its state, departure and what the plan in force does. */
  ev?: EvStatus | null;
  /** This month's capacity tariff (null without one): counted peaks and their charge. */
  capacity_tariff?: CapacityTariffStatus | null;
};

export type EvStatus = {
  soc_percent: number | null;
  plugged_in: boolean | null;
  departure: string | null;
  target_soc_percent: number;
  charging_kw: number | null;
  target_met: boolean | null;
  shortfall_kwh: number | null;
  problem: string | null;
};

export type CapacityTariffStatus = {
  month: string;
  sek_per_kw_month: number;
  peaks_counted: number;
  peaks_kw: number[];
  billed_peak_kw: number;
  charge_sek: number;
  planned_billed_peak_kw: number | null;
};

/** One planning input (prices, PV forecast, load forecast, backfill) and its origin. */
export type InputSource = {
  name: string;
  source: string | null;
  detail: string | null;
  fault: string | null;
};

export type Action = "charge" | "pv_charge" | "discharge" | "export" | "hold";

export type ScheduleRow = {
  start: string;
  end: string;
  import_price_sek_per_kwh: number;
  export_price_sek_per_kwh: number;
  adjusted_pv_kwh: number;
  adjusted_load_kwh: number;
  battery_charge_kw: number;
  battery_discharge_kw: number;
  grid_import_kw: number;
  grid_export_kw: number;
  water_heating_kw: number;
  ev_charging_kw: number;
  /** The car's SoC at the slot's end; null without a car in the plan. */
  ev_soc_percent?: number | null;
  pv_curtailment_kw: number;
  load_shedding_kw: number;
  projected_soc_percent: number;
  projected_soc_kwh: number;
  soc_target_percent: number;
  planned_cost_sek: number;
  action: Action;
  reason: string;
  /**
   * Forecast quantiles of the slot's energy [kWh], only when the plan had a probabilistic
   * forecast (P10 <= P50 <= P90). `adjusted_*` is what the planner used and may differ from P50.
   */
  pv_p10_kwh?: number | null;
  pv_p90_kwh?: number | null;
  load_p10_kwh?: number | null;
  load_p90_kwh?: number | null;
};

export type ScheduleMeta = {
  planned_at: string;
  status: string;
  mode: string;
  objective_sek: number;
  energy_cost_sek: number;
  solve_time_ms: number;
  s_index: SIndex | null;
  target_soc_percent: number | null;
  timezone: string;
  slot_minutes: number;
  warnings: string[];
  [k: string]: unknown;
};

export type ScheduleDocument = { meta: ScheduleMeta; schedule: ScheduleRow[] };

export type HistorySlot = {
  start: string;
  end: string;
  import_price_sek_per_kwh: number;
  export_price_sek_per_kwh: number;
  planned_soc_percent: number | null;
  actual_soc_percent: number | null;
  pv_kw: number;
  load_kw: number;
  grid_import_kw: number;
  grid_export_kw: number;
  battery_charge_kw: number;
  battery_discharge_kw: number;
  water_heating_kw: number;
  planned_cost_sek: number | null;
  actual_cost_sek: number;
};

export type Job = {
  id: string;
  kind: "plan";
  state: "queued" | "running" | "done" | "failed";
  progress: number;
  message: string;
  created_at: string;
  finished_at: string | null;
};

export type ExecutorTick = {
  at: string;
  slot_start: string;
  planned_action: string | null;
  mode: string;
  charge_limit_kw: number;
  discharge_limit_kw: number;
  soc_target_percent: number;
  water_setpoint_c: number | null;
  planned_soc_percent: number | null;
  observed_soc_percent: number | null;
  applied: boolean;
  note: string | null;
};

export type Notification = { at: string; level: "info" | "warning" | "error"; message: string };

export type ConfigKind = "number" | "integer" | "boolean" | "string" | "list" | "null";
export type ConfigField = {
  key: string;
  group: string;
  value: unknown;
  default: unknown;
  help: string;
  kind: ConfigKind;
  nullable: boolean;
};

export type ManualAction = "charge" | "discharge" | "hold";
export type ManualBlock = { start: string; end: string; action: ManualAction };

export type LogRecord = { at: string; level: string; logger: string; message: string };

export type StrategyEntry = {
  at: string;
  kind: string;
  message: string;
  values: Record<string, number | string | null>;
  /** Rows of the store's strategy log (Reflex, Strategy Engine); absent from older servers. */
  rule?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  inputs?: Record<string, unknown> | null;
};

export type StrategyLog = { entries: StrategyEntry[]; problem?: string | null };

export type Performance = {
  soc_tunnel: {
    start: string;
    planned_soc_percent: number | null;
    actual_soc_percent: number | null;
    low_soc_percent: number | null;
    high_soc_percent: number | null;
  }[];
  cost_reality: { day: string; planned_cost_sek: number | null; actual_cost_sek: number | null }[];
};

/** The latest assessment of one Reflex analyzer (proposed null: it holds; reason says why). */
export type Proposal = {
  key: string;
  current: unknown;
  proposed: unknown;
  reason: string;
  analyzer?: string;
  /** Hard bounds of the key [low, high], in its unit. */
  bounds?: [number, number] | null;
  /** The signal in a few words, e.g. "9.00 kWh, 30 deep discharges". */
  signal_summary?: string;
  signal?: Record<string, unknown>;
};

export type ReflexRunState = "done" | "failed";

/** One Reflex run in a few fields (at: its analysis time, house time). */
export type ReflexRunSummary = {
  at: string;
  reason: "scheduled" | "requested";
  state: ReflexRunState;
  dry_run: boolean;
  proposed: number;
  applied: number;
  error: string | null;
};

/** POST /reflex/run and the live "reflex" message: the run with its report. */
export type ReflexRun = ReflexRunSummary & { report: Record<string, unknown> | null };

/** A Reflex row of the strategy log: a proposal or an applied change of one key. */
export type ReflexHistoryRow = {
  at: string;
  kind: string;
  rule: string;
  key: string;
  before: number | null;
  after: number | null;
  message: string;
};

export type Reflex = {
  enabled: boolean;
  proposals: Proposal[];
  note: string;
  /** The fields below are absent from older servers. */
  running?: boolean;
  assessed_at?: string | null;
  last_run?: ReflexRunSummary | null;
  next_run?: string | null;
  history?: ReflexHistoryRow[];
};

export type ForecastTarget = "pv" | "load";
/** prior: physics only; residual: a model of the prior's error; model: a model on its own. */
export type ModelStage = "prior" | "residual" | "model";

/** One forecast model in use (GET /aurora bridge.models). */
export type AuroraModel = {
  target: ForecastTarget;
  stage: ModelStage;
  version: string | null;
  /** ISO 8601 with offset. */
  trained_at: string | null;
  history_days: number;
  rows: number;
  train_s: number | null;
  /** Validation P50 MAE of what is used [kW]. */
  mae_kw: number | null;
  /** Validation MAE of the naive baseline [kW]. */
  baseline_mae_kw: number | null;
  /** A sentence, e.g. "physics prior until 4 days of history". */
  note: string;
};

export type TrainingState = "idle" | "running" | "done" | "failed";

/** The forecast models' (re)training (GET /aurora bridge.training, POST /aurora/retrain, live). */
export type AuroraTraining = {
  state: TrainingState;
  /** 0..1 */
  progress: number;
  message: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** The next scheduled retraining. */
  next_at: string | null;
  /** e.g. "Mon, Thu at 03:00" */
  schedule: string | null;
};

/** POST /aurora/retrain (202). */
export type RetrainReply = { training: AuroraTraining };

export type Aurora = {
  bridge: {
    status: string;
    forecaster: string;
    /** Empty before the first training (and from older servers). */
    models: AuroraModel[];
    /** Absent from older servers. */
    training?: AuroraTraining | null;
    accuracy: { pv_mae_kwh: number | null; load_mae_kwh: number | null; window_days: number };
  };
  radar: {
    price: { mean: number; min: number; max: number; spread: number; volatility: number };
    weather: { pv_next_24h_kwh: number | null; pv_day2_kwh: number | null };
    risk: { level: "low" | "medium" | "high"; reason: string };
    inputs: InputSource[];
  };
  reflex: Reflex;
};

export type ExecutorState = {
  shadow: boolean;
  override: Override | null;
  water_override: Override | null;
  safe_state: string | null;
  ticks: ExecutorTick[];
  notifications: Notification[];
};

export type SimulateResult = {
  schedule: ScheduleDocument;
  current_cost_sek: number;
  simulated_cost_sek: number;
  delta_sek: number;
};

export type LiveMessage =
  | { type: "auth"; data: { ok: boolean } }
  | { type: "status"; data: Status }
  | { type: "schedule"; data: { planned_at: string; status: string } }
  | { type: "job"; data: Job }
  | { type: "aurora_training"; data: AuroraTraining }
  | { type: "reflex"; data: ReflexRun };

/** POST /planning/whatif/export: the re-plan with an export commitment, nothing saved. */
export type ExportWhatIfResult = {
  mode: string;
  at: string;
  energy_kwh: number;
  window: { start: string; end: string; first_slot: number; end_slot: number };
  base_cost_sek: number;
  whatif_cost_sek: number;
  /** whatif - base: negative = the export earns money. */
  net_impact_sek: number;
  base_export_kwh: number;
  whatif_export_kwh: number;
  shortfall_kwh: number;
  soc_end_change_kwh: number;
  base_status: string;
  whatif_status: string;
  warnings: string[];
};

/** Min, mean and max of a per-slot series (null for an empty horizon). */
export type SeriesStats = { min: number | null; mean: number | null; max: number | null };

/** One kind of constraint the plan sits on, with the slots where it does (docs/api.md). */
export type BindingConstraint = {
  name: string;
  description: string;
  unit: "kW" | "kWh";
  slots: number[];
  starts: string[];
  /** The bound the solution sits on, per listed slot. */
  bound: (number | null)[];
  detail?: Record<string, unknown>;
};

/** The plan in force's planner_debug.json (GET /planner/debug). */
export type PlannerDebug = {
  schema_version: number;
  planned_at: string;
  status: string;
  slot_starts: string[];
  inputs: {
    n_slots: number;
    first_slot_start: string;
    last_slot_start: string;
    horizon_end: string;
    slot_minutes: number;
    timezone: string;
    import_price_sek_per_kwh: SeriesStats;
    export_price_sek_per_kwh: SeriesStats;
    pv_forecast_kwh: number | null;
    load_forecast_kwh: number | null;
    adjusted_pv_kwh: number | null;
    adjusted_load_kwh: number | null;
    initial_soc_percent: number | null;
    water_heated_today_kwh: number | null;
    battery: Record<string, number | null> | null;
    grid: { max_power_kw: number | null; import_cap_kw: number | null; export_enabled: boolean };
    water_heater: boolean;
    ev: { soc_percent: number | null; plugged_in: boolean; departure: string | null; target_soc_percent: number | null } | null;
    month_peaks_kw: (number | null)[] | null;
    /** Per optional slot field (pv_p10_kwh, ..., temperature_c): how many slots carry it. */
    optional_fields: Record<string, number>;
  };
  strategy: {
    mode: string;
    load_factor?: number;
    pv_confidence_percent?: number;
    target_soc_percent?: number | null;
    target_soc_at?: string | null;
    plan_mode: string | null;
    target_soc_slot: number | null;
    target_soc_kwh: number | null;
    target_soc_penalty_sek_per_kwh: number | null;
    terminal_value_sek_per_kwh: number | null;
    export_threshold_sek_per_kwh: number | null;
    manual_slots: number;
  };
  solver: {
    name: string;
    status: string;
    termination: string;
    variables: number;
    constraints: number;
    binaries: number;
    solves: number;
    solve_time_ms: number | null;
    mip_gap: number | null;
    mip_gap_limit: number | null;
    time_limit_s: number | null;
    objective_sek: number | null;
    fallback_reason: string | null;
    warnings: string[];
  };
  binding: {
    tolerance_frac: number;
    /** Why `constraints` is null (a fallback plan has no solver rows). */
    reason: string | null;
    constraints: BindingConstraint[] | null;
  };
  /** Per slot: SEK saved per extra kWh stored at the slot's end; null with marginal_value.reason. */
  marginal_value_sek_per_kwh: (number | null)[] | null;
  marginal_value: {
    definition: string;
    reason: string | null;
    lp_termination: string | null;
    lp_solve_time_ms: number | null;
    lp_objective_sek: number | null;
  };
};
