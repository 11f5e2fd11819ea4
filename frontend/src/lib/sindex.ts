// Pure helpers of the Dashboard's S-Index card: what produced the factor, the risk, the
// overlay and the Strategy Engine's decisions, in words.
import type { EngineDecision, SIndex, SIndexPeriod } from "../api/types";

function n(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : String(Number(v.toFixed(digits)));
}

/** "PV 4.2 kWh (deficit 0.35), 3.1 °C (cold 0.48)" */
export function periodText(p: SIndexPeriod): string {
  const pv = p.pv_deficit === null ? `PV ${n(p.pv_kwh, 1)} kWh` : `PV ${n(p.pv_kwh, 1)} kWh (deficit ${n(p.pv_deficit, 2)})`;
  const temp = p.temperature_c === null ? "no temperature" : `${n(p.temperature_c, 1)} °C (cold ${n(p.cold, 2)})`;
  return `${pv}, ${temp}`;
}

/** What produced the load factor, one line. */
export function factorText(s: SIndex | null | undefined): string {
  const f = s?.factor_inputs;
  if (!s || !f) return "–";
  if (f.load_spread !== undefined) {
    return `load P90 spread ${n(f.load_spread, 2)} at risk appetite ${f.risk_appetite ?? "–"}`;
  }
  if (f.next_24h) return `next 24 h: ${periodText(f.next_24h)}`;
  return `base factor ${n(f.base_factor ?? s.load_factor, 2)}`;
}

/** What produced the risk behind the target SoC, one line per day (or the reason). */
export function riskLines(s: SIndex | null | undefined): string[] {
  const r = s?.risk_inputs;
  if (!s || !r) return [];
  if (r.days && Object.keys(r.days).length) {
    return Object.entries(r.days).map(([day, p]) => `${day}: ${periodText(p)}`);
  }
  return [r.note ?? `base factor ${n(s.risk ?? null, 2)}`];
}

/** "PV −0.50 kWh, load +0.20 kWh", or why the overlay did nothing. */
export function overlayText(s: SIndex | null | undefined): string {
  const o = s?.overlay;
  if (!o) return "–";
  if (!o.enabled) return "off";
  if (!o.applied) return o.reason ?? "not applied";
  if (o.pv_hours_measured === 0 && o.load_hours_measured === 0) return "no hour measured enough yet";
  const sign = (v: number | undefined) => (v === undefined ? "–" : `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toFixed(2)}`);
  return `PV ${sign(o.pv_change_kwh)} kWh, load ${sign(o.load_change_kwh)} kWh`;
}

/** "flat_prices: cycle_cost_sek_per_kwh 0.2 → 0.3" per decision. */
export function decisionLines(meta: Record<string, unknown> | null | undefined): string[] {
  const engine = meta?.strategy_engine as { decisions?: EngineDecision[] } | undefined;
  return (engine?.decisions ?? []).map(
    (d) => `${d.rule}: ${d.parameter} ${d.before === null ? "none" : n(d.before, 3)} → ${n(d.after, 3)}`,
  );
}
