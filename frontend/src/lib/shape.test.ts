import { describe, expect, it } from "vitest";
import type { ConfigField, HistorySlot, ScheduleRow } from "../api/types";
import {
  buildDashboardSeries,
  groupBlocks,
  groupConfig,
  kwhToKw,
  pointData,
  seriesPoints,
  seriesWithData,
  socTunnel,
  stepData,
  textToValue,
  tooltipPosition,
  valueToText,
} from "./shape";
import { fmtTime, toZonedIso } from "./time";

const TZ = "Europe/Stockholm";

function hist(start: string, end: string, o: Partial<HistorySlot> = {}): HistorySlot {
  return {
    start,
    end,
    import_price_sek_per_kwh: 1,
    export_price_sek_per_kwh: 0.5,
    planned_soc_percent: null,
    actual_soc_percent: null,
    pv_kw: 0,
    load_kw: 0,
    grid_import_kw: 0,
    grid_export_kw: 0,
    battery_charge_kw: 0,
    battery_discharge_kw: 0,
    water_heating_kw: 0,
    planned_cost_sek: null,
    actual_cost_sek: 0,
    ...o,
  };
}

function row(start: string, end: string, o: Partial<ScheduleRow> = {}): ScheduleRow {
  return {
    start,
    end,
    import_price_sek_per_kwh: 1,
    export_price_sek_per_kwh: 0.5,
    adjusted_pv_kwh: 0,
    adjusted_load_kwh: 0,
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

const T = (hhmm: string) => `2026-01-15T${hhmm}:00+01:00`;
const ms = (hhmm: string) => Date.parse(T(hhmm));

describe("kwhToKw", () => {
  it("converts by slot length (15 min: x4)", () => {
    expect(kwhToKw(0.25, ms("10:00"), ms("10:15"))).toBe(1);
    expect(kwhToKw(0.82, ms("10:00"), ms("10:15"))).toBe(3.28);
    expect(kwhToKw(1.5, ms("10:00"), ms("11:00"))).toBe(1.5);
    expect(kwhToKw(0.4, ms("10:00"), ms("10:30"))).toBe(0.8);
    expect(kwhToKw(1, ms("10:00"), ms("10:00"))).toBe(0);
  });
});

describe("buildDashboardSeries", () => {
  const history = [
    hist(T("10:00"), T("10:15"), {
      import_price_sek_per_kwh: 1.0, pv_kw: 0.5, load_kw: 1.0, battery_discharge_kw: 0.3,
      planned_soc_percent: 50, actual_soc_percent: 51,
    }),
    hist(T("10:15"), T("10:30"), {
      import_price_sek_per_kwh: 1.1, pv_kw: 0.6, load_kw: 1.2, battery_charge_kw: 0.2,
      grid_export_kw: 0.1, water_heating_kw: 3, planned_soc_percent: 52, actual_soc_percent: 53,
    }),
  ];
  const rows = [
    row(T("10:30"), T("10:45"), {
      import_price_sek_per_kwh: 2.0, adjusted_pv_kwh: 0.25, adjusted_load_kwh: 0.5,
      battery_discharge_kw: 1.5, projected_soc_percent: 48, soc_target_percent: 40,
    }),
    row(T("10:45"), T("11:00"), {
      import_price_sek_per_kwh: 2.1, adjusted_pv_kwh: 0.5, adjusted_load_kwh: 0.25,
      grid_export_kw: 1, water_heating_kw: 3, projected_soc_percent: 47, soc_target_percent: 40,
    }),
    row(T("11:00"), T("11:15"), {
      import_price_sek_per_kwh: 0.5, adjusted_pv_kwh: 0.1, adjusted_load_kwh: 0.3,
      battery_charge_kw: 4, ev_charging_kw: 11, projected_soc_percent: 60, soc_target_percent: 80,
    }),
  ];

  it("2 history slots + 3 schedule rows -> exact arrays on one axis", () => {
    const d = buildDashboardSeries(history, rows, ms("10:30"));
    expect(d.times).toEqual(["10:00", "10:15", "10:30", "10:45", "11:00", "11:15"].map(ms));
    expect(d.start).toBe(ms("10:00"));
    expect(d.end).toBe(ms("11:15"));
    expect(d.now).toBe(ms("10:30"));
    const s = d.series;
    expect(s["Import price"]).toEqual([1.0, 1.1, 2.0, 2.1, 0.5, null]);
    expect(s.PV).toEqual([0.5, 0.6, 1, 2, 0.4, null]);
    expect(s.Load).toEqual([1.0, 1.2, 2, 1, 1.2, null]);
    expect(s.Charge).toEqual([0, 0.2, 0, 0, 4, null]);
    expect(s.Discharge).toEqual([0.3, 0, 1.5, 0, 0, null]);
    expect(s.Export).toEqual([0, 0.1, 0, 1, 0, null]);
    expect(s.Water).toEqual([0, 3, 0, 3, 0, null]);
    expect(s.EV).toEqual([null, null, 0, 0, 11, null]);
    // SoC values are instants at slot ends
    expect(s["SoC actual"]).toEqual([null, 51, 53, null, null, null]);
    expect(s["SoC projected"]).toEqual([null, 50, 52, 48, 47, 60]);
    expect(s["SoC target"]).toEqual([null, null, 40, 40, 80, null]);
    expect(seriesWithData(d)).toEqual([
      "Import price", "PV", "Load", "Charge", "Discharge", "Export", "Water", "EV",
      "SoC projected", "SoC actual", "SoC target",
    ]);
  });

  it("history wins for ended slots the schedule still lists, the schedule for the rest", () => {
    const overlap = [row(T("10:15"), T("10:30"), { import_price_sek_per_kwh: 9, projected_soc_percent: 70 }), ...rows];
    const d = buildDashboardSeries(history, overlap, ms("10:30"));
    expect(d.series["Import price"]).toEqual([1.0, 1.1, 2.0, 2.1, 0.5, null]);
    // the schedule's projection at 10:30 replaces the history's planned SoC there
    expect(d.series["SoC projected"]).toEqual([null, 50, 70, 48, 47, 60]);
    // the current, not yet ended slot comes from the schedule
    const d2 = buildDashboardSeries(history, overlap, ms("10:20"));
    expect(d2.series["Import price"][1]).toBe(9);
  });

  it("a gap between history and schedule is null (line breaks)", () => {
    const d = buildDashboardSeries(history.slice(0, 1), rows.slice(1), ms("10:45"));
    expect(d.times).toEqual(["10:00", "10:15", "10:45", "11:00", "11:15"].map(ms));
    expect(d.series["Import price"]).toEqual([1.0, null, 2.1, 0.5, null]);
    expect(stepData(d.times, d.series["Import price"])).toEqual([
      [ms("10:00"), 1.0],
      [ms("10:15"), 1.0],
      [ms("10:15"), null],
      [ms("10:45"), 2.1],
      [ms("11:00"), 0.5],
      [ms("11:15"), 0.5],
      [ms("11:15"), null],
    ]);
  });

  it("empty schedule -> empty schedule series but still 24 h of prices from history", () => {
    const start = Date.parse("2026-01-15T10:00:00+01:00") - 24 * 3_600_000;
    const slots = Array.from({ length: 96 }, (_, i) =>
      hist(
        new Date(start + i * 900_000).toISOString(),
        new Date(start + (i + 1) * 900_000).toISOString(),
        { import_price_sek_per_kwh: 1 + i / 100 },
      ),
    );
    const d = buildDashboardSeries(slots, [], ms("10:00"));
    expect(d.times.length).toBe(97);
    expect((d.end ?? 0) - (d.start ?? 0)).toBe(24 * 3_600_000);
    expect(d.series["Import price"].filter((v) => v !== null).length).toBe(96);
    expect(d.series["Import price"][95]).toBe(1.95);
    expect(d.series["SoC projected"].every((v) => v === null)).toBe(true);
    expect(d.series["SoC target"].every((v) => v === null)).toBe(true);
    expect(d.series.EV.every((v) => v === null)).toBe(true);
    expect(seriesWithData(d)).toContain("Import price");
    expect(seriesWithData(d)).not.toContain("SoC projected");
  });

  it("nothing at all -> empty axis", () => {
    const d = buildDashboardSeries([], [], 0);
    expect(d.times).toEqual([]);
    expect(d.start).toBeNull();
    expect(d.series.PV).toEqual([]);
  });

  it("DST day (92 quarter-hour slots) keeps the right local labels", () => {
    const midnight = Date.parse("2026-03-29T00:00:00+01:00");
    const dst = Array.from({ length: 92 }, (_, i) =>
      row(toZonedIso(midnight + i * 900_000, TZ), toZonedIso(midnight + (i + 1) * 900_000, TZ), {
        adjusted_pv_kwh: 0.5,
      }),
    );
    expect(dst[7]?.start).toBe("2026-03-29T01:45:00+01:00");
    expect(dst[8]?.start).toBe("2026-03-29T03:00:00+02:00");
    expect(dst[91]?.end).toBe("2026-03-30T00:00:00+02:00");
    const d = buildDashboardSeries([], dst, midnight);
    expect(d.times.length).toBe(93);
    const labels = d.times.map((t) => fmtTime(t, TZ));
    expect(labels.slice(0, 9)).toEqual(["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45", "03:00"]);
    expect(labels[91]).toBe("23:45");
    expect(labels[92]).toBe("00:00");
    expect(labels.some((l) => l.startsWith("02:"))).toBe(false);
    expect(d.series.PV.slice(0, 92).every((v) => v === 2)).toBe(true);
  });
});

describe("stepData / pointData", () => {
  it("closes the last slot of each run", () => {
    expect(stepData([0, 1, 2, 3], [1, 2, null, null])).toEqual([[0, 1], [1, 2], [2, 2], [2, null], [3, null]]);
    expect(stepData([], [])).toEqual([]);
  });
  it("keeps instants as pairs", () => {
    expect(pointData([0, 1], [null, 5])).toEqual([[0, null], [1, 5]]);
  });
});

describe("tooltipPosition", () => {
  it("goes to the top corner away from the cursor", () => {
    expect(tooltipPosition([100, 50], [800, 400], [200, 100])).toEqual([592, 8]);
    expect(tooltipPosition([700, 50], [800, 400], [200, 100])).toEqual([8, 8]);
  });
  it("stays inside a narrow chart", () => {
    expect(tooltipPosition([10, 50], [300, 400], [400, 100])).toEqual([8, 8]);
  });
});

describe("groupBlocks", () => {
  const q = (i: number) => new Date(Date.parse(T("00:00")) + i * 900_000).toISOString();
  it("groups consecutive same-action slots", () => {
    const actions = ["charge", "charge", "hold", "discharge", "discharge", "discharge"] as const;
    const rows2 = actions.map((a, i) => row(q(i), q(i + 1), { action: a, import_price_sek_per_kwh: i, planned_cost_sek: 1, reason: `r${a}` }));
    const b = groupBlocks(rows2);
    expect(b.map((x) => [x.action, x.slots])).toEqual([["charge", 2], ["hold", 1], ["discharge", 3]]);
    expect(b[0]?.start).toBe(q(0));
    expect(b[0]?.end).toBe(q(2));
    expect(b[0]?.avgPrice).toBe(0.5);
    expect(b[2]?.avgPrice).toBe(4);
    expect(b[2]?.costSek).toBe(3);
    expect(b[2]?.reasons).toEqual(["rdischarge"]);
  });
  it("splits the same action across a gap", () => {
    const b = groupBlocks([row(q(0), q(1), { action: "charge" }), row(q(2), q(3), { action: "charge" })]);
    expect(b.length).toBe(2);
  });
  it("empty -> no blocks", () => {
    expect(groupBlocks([])).toEqual([]);
  });
});

describe("config", () => {
  const f = (key: string, group: string, kind: ConfigField["kind"], value: unknown, nullable = false): ConfigField => ({
    key, group, kind, value, nullable, default: value, help: "",
  });
  it("groups fields in API order", () => {
    const g = groupConfig([
      f("battery.capacity_kwh", "battery", "number", 10),
      f("grid.max_kw", "grid", "number", 11),
      f("battery.min_soc_percent", "battery", "number", 10),
    ]);
    expect(g.map((x) => [x.group, x.fields.map((y) => y.key)])).toEqual([
      ["battery", ["battery.capacity_kwh", "battery.min_soc_percent"]],
      ["grid", ["grid.max_kw"]],
    ]);
  });
  it("parses inputs by kind", () => {
    expect(textToValue(f("a", "g", "number", 1), "2.5")).toEqual({ ok: true, value: 2.5 });
    expect(textToValue(f("a", "g", "number", 1), "x").ok).toBe(false);
    expect(textToValue(f("a", "g", "integer", 1), "2.5").ok).toBe(false);
    expect(textToValue(f("a", "g", "integer", 1), "3")).toEqual({ ok: true, value: 3 });
    expect(textToValue(f("a", "g", "number", 1, true), "")).toEqual({ ok: true, value: null });
    expect(textToValue(f("a", "g", "number", 1), "").ok).toBe(false);
    expect(textToValue(f("a", "g", "list", []), "[1, 2]")).toEqual({ ok: true, value: [1, 2] });
    expect(textToValue(f("a", "g", "list", []), "{}").ok).toBe(false);
    expect(textToValue(f("a", "g", "string", "x", true), "")).toEqual({ ok: true, value: null });
    expect(textToValue(f("a", "g", "string", "x"), "")).toEqual({ ok: true, value: "" });
    expect(textToValue(f("a", "g", "boolean", true), "false")).toEqual({ ok: true, value: false });
    expect(textToValue(f("a", "g", "null", null), "")).toEqual({ ok: true, value: null });
    expect(textToValue(f("a", "g", "null", null), "12")).toEqual({ ok: true, value: 12 });
  });
  it("shows values as text", () => {
    expect(valueToText(f("a", "g", "list", []), [1, "x"])).toBe('[1,"x"]');
    expect(valueToText(f("a", "g", "number", 1), null)).toBe("");
    expect(valueToText(f("a", "g", "number", 1), 2.5)).toBe("2.5");
    expect(valueToText(f("a", "g", "boolean", true), true)).toBe("true");
  });
});

describe("socTunnel", () => {
  it("stacks the band on the low edge", () => {
    const t = socTunnel([
      { start: T("10:15"), planned_soc_percent: 50, actual_soc_percent: null, low_soc_percent: 40, high_soc_percent: 60 },
      { start: T("10:00"), planned_soc_percent: 45, actual_soc_percent: 44, low_soc_percent: null, high_soc_percent: 50 },
    ]);
    expect(t.times).toEqual([ms("10:00"), ms("10:15")]);
    expect(t.low).toEqual([null, 40]);
    expect(t.band).toEqual([null, 20]);
    expect(t.actual).toEqual([44, null]);
  });
});

describe("seriesPoints", () => {
  it("counts the points that carry a value, per series name", () => {
    const series = [
      { name: "PV", data: [[0, 1.5], [1, null], [2, 0]] },
      { name: "SoC actual", data: [null, 40, Number.NaN, { value: [3, 41] }] },
      { name: "EV", data: [] },
      { data: [1, 2] }, // unnamed: not a drawn series
    ];
    expect(seriesPoints(series)).toEqual({ PV: 2, "SoC actual": 2, EV: 0 });
  });
  it("is empty for no series", () => {
    expect(seriesPoints(undefined)).toEqual({});
  });
});
