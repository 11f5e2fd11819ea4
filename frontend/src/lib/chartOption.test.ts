import { describe, expect, it } from "vitest";
import { dashboardOption, positionTooltip } from "../charts/dashboard";
import { SERIES, buildDashboardSeries } from "./shape";

describe("dashboardOption", () => {
  const d = buildDashboardSeries([], [], Date.parse("2026-01-15T10:00:00+01:00"));
  const opt = dashboardOption(d, "Europe/Stockholm", false);
  const series = (Array.isArray(opt.series) ? opt.series : []) as { name?: string; yAxisIndex?: number; step?: unknown; markLine?: { data?: unknown[] } }[];

  it("draws exactly the contract's series, on the right axes", () => {
    expect(series.map((s) => s.name)).toEqual([...SERIES]);
    const axis = Object.fromEntries(series.map((s) => [s.name, s.yAxisIndex]));
    expect(axis["Import price"]).toBe(1);
    expect(axis.PV).toBe(0);
    expect(axis["SoC target"]).toBe(2);
    const step = Object.fromEntries(series.map((s) => [s.name, s.step]));
    expect(step["Import price"]).toBe("end");
    expect(step["SoC target"]).toBe("end");
    expect(step["SoC actual"]).toBe(false);
  });

  it("marks now and keeps the tooltip confined and away from the cursor", () => {
    expect(series[0]?.markLine?.data).toEqual([{ xAxis: d.now }]);
    const tip = opt.tooltip as { trigger?: string; confine?: boolean };
    expect(tip.trigger).toBe("axis");
    expect(tip.confine).toBe(true);
    expect(positionTooltip([50, 10], null, null, null, { contentSize: [100, 50], viewSize: [600, 300] })).toEqual([492, 8]);
  });
});
