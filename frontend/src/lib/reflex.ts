// Pure helpers of the Aurora page's Reflex card and Strategy Log: values, changes, runs.
import type { Proposal, ReflexRunSummary, StrategyEntry } from "../api/types";

/** A config value for people: numbers with at most 3 decimals, null as "–". */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isFinite(v) ? String(Number(v.toFixed(3))) : "–";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** "10 → 9.5" */
export function changeText(before: unknown, after: unknown): string {
  return `${fmtValue(before)} → ${fmtValue(after)}`;
}

/** What an assessment proposes: "10 → 9.5", or "holds at 10" when it proposes nothing. */
export function proposalText(p: Proposal): string {
  if (p.proposed === null || p.proposed === undefined) return `holds at ${fmtValue(p.current)}`;
  return changeText(p.current, p.proposed);
}

/** Hard bounds "1 – 1.3"; "–" when unknown. */
export function boundsText(bounds: [number, number] | null | undefined): string {
  if (!bounds || bounds.length !== 2) return "–";
  return `${fmtValue(bounds[0])} – ${fmtValue(bounds[1])}`;
}

/**
 * The before -> after of a strategy-log row, one "key: before → after" per key
 * (null for entries without them: the service's own plan, config and warning entries).
 */
export function strategyChange(e: StrategyEntry): string | null {
  const before = e.before ?? null;
  const after = e.after ?? null;
  if (!before && !after) return null;
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  if (!keys.length) return null;
  return keys.map((k) => `${k}: ${changeText(before?.[k], after?.[k])}`).join("; ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** One line for a finished run, e.g. "Dry run: 1 proposal, nothing applied". */
export function runSummary(run: ReflexRunSummary | null | undefined): string {
  if (!run) return "No run yet";
  if (run.state === "failed") return `Failed: ${run.error ?? "unknown error"}`;
  if (run.dry_run) return `Dry run: ${plural(run.proposed, "proposal")}, nothing applied`;
  if (!run.proposed) return "No proposal: nothing to change";
  return `Applied ${run.applied} of ${plural(run.proposed, "proposal")}`;
}
