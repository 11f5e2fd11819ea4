import { describe, expect, it } from "vitest";
import type { BindingConstraint, PlannerDebug } from "../api/types";
import { marginalValueOption, runLabels, slotRuns } from "./Debug";

const TZ = "Europe/Stockholm";

function doc(values: (number | null)[] | null): PlannerDebug {
  const starts = ["2026-03-10T00:00:00+01:00", "2026-03-10T01:00:00+01:00", "2026-03-10T02:00:00+01:00"];
  return {
    slot_starts: starts,
    inputs: { slot_minutes: 60 },
    marginal_value_sek_per_kwh: values,
  } as unknown as PlannerDebug;
}

describe("slotRuns", () => {
  it("folds consecutive slots into runs", () => {
    expect(slotRuns([])).toEqual([]);
    expect(slotRuns([3])).toEqual([[3, 3]]);
    expect(slotRuns([0, 1, 2, 5, 7, 8])).toEqual([
      [0, 2],
      [5, 5],
      [7, 8],
    ]);
  });
});

describe("runLabels", () => {
  it("names each run from its first start to its last slot's end, in the house zone", () => {
    const c = { name: "soc_floor", slots: [0, 1] } as unknown as BindingConstraint;
    expect(runLabels(c, doc([1, 2, 3]), TZ)).toEqual(["Tue 10 Mar, 00:00–02:00"]);
  });
});

describe("marginalValueOption", () => {
  it("draws one step series per slot, the last slot held to the horizon's end", () => {
    const opt = marginalValueOption(doc([1.8, null, 2]), TZ);
    const series = (Array.isArray(opt.series) ? opt.series : []) as { name?: string; step?: unknown; data?: unknown[] }[];
    expect(series.map((s) => s.name)).toEqual(["Marginal value"]);
    expect(series[0]?.step).toBe("end");
    const start = Date.parse("2026-03-10T00:00:00+01:00");
    const hour = 3_600_000;
    expect(series[0]?.data).toEqual([
      [start, 1.8],
      [start + hour, null],
      [start + 2 * hour, 2],
      [start + 3 * hour, 2],
    ]);
  });
});
