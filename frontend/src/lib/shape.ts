// Pure data shaping for the UI: API payloads -> chart series, blocks, config groups.
import type {
  Action,
  ConfigField,
  HistorySlot,
  Performance,
  ScheduleRow,
} from "../api/types";
import { toMs } from "./time";

// ---------------------------------------------------------------- dashboard chart

export const SERIES = [
  "Import price",
  "PV",
  "Load",
  "Charge",
  "Discharge",
  "Export",
  "Water",
  "EV",
  "SoC projected",
  "SoC actual",
  "SoC target",
] as const;
export type SeriesName = (typeof SERIES)[number];

/** Series drawn as steps: one value per slot, valid from the slot's start to its end. */
export const STEP_SERIES: readonly SeriesName[] = [
  "Import price",
  "PV",
  "Load",
  "Charge",
  "Discharge",
  "Export",
  "Water",
  "EV",
  "SoC target",
];
/** Series that are instants: SoC at the END of a slot. */
export const POINT_SERIES: readonly SeriesName[] = ["SoC projected", "SoC actual"];

export type DashboardSeries = {
  /** Common time axis (ms): every slot start and every slot end, ascending, unique. */
  times: number[];
  /** One value per time; null = no data (a gap, or the end point of a step). */
  series: Record<SeriesName, (number | null)[]>;
  now: number;
  start: number | null;
  end: number | null;
};

type Slot = { start: number; end: number; values: Partial<Record<SeriesName, number | null>> };

const round = (v: number, digits = 4) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** kWh in a slot -> average kW over the slot (15 min: x4). */
export function kwhToKw(kwh: number, startMs: number, endMs: number): number {
  const hours = (endMs - startMs) / 3_600_000;
  if (!(hours > 0)) return 0;
  return round(kwh / hours);
}

