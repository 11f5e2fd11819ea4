import { describe, expect, it } from "vitest";
import type { ScheduleRow } from "../api/types";
import { forecastBands } from "../lib/bands";
import { COLORS } from "../lib/colors";
import { SERIES, buildDashboardSeries } from "../lib/shape";
import { dashboardOption } from "./dashboard";

const TZ = "Europe/Stockholm";
const T = (hhmm: string) => `2026-01-15T${hhmm}:00+01:00`;
const ms = (hhmm: string) => Date.parse(T(hhmm));

function row(start: string, end: string, o: Partial<ScheduleRow> = {}): ScheduleRow {
  return {
    start,
    end,
    import_price_sek_per_kwh: 1,
    export_price_sek_per_kwh: 0.5,
    adjusted_pv_kwh: 0.2,
    adjusted_load_kwh: 0.25,
    battery_charge_kw: 0,
    battery_discharge_kw: 0,
    grid_import_kw: 0,
    grid_export_kw: 0,
    water_heating_kw: 0,
    ev_charging_kw: 0,
    pv_curtailment_kw: 0,
    load_shedding_kw: 0,
    projected_soc_percent: 50,
    projected_soc_kwh: 10,
    soc_target_percent: 40,
    planned_cost_sek: 0,
    action: "hold",
    reason: "",
    ...o,
  };
}

type S = {
  name?: string;
  yAxisIndex?: number;
  stack?: string;
  step?: unknown;
  symbol?: string;
  z?: number;
  color?: string;
  silent?: boolean;
  lineStyle?: { opacity?: number };
  areaStyle?: { color?: string; opacity?: number };
  data?: unknown[];
};
const seriesOf = (opt: ReturnType<typeof dashboardOption>) => (Array.isArray(opt.series) ? opt.series : []) as S[];
const legendOf = (opt: ReturnType<typeof dashboardOption>) =>
  ((opt.legend as { data?: unknown[] }).data ?? []).map((x) => (typeof x === "string" ? x : (x as { name: string }).name));

// Three 15-min slots, P10/P90 per slot in kWh (x4 -> kW):
//   10:00  PV 0.1/0.3 -> 0.4/1.2 kW   load 0.2/0.35 -> 0.8/1.4 kW
//   10:15  PV missing (gap)           load 0.25/0.5 -> 1.0/2.0 kW
//   10:30  PV 0.05/0.2 -> 0.2/0.8 kW  load P90 null (gap)
const rows = [
  row(T("10:00"), T("10:15"), { pv_p10_kwh: 0.1, pv_p90_kwh: 0.3, load_p10_kwh: 0.2, load_p90_kwh: 0.35 }),
  row(T("10:15"), T("10:30"), { load_p10_kwh: 0.25, load_p90_kwh: 0.5 }),
  row(T("10:30"), T("10:45"), { pv_p10_kwh: 0.05, pv_p90_kwh: 0.2, load_p10_kwh: 0.2, load_p90_kwh: null }),
];
const NOW = ms("10:00");

