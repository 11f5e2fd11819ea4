import { ACTION_COLORS } from "../lib/colors";
import type { Block } from "../lib/shape";
import { fmtDateTime, fmtTime } from "../lib/time";

const LABELS: Record<string, string> = {
  charge: "Charge (grid)",
  pv_charge: "Charge (PV)",
  discharge: "Discharge",
  export: "Export",
  hold: "Hold",
};

export function Legend({ actions }: { actions?: string[] }) {
  const list = actions ?? Object.keys(ACTION_COLORS);
  return (
    <ul className="legend">
      {list.map((a) => (
        <li key={a}>
          <span className="swatch" style={{ background: ACTION_COLORS[a] ?? "#888" }} />
          {LABELS[a] ?? a}
        </li>
      ))}
    </ul>
  );
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h < 1 ? `${Math.round(h * 60)} min` : `${Number(h.toFixed(2))} h`;
}

/** Gantt-like list: one row per block, bar placed on the plan's full time span. */
export function Timeline({ blocks, tz, testIds = true }: { blocks: Block[]; tz: string; testIds?: boolean }) {
  const first = blocks[0];
  const last = blocks[blocks.length - 1];
  if (!first || !last) {
    return (
      <div className="timeline empty" data-testid={testIds ? "planning-timeline" : undefined}>
        <p className="muted">No plan to show.</p>
      </div>
    );
  }
  const t0 = first.startMs;
  const span = Math.max(1, last.endMs - t0);
  return (
    <div className="timeline" data-testid={testIds ? "planning-timeline" : undefined}>
      {blocks.map((b) => (
        <div
          key={`${b.startMs}-${b.action}`}
          className="tl-row"
          data-testid={testIds ? "planning-block" : undefined}
          data-action={b.action}
          title={b.reasons.filter(Boolean).join(", ")}
        >
          <span className="tl-time">
            {fmtDateTime(b.startMs, tz)} – {fmtTime(b.endMs, tz)}
          </span>
          <span className="tl-track" aria-hidden="true">
            <span
              className="tl-bar"
              style={{
                left: `${((b.startMs - t0) / span) * 100}%`,
                width: `${Math.max(0.6, ((b.endMs - b.startMs) / span) * 100)}%`,
                background: ACTION_COLORS[b.action] ?? "#888",
              }}
            />
          </span>
          <span className="tl-label">
            <span className="swatch" style={{ background: ACTION_COLORS[b.action] ?? "#888" }} />
            {LABELS[b.action] ?? b.action} · {hours(b.endMs - b.startMs)} · {b.avgPrice.toFixed(2)} SEK/kWh
          </span>
        </div>
      ))}
    </div>
  );
}