function num(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Build the 48 h dashboard series. The past comes from the measured history (incl. its
 * import prices, so the left 24 h are full even when the schedule is partial), the future
 * from the schedule. Where both cover a slot, history wins for slots that have ended by
 * `now`, the schedule for the rest. SoC projected/actual are values at slot ends.
 */
export function buildDashboardSeries(
  history: HistorySlot[],
  rows: ScheduleRow[],
  now: number,
): DashboardSeries {
  const hist = new Map<number, HistorySlot>();
  for (const h of history) hist.set(toMs(h.start), h);
  const sched = new Map<number, ScheduleRow>();
  for (const r of rows) sched.set(toMs(r.start), r);

  const slots = new Map<number, Slot>();
  const pointAt = new Map<number, Partial<Record<SeriesName, number | null>>>();
  const setPoint = (t: number, name: SeriesName, v: number | null, overwrite: boolean) => {
    if (v === null) return;
    const p = pointAt.get(t) ?? {};
    if (overwrite || p[name] === undefined || p[name] === null) p[name] = v;
    pointAt.set(t, p);
  };

  const starts = new Set<number>([...hist.keys(), ...sched.keys()]);
  for (const s of starts) {
    const h = hist.get(s);
    const r = sched.get(s);
    const hEnd = h ? toMs(h.end) : NaN;
    const rEnd = r ? toMs(r.end) : NaN;
    const useHistory = h !== undefined && (r === undefined || hEnd <= now);
    if (useHistory && h) {
      slots.set(s, {
        start: s,
        end: hEnd,
        values: {
          "Import price": num(h.import_price_sek_per_kwh),
          PV: num(h.pv_kw),
          Load: num(h.load_kw),
          Charge: num(h.battery_charge_kw),
          Discharge: num(h.battery_discharge_kw),
          Export: num(h.grid_export_kw),
          Water: num(h.water_heating_kw),
          EV: r ? num(r.ev_charging_kw) : null,
          "SoC target": r ? num(r.soc_target_percent) : null,
        },
      });
    } else if (r) {
      slots.set(s, {
        start: s,
        end: rEnd,
        values: {
          "Import price": num(r.import_price_sek_per_kwh),
          PV: kwhToKw(r.adjusted_pv_kwh, s, rEnd),
          Load: kwhToKw(r.adjusted_load_kwh, s, rEnd),
          Charge: num(r.battery_charge_kw),
          Discharge: num(r.battery_discharge_kw),
          Export: num(r.grid_export_kw),
          Water: num(r.water_heating_kw),
          EV: num(r.ev_charging_kw),
          "SoC target": num(r.soc_target_percent),
        },
      });
    }
  }
  // SoC instants at slot ends: the schedule's projection wins over the history's record of
  // what was planned; actual SoC only comes from the history.
  for (const r of rows) setPoint(toMs(r.end), "SoC projected", num(r.projected_soc_percent), true);
  for (const h of history) {
    setPoint(toMs(h.end), "SoC projected", num(h.planned_soc_percent), false);
    setPoint(toMs(h.end), "SoC actual", num(h.actual_soc_percent), true);
  }

  const timeSet = new Set<number>();
  for (const sl of slots.values()) {
    timeSet.add(sl.start);
    timeSet.add(sl.end);
  }
  for (const t of pointAt.keys()) timeSet.add(t);
  const times = [...timeSet].filter(Number.isFinite).sort((a, b) => a - b);

  const series = Object.fromEntries(SERIES.map((n) => [n, times.map(() => null)])) as Record<
    SeriesName,
    (number | null)[]
  >;
  times.forEach((t, i) => {
    const sl = slots.get(t);
    if (sl) for (const n of STEP_SERIES) series[n][i] = sl.values[n] ?? null;
    const p = pointAt.get(t);
    if (p) for (const n of POINT_SERIES) series[n][i] = p[n] ?? null;
  });
  return {
    times,
    series,
    now,
    start: times.length ? (times[0] as number) : null,
    end: times.length ? (times[times.length - 1] as number) : null,
  };
}

/**
 * ECharts data for a step series (step: "end" = hold the value until the next point):
 * a value followed by null (the end of a slot run) gets a closing point at the slot end,
 * so the last slot before a gap or the horizon is drawn full width.
 */
export function stepData(times: number[], values: (number | null)[]): [number, number | null][] {
  const out: [number, number | null][] = [];
  for (let i = 0; i < times.length; i++) {
    const t = times[i] as number;
    const v = values[i] ?? null;
    const prev = i > 0 ? (values[i - 1] ?? null) : null;
    if (v === null && prev !== null) out.push([t, prev]);
    out.push([t, v]);
  }
  return out;
}

/** Instants as [t, v] pairs; nulls stay so the line breaks at gaps. */
export function pointData(times: number[], values: (number | null)[]): [number, number | null][] {
  return times.map((t, i) => [t, values[i] ?? null]);
}

/** The names of the series that have at least one value. */
export function seriesWithData(s: DashboardSeries): SeriesName[] {
  return SERIES.filter((n) => s.series[n].some((v) => v !== null));
}

// ---------------------------------------------------------------- tooltip placement

/**
 * Put the tooltip in the top corner away from the cursor: cursor in the left half -> top
 * right, else top left. Always inside the chart.
 */
export function tooltipPosition(
  point: [number, number],
  viewSize: [number, number],
  contentSize: [number, number],
  margin = 8,
): [number, number] {
  const [x] = point;
  const [w] = viewSize;
  const [cw] = contentSize;
  const left = x < w / 2 ? Math.max(margin, w - cw - margin) : margin;
  return [left, margin];
}

// ---------------------------------------------------------------- planning blocks

export type Block = {
  action: Action;
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  slots: number;
  avgPrice: number;
  costSek: number;
  reasons: string[];
};

/** Group consecutive slots with the same action (and no gap between them) into blocks. */
export function groupBlocks(rows: ScheduleRow[]): Block[] {
  const blocks: Block[] = [];
  let cur: (Block & { priceSum: number }) | null = null;
  for (const r of rows) {
    const s = toMs(r.start);
    const e = toMs(r.end);
    if (cur && cur.action === r.action && cur.endMs === s) {
      cur.end = r.end;
      cur.endMs = e;
      cur.slots += 1;
      cur.priceSum += r.import_price_sek_per_kwh;
      cur.costSek += r.planned_cost_sek;
      if (!cur.reasons.includes(r.reason)) cur.reasons.push(r.reason);
      continue;
    }
    if (cur) blocks.push(finish(cur));
    cur = {
      action: r.action,
      start: r.start,
      end: r.end,
      startMs: s,
      endMs: e,
      slots: 1,
      avgPrice: 0,
      costSek: r.planned_cost_sek,
      reasons: [r.reason],
      priceSum: r.import_price_sek_per_kwh,
    };
  }
  if (cur) blocks.push(finish(cur));
  return blocks;
}

function finish(b: Block & { priceSum: number }): Block {
  const { priceSum, ...rest } = b;
  return { ...rest, avgPrice: round(priceSum / b.slots), costSek: round(b.costSek) };
}

// ---------------------------------------------------------------- settings

export type ConfigGroup = { group: string; fields: ConfigField[] };

/** Group config fields by `group`, groups and fields in the order the API lists them. */
export function groupConfig(fields: ConfigField[]): ConfigGroup[] {
  const groups = new Map<string, ConfigField[]>();
  for (const f of fields) {
    const g = f.group || "other";
    const list = groups.get(g);
    if (list) list.push(f);
    else groups.set(g, [f]);
  }
  return [...groups].map(([group, fs]) => ({ group, fields: fs }));
}

/** The text an input shows for a config value (lists and unknown values as JSON). */
export function valueToText(field: ConfigField, value: unknown): string {
  if (value === null || value === undefined) return "";
  if (field.kind === "boolean") return value ? "true" : "false";
  if (field.kind === "number" || field.kind === "integer" || field.kind === "string") {
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return typeof value === "string" && field.kind !== "list" ? value : JSON.stringify(value);
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

/** Parse an input's text back to a value for the API according to the field's kind. */
export function textToValue(field: ConfigField, text: string): Parsed {
  const t = text.trim();
  if (t === "" && field.kind !== "string" && field.kind !== "boolean") {
    return field.nullable || field.kind === "null" ? { ok: true, value: null } : { ok: false, message: "a value is required" };
  }
  switch (field.kind) {
    case "boolean":
      return { ok: true, value: t === "true" };
    case "integer": {
      const n = Number(t);
      return Number.isInteger(n) ? { ok: true, value: n } : { ok: false, message: "must be a whole number" };
    }
    case "number": {
      const n = Number(t);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: "must be a number" };
    }
    case "string":
      if (t === "" && field.nullable) return { ok: true, value: null };
      return { ok: true, value: text };
    case "list":
      try {
        const v: unknown = JSON.parse(t);
        return Array.isArray(v) ? { ok: true, value: v } : { ok: false, message: "must be a JSON list, e.g. [1, 2]" };
      } catch {
        return { ok: false, message: "must be a JSON list, e.g. [1, 2]" };
      }
    default:
      // kind "null" (a value with no fixed type): JSON if it parses, else the text.
      try {
        return { ok: true, value: JSON.parse(t) as unknown };
      } catch {
        return { ok: true, value: text };
      }
  }
}

// ---------------------------------------------------------------- performance mirror

export type TunnelSeries = {
  times: number[];
  planned: (number | null)[];
  actual: (number | null)[];
  low: (number | null)[];
  /** high - low, stacked on `low` to shade the band */
  band: (number | null)[];
};

export function socTunnel(perf: Performance["soc_tunnel"]): TunnelSeries {
  const sorted = [...perf].sort((a, b) => toMs(a.start) - toMs(b.start));
  const times = sorted.map((p) => toMs(p.start));
  const low = sorted.map((p) => (p.low_soc_percent !== null && p.high_soc_percent !== null ? p.low_soc_percent : null));
  const band = sorted.map((p) =>
    p.low_soc_percent !== null && p.high_soc_percent !== null ? round(p.high_soc_percent - p.low_soc_percent, 3) : null,
  );
  return {
    times,
    planned: sorted.map((p) => p.planned_soc_percent),
    actual: sorted.map((p) => p.actual_soc_percent),
    low,
    band,
  };
}

// ---------------------------------------------------------------- chart read-back

/** A datum carries a value: a finite number, or a point [x, y] / {value} whose y is one. */
function hasValue(datum: unknown): boolean {
  if (typeof datum === "number") return Number.isFinite(datum);
  if (Array.isArray(datum)) return datum.length > 0 && hasValue(datum[datum.length - 1]);
  if (datum && typeof datum === "object" && "value" in datum) {
    return hasValue((datum as { value: unknown }).value);
  }
  return false;
}

/** Series name -> number of points with a value, from ECharts' own option. */
export function seriesPoints(series: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!Array.isArray(series)) return out;
  for (const s of series as { name?: unknown; data?: unknown }[]) {
    if (typeof s.name !== "string") continue;
    const data = Array.isArray(s.data) ? s.data : [];
    out[s.name] = (out[s.name] ?? 0) + data.filter(hasValue).length;
  }
  return out;
}