describe("dashboardOption forecast bands", () => {
  it("draws no band series, and the same legend and grid, without quantiles", () => {
    const plain = rows.map((r) => row(r.start, r.end));
    const d = buildDashboardSeries([], plain, NOW);
    const bands = forecastBands(plain, d.times);
    expect(bands).toEqual([]);
    const opt = dashboardOption(d, TZ, true, bands);
    const before = dashboardOption(d, TZ, true);
    expect(seriesOf(opt).map((s) => s.name)).toEqual([...SERIES]);
    expect(legendOf(opt)).toEqual([...SERIES]);
    expect(opt.grid).toEqual(before.grid);
    expect(JSON.stringify(opt.series)).toBe(JSON.stringify(before.series));
  });

  it("stacks an invisible P10 and the P90 - P10 height per band, in kW on the kW axis", () => {
    const d = buildDashboardSeries([], rows, NOW);
    expect(d.times).toEqual(["10:00", "10:15", "10:30", "10:45"].map(ms));
    const opt = dashboardOption(d, TZ, false, forecastBands(rows, d.times));
    const series = seriesOf(opt);
    expect(series.map((s) => s.name)).toEqual([...SERIES, "PV P10", "PV P10–P90", "Load P10", "Load P10–P90"]);
    expect(legendOf(opt)).toEqual([...SERIES, "PV P10–P90", "Load P10–P90"]);
    const by = Object.fromEntries(series.map((s) => [s.name, s]));
    const [t0, t1, t2, t3] = ["10:00", "10:15", "10:30", "10:45"].map(ms) as [number, number, number, number];

    // PV: a step at 10:00 (0.4-1.2 kW), a gap at 10:15, a step at 10:30 (0.2-0.8 kW).
    expect(by["PV P10"]?.data).toEqual([[t0, 0.4], [t1, 0.4], [t1, null], [t2, 0.2], [t3, 0.2], [t3, null]]);
    expect(by["PV P10–P90"]?.data).toEqual([
      { value: [t0, 0.8], band: [0.4, 1.2] },
      { value: [t1, 0.8], band: [0.4, 1.2] },
      { value: [t1, null], band: null },
      { value: [t2, 0.6], band: [0.2, 0.8] },
      { value: [t3, 0.6], band: [0.2, 0.8] },
      { value: [t3, null], band: null },
    ]);
    // Load: 10:00 0.8-1.4 kW, 10:15 1.0-2.0 kW, no P90 at 10:30 -> gap.
    expect(by["Load P10"]?.data).toEqual([[t0, 0.8], [t1, 1], [t2, 1], [t2, null], [t3, null]]);
    expect(by["Load P10–P90"]?.data).toEqual([
      { value: [t0, 0.6], band: [0.8, 1.4] },
      { value: [t1, 1], band: [1, 2] },
      { value: [t2, 1], band: [1, 2] },
      { value: [t2, null], band: null },
      { value: [t3, null], band: null },
    ]);

    for (const [low, high, line] of [["PV P10", "PV P10–P90", "PV"], ["Load P10", "Load P10–P90", "Load"]] as const) {
      for (const s of [by[low], by[high]]) {
        expect(s?.stack).toBe(high);
        expect(s?.yAxisIndex).toBe(by[line]?.yAxisIndex);
        expect(s?.step).toBe(by[line]?.step);
        expect(s?.symbol).toBe("none");
        expect(s?.lineStyle?.opacity).toBe(0);
        expect(s?.color).toBe(COLORS[line]);
        expect(s?.z).toBe(1);
      }
      expect(by[low]?.areaStyle).toBeUndefined();
      expect(by[low]?.silent).toBe(true);
      expect(by[high]?.areaStyle?.color).toBe(COLORS[line]);
      expect(by[high]?.areaStyle?.opacity).toBeLessThan(0.5);
    }
  });

  it("draws only the band whose quantiles are there", () => {
    const pvOnly = rows.map((r) => ({ ...r, load_p10_kwh: undefined, load_p90_kwh: undefined }));
    const d = buildDashboardSeries([], pvOnly, NOW);
    const opt = dashboardOption(d, TZ, false, forecastBands(pvOnly, d.times));
    expect(seriesOf(opt).map((s) => s.name)).toEqual([...SERIES, "PV P10", "PV P10–P90"]);
  });

  it("lists each band's bounds after its line in the tooltip", () => {
    const d = buildDashboardSeries([], rows, NOW);
    const opt = dashboardOption(d, TZ, false, forecastBands(rows, d.times));
    const formatter = (opt.tooltip as { formatter: (p: unknown) => string }).formatter;
    const t0 = ms("10:00");
    const html = formatter([
      { seriesName: "PV", value: [t0, 0.8], marker: "", axisValue: t0 },
      { seriesName: "Load", value: [t0, 1], marker: "", axisValue: t0 },
      { seriesName: "PV P10", value: [t0, 0.4], marker: "", axisValue: t0 },
      { seriesName: "PV P10–P90", value: [t0, 0.8], data: { value: [t0, 0.8], band: [0.4, 1.2] }, marker: "", axisValue: t0 },
      { seriesName: "Load P10–P90", value: [t0, 0.6], data: { value: [t0, 0.6], band: [0.8, 1.4] }, marker: "", axisValue: t0 },
    ]);
    expect(html.split("<br/>").slice(1)).toEqual([
      "PV: <b>0.80</b> kW",
      "PV P10–P90: <b>0.40 – 1.20</b> kW",
      "Load: <b>1.00</b> kW",
      "Load P10–P90: <b>0.80 – 1.40</b> kW",
    ]);
    // A gap in the band shows no band line.
    const gap = formatter([
      { seriesName: "PV", value: [t0, 0.8], marker: "", axisValue: t0 },
      { seriesName: "PV P10–P90", value: [t0, null], data: { value: [t0, null], band: null }, marker: "", axisValue: t0 },
    ]);
    expect(gap.split("<br/>").slice(1)).toEqual(["PV: <b>0.80</b> kW"]);
  });
});
