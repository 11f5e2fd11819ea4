// Pure helpers of the Aurora page's Bridge card: model accuracy text, training state.
import type { AuroraModel, AuroraTraining, TrainingState } from "../api/types";

export const TARGET_LABEL: Record<AuroraModel["target"], string> = { pv: "PV", load: "Load" };

/**
 * Validation P50 MAE against the naive baseline, e.g. "0.084 vs 0.112 kW (0.75×)";
 * without a (positive) baseline just the MAE, without an MAE "–".
 */
export function maeText(maeKw: number | null, baselineMaeKw: number | null): string {
  const ok = (v: number | null): v is number => typeof v === "number" && Number.isFinite(v);
  if (!ok(maeKw)) return "–";
  if (!ok(baselineMaeKw)) return `${maeKw.toFixed(3)} kW`;
  const ratio = baselineMaeKw > 0 ? ` (${(maeKw / baselineMaeKw).toFixed(2)}×)` : "";
  return `${maeKw.toFixed(3)} vs ${baselineMaeKw.toFixed(3)} kW${ratio}`;
}

/** Progress 0..1 as a whole percentage, clamped (a missing value counts as 0). */
export function progressPct(progress: number | null | undefined): number {
  if (typeof progress !== "number" || !Number.isFinite(progress)) return 0;
  return Math.round(Math.min(1, Math.max(0, progress)) * 100);
}

const STATE_TEXT: Record<TrainingState, string> = {
  idle: "No training running",
  running: "Training running",
  done: "Training done",
  failed: "Training failed",
};

/** One line for a training state, e.g. "Training running (40 %): fitting load". */
export function trainingSummary(t: AuroraTraining | null | undefined): string {
  if (!t) return "Retraining started";
  const base = STATE_TEXT[t.state] ?? `Training ${String(t.state)}`;
  const pct = t.state === "running" ? ` (${progressPct(t.progress)} %)` : "";
  return `${base}${pct}${t.message ? `: ${t.message}` : ""}`;
}

/**
 * The training state to show when `next` arrives (live message, poll or POST reply) while
 * `cur` is shown. Replies can overtake each other, so an update about the same run (same
 * started_at) never moves backwards: a finished run does not turn running again and the
 * progress of a running one does not drop. Anything else (a new run, idle) replaces it.
 */
export function newerTraining(cur: AuroraTraining | null, next: AuroraTraining): AuroraTraining {
  if (!cur || cur.started_at === null || cur.started_at !== next.started_at) return next;
  const finished = (s: TrainingState) => s === "done" || s === "failed";
  if (finished(cur.state) && next.state === "running") return cur;
  if (cur.state === "running" && next.state === "running" && next.progress < cur.progress) return cur;
  return next;
}
