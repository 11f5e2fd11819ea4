import { describe, expect, it } from "vitest";
import type { SIndex } from "../api/types";
import { decisionLines, factorText, overlayText, riskLines } from "./sindex";

const period = { pv_kwh: 4.24, pv_deficit: 0.351, temperature_c: 3.1, cold: 0.476, added: 0.2 };
const dynamic: SIndex = {
  mode: "dynamic",
  load_factor: 1.2,
  pv_confidence_percent: 90,
  target_soc_percent: 16,
  target_soc_at: null,
  risk: 1.12,
  factor_inputs: { base_factor: 1.1, next_24h: period },
  risk_inputs: { days: { "2026-03-11": { ...period, pv_deficit: null, temperature_c: null } } },
  overlay: { enabled: true, applied: true, pv_change_kwh: -0.5, load_change_kwh: 0.2 },
};

describe("S-Index card texts", () => {
  it("says what produced the factor and the risk", () => {
    expect(factorText(dynamic)).toBe("next 24 h: PV 4.2 kWh (deficit 0.35), 3.1 °C (cold 0.48)");
    expect(riskLines(dynamic)).toEqual(["2026-03-11: PV 4.2 kWh, no temperature"]);
    expect(factorText({ ...dynamic, factor_inputs: { load_spread: 0.5, risk_appetite: 3 } })).toBe(
      "load P90 spread 0.5 at risk appetite 3",
    );
    expect(riskLines({ ...dynamic, risk_inputs: { note: "no day 2" } })).toEqual(["no day 2"]);
    expect(factorText(null)).toBe("–");
  });

  it("says what the overlay moved, or why not", () => {
    expect(overlayText(dynamic)).toBe("PV −0.50 kWh, load +0.20 kWh");
    expect(overlayText({ ...dynamic, overlay: { enabled: false } })).toBe("off");
    expect(
      overlayText({ ...dynamic, overlay: { enabled: true, applied: true, pv_hours_measured: 0, load_hours_measured: 0 } }),
    ).toBe("no hour measured enough yet");
    expect(overlayText({ ...dynamic, overlay: { enabled: true, applied: false, reason: "no measured bias" } })).toBe(
      "no measured bias",
    );
  });

  it("lists the Strategy Engine's decisions", () => {
    const meta = {
      strategy_engine: {
        decisions: [
          { rule: "fuse_headroom", parameter: "import_limit_kw", before: null, after: 9.25, reason: "", inputs: {} },
          { rule: "flat_prices", parameter: "cycle_cost_sek_per_kwh", before: 0.2, after: 0.3, reason: "", inputs: {} },
        ],
      },
    };
    expect(decisionLines(meta)).toEqual([
      "fuse_headroom: import_limit_kw none → 9.25",
      "flat_prices: cycle_cost_sek_per_kwh 0.2 → 0.3",
    ]);
    expect(decisionLines({})).toEqual([]);
  });
});
