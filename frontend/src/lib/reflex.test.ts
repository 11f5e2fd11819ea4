import { describe, expect, it } from "vitest";
import type { Proposal, ReflexRunSummary, StrategyEntry } from "../api/types";
import { boundsText, changeText, fmtValue, proposalText, runSummary, strategyChange } from "./reflex";

function run(o: Partial<ReflexRunSummary> = {}): ReflexRunSummary {
  return {
    at: "2018-03-01T04:30:00+01:00",
    reason: "scheduled",
    state: "done",
    dry_run: true,
    proposed: 1,
    applied: 0,
    error: null,
    ...o,
  };
}

function entry(o: Partial<StrategyEntry> = {}): StrategyEntry {
  return { at: "2018-03-01T04:30:00+01:00", kind: "plan", message: "m", values: {}, ...o };
}

describe("fmtValue", () => {
  it("rounds numbers to 3 decimals and shows missing values as a dash", () => {
    expect(fmtValue(1.23456)).toBe("1.235");
    expect(fmtValue(9.5)).toBe("9.5");
    expect(fmtValue(10)).toBe("10");
    expect(fmtValue(null)).toBe("–");
    expect(fmtValue(undefined)).toBe("–");
    expect(fmtValue(Number.NaN)).toBe("–");
    expect(fmtValue("auto")).toBe("auto");
    expect(fmtValue(true)).toBe("true");
  });
});

describe("proposalText", () => {
  const p: Proposal = { key: "battery.capacity_kwh", current: 10, proposed: 9.5, reason: "fade" };
  it("shows the change", () => {
    expect(proposalText(p)).toBe("10 → 9.5");
    expect(changeText(0.2, null)).toBe("0.2 → –");
  });
  it("says a hold holds", () => {
    expect(proposalText({ ...p, proposed: null })).toBe("holds at 10");
  });
});

describe("boundsText", () => {
  it("shows the range or a dash", () => {
    expect(boundsText([1, 1.3])).toBe("1 – 1.3");
    expect(boundsText(null)).toBe("–");
    expect(boundsText(undefined)).toBe("–");
  });
});

describe("strategyChange", () => {
  it("is null for the service's own entries", () => {
    expect(strategyChange(entry())).toBeNull();
    expect(strategyChange(entry({ before: null, after: null }))).toBeNull();
    expect(strategyChange(entry({ before: {}, after: {} }))).toBeNull();
  });
  it("lists each key's before and after", () => {
    const e = entry({
      kind: "strategy",
      rule: "flat_prices",
      before: { cycle_cost_sek_per_kwh: 0.2 },
      after: { cycle_cost_sek_per_kwh: 0.1 },
    });
    expect(strategyChange(e)).toBe("cycle_cost_sek_per_kwh: 0.2 → 0.1");
    const two = entry({ before: { a: 1 }, after: { a: 2, b: 3 } });
    expect(strategyChange(two)).toBe("a: 1 → 2; b: – → 3");
  });
});

describe("runSummary", () => {
  it("describes dry, applied, empty and failed runs", () => {
    expect(runSummary(null)).toBe("No run yet");
    expect(runSummary(run())).toBe("Dry run: 1 proposal, nothing applied");
    expect(runSummary(run({ proposed: 2 }))).toBe("Dry run: 2 proposals, nothing applied");
    expect(runSummary(run({ dry_run: false, proposed: 2, applied: 2 }))).toBe("Applied 2 of 2 proposals");
    expect(runSummary(run({ dry_run: false, proposed: 0 }))).toBe("No proposal: nothing to change");
    expect(runSummary(run({ state: "failed", error: "run failed: disk" }))).toBe("Failed: run failed: disk");
  });
});
