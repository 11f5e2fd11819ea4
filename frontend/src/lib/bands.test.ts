import { describe, expect, it } from "vitest";
import type { ScheduleRow } from "../api/types";
import { forecastBands } from "./bands";

const T = (hhmm: string) => `2026-01-15T${hhmm}:00+01:00`;
const ms = (hhmm: string) => Date.parse(T(hhmm));

function row(start: string, end: string, o: Partial<ScheduleRow> = {}): ScheduleRow {
  return { start, end, adjusted_pv_kwh: 0, adjusted_load_kwh: 0, ...o } as ScheduleRow;
}

describe("forecastBands", () => {
  it("converts kWh per slot to kW by each slot's length, at the slot start", () => {
    const times = ["10:00", "10:15", "11:15"].map(ms);
    const rows = [
      row(T("10:00"), T("10:15"), { pv_p10_kwh: 0.1, pv_p90_kwh: 0.3 }), // 15 min: x4
      row(T("10:15"), T("11:15"), { pv_p10_kwh: 0.5, pv_p90_kwh: 1.5 }), // 60 min: x1
    ];
    expect(forecastBands(rows, times)).toEqual([
      { name: "PV P10–P90", line: "PV", lowName: "PV P10", low: [0.4, 0.5, null], high: [1.2, 1.5, null] },
    ]);
  });

  it("leaves a gap where either bound is missing, null or not finite", () => {
    const times = ["10:00", "10:15", "10:30", "10:45", "11:00"].map(ms);
    const rows = [
      row(T("10:00"), T("10:15"), { load_p10_kwh: 0.25, load_p90_kwh: 0.5 }),
      row(T("10:15"), T("10:30"), { load_p10_kwh: 0.25 }),
      row(T("10:30"), T("10:45"), { load_p10_kwh: null, load_p90_kwh: 0.5 }),
      row(T("10:45"), T("11:00"), { load_p10_kwh: Number.NaN, load_p90_kwh: 0.5 }),
    ];
    const [load] = forecastBands(rows, times);
    expect(load?.name).toBe("Load P10–P90");
    expect(load?.low).toEqual([1, null, null, null, null]);
    expect(load?.high).toEqual([2, null, null, null, null]);
  });

  it("gives no band at all without quantiles, or without rows on the axis", () => {
    expect(forecastBands([row(T("10:00"), T("10:15"))], [ms("10:00"), ms("10:15")])).toEqual([]);
    expect(forecastBands([row(T("10:00"), T("10:15"), { pv_p10_kwh: 0, pv_p90_kwh: 0.1 })], [ms("12:00")])).toEqual([]);
    expect(forecastBands([], [])).toEqual([]);
  });
});
