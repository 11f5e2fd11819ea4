import { describe, expect, it } from "vitest";
import type { AuroraTraining } from "../api/types";
import { maeText, newerTraining, progressPct, trainingSummary } from "./aurora";

function training(o: Partial<AuroraTraining> = {}): AuroraTraining {
  return {
    state: "running",
    progress: 0.4,
    message: "fitting load",
    started_at: "2026-03-10T03:00:00+01:00",
    finished_at: null,
    next_at: "2026-03-12T03:00:00+01:00",
    schedule: "Mon, Thu at 03:00",
    ...o,
  };
}

describe("maeText", () => {
  it("states the MAE against the baseline with the ratio", () => {
    expect(maeText(0.084, 0.112)).toBe("0.084 vs 0.112 kW (0.75×)");
    expect(maeText(0.12, 0.1)).toBe("0.120 vs 0.100 kW (1.20×)");
  });
  it("drops what it cannot state", () => {
    expect(maeText(0.084, null)).toBe("0.084 kW");
    expect(maeText(0.084, 0)).toBe("0.084 vs 0.000 kW");
    expect(maeText(null, 0.112)).toBe("–");
    expect(maeText(null, null)).toBe("–");
  });
});

describe("progressPct", () => {
  it("rounds and clamps to 0..100", () => {
    expect(progressPct(0.425)).toBe(43);
    expect(progressPct(1.3)).toBe(100);
    expect(progressPct(-0.1)).toBe(0);
    expect(progressPct(Number.NaN)).toBe(0);
    expect(progressPct(undefined)).toBe(0);
  });
});

describe("trainingSummary", () => {
  it("names the state, the progress while running and the message", () => {
    expect(trainingSummary(training())).toBe("Training running (40 %): fitting load");
    expect(trainingSummary(training({ state: "done", progress: 1, message: null }))).toBe("Training done");
    expect(trainingSummary(training({ state: "failed", message: "no history" }))).toBe("Training failed: no history");
    expect(trainingSummary(training({ state: "idle", message: null }))).toBe("No training running");
  });
  it("falls back for a reply without a training object (older servers)", () => {
    expect(trainingSummary(undefined)).toBe("Retraining started");
  });
});

describe("newerTraining", () => {
  it("takes the first state and any other run", () => {
    const t = training();
    expect(newerTraining(null, t)).toBe(t);
    const next = training({ started_at: "2026-03-12T03:00:00+01:00", progress: 0 });
    expect(newerTraining(t, next)).toBe(next);
  });
  it("never moves the same run backwards", () => {
    const at40 = training();
    const at20 = training({ progress: 0.2 });
    const done = training({ state: "done", progress: 1, finished_at: "2026-03-10T03:05:00+01:00" });
    expect(newerTraining(at40, at20)).toBe(at40);
    expect(newerTraining(at20, at40)).toBe(at40);
    expect(newerTraining(at40, done)).toBe(done);
    expect(newerTraining(done, at40)).toBe(done);
  });
  it("replaces a state without a start time", () => {
    const idle = training({ state: "idle", progress: 0, started_at: null, message: null });
    const run = training({ progress: 0 });
    expect(newerTraining(idle, run)).toBe(run);
  });
});
