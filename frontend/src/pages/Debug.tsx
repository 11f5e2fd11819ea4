import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, getPlannerDebug, isAbort } from "../api/client";
import type { BindingConstraint, LogRecord, PlannerDebug, SeriesStats } from "../api/types";
import { positionTooltip, timeAxisLabel } from "../charts/dashboard";
import { AXIS_STYLE, type ChartOption, TOOLTIP_STYLE } from "../charts/echarts";
import { EChart } from "../components/EChart";
import { KV, PageRoot, Section, TableWrap, num } from "../components/ui";
import { messageOf } from "../lib/errors";
import { type LoadState, useTimezone } from "../lib/hooks";
import { fmtDateTime, fmtDateTimeSec, fmtTime, toMs } from "../lib/time";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];

// ---------------------------------------------------------------- planner debug

const MV_SERIES = ["Marginal value"] as const;
const MV_COLOR = "#4dd0e1";
/** Slot runs shown per binding constraint before "+N more". */
const MAX_RUNS = 6;

/** Consecutive slot indices folded into [first, last] runs. */
export function slotRuns(slots: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const s of slots) {
    const last = runs[runs.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else runs.push([s, s]);
  }
  return runs;
}

/** "Tue 10 Mar, 01:00–03:00" per run of slots (end = the last slot's end). */
export function runLabels(c: BindingConstraint, d: PlannerDebug, tz: string): string[] {
  const slotMs = d.inputs.slot_minutes * 60_000;
  return slotRuns(c.slots).map(([first, last]) => {
    const start = d.slot_starts[first];
    const lastStart = d.slot_starts[last];
    if (start === undefined || lastStart === undefined) return `slots ${first}–${last}`;
    return `${fmtDateTime(start, tz)}–${fmtTime(toMs(lastStart) + slotMs, tz)}`;
  });
}

/** The marginal value of stored energy per slot, held over each slot (SEK/kWh). */
export function marginalValueOption(d: PlannerDebug, tz: string): ChartOption {
  const values = d.marginal_value_sek_per_kwh ?? [];
  const slotMs = d.inputs.slot_minutes * 60_000;
  const data = d.slot_starts.map((s, i) => [toMs(s), values[i] ?? null] as [number, number | null]);
  const last = data[data.length - 1];
  if (last) data.push([last[0] + slotMs, last[1]]); // the last slot drawn full width
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 28, bottom: 56 },
    tooltip: {
      trigger: "axis",
      confine: true,
      ...TOOLTIP_STYLE,
      position: positionTooltip,
      valueFormatter: (v) => (typeof v === "number" ? `${v.toFixed(3)} SEK/kWh` : "–"),
    },
    xAxis: {
      type: "time",
      ...AXIS_STYLE,
      splitLine: { show: false },
      axisLabel: { ...AXIS_STYLE.axisLabel, formatter: timeAxisLabel(tz), hideOverlap: true },
    },
    yAxis: { type: "value", name: "SEK/kWh", scale: true, ...AXIS_STYLE },
    dataZoom: [
      { type: "inside", filterMode: "none" },
      { type: "slider", height: 16, bottom: 8, filterMode: "none", showDetail: false, borderColor: "#3a4654" },
    ],
    series: [
      {
        name: MV_SERIES[0],
        type: "line",
        step: "end",
        data,
        color: MV_COLOR,
        lineStyle: { width: 1.5 },
        showSymbol: false,
      },
    ],
  };
}

function stats(s: SeriesStats): string {
  return `${num(s.min, 2)} / ${num(s.mean, 2)} / ${num(s.max, 2)}`;
}

function BindingTable({ d, tz }: { d: PlannerDebug; tz: string }) {
  const constraints = d.binding.constraints;
  if (!constraints) return <p className="muted small">{d.binding.reason ?? "no binding constraints"}</p>;
  return (
    <TableWrap>
      <table data-testid="binding-table">
        <thead>
          <tr>
            <th>Constraint</th>
            <th>Slots</th>
            <th>When</th>
          </tr>
        </thead>
        <tbody>
          {constraints.map((c) => {
            const runs = runLabels(c, d, tz);
            const more = runs.length - MAX_RUNS;
            return (
              <tr key={c.name} data-testid="binding-row" data-name={c.name} data-slots={c.slots.length}>
                <td>
                  <span className="mono small">{c.name}</span>
                  <div className="muted small">{c.description}</div>
                </td>
                <td>{c.slots.length}</td>
                <td className="small">
                  {runs.length ? runs.slice(0, MAX_RUNS).join(", ") : "–"}
                  {more > 0 ? ` (+${more} more)` : ""}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

type DebugState = "pending" | "ready" | "none" | "error";

/** The plan in force's planner_debug.json: solver, inputs, strategy, binding rows, values. */
function PlannerDebugSection({ tz }: { tz: string }) {
  const [doc, setDoc] = useState<PlannerDebug | null>(null);
  const [state, setState] = useState<DebugState>("pending");
  const [error, setError] = useState<string | null>(null);
  const ctrl = useRef<AbortController | null>(null);

  const load = useCallback(async () => {
    ctrl.current?.abort();
    const c = new AbortController();
    ctrl.current = c;
    try {
      const d = await getPlannerDebug(c.signal);
      setDoc(d);
      setState(d ? "ready" : "none");
      setError(null);
    } catch (err) {
      if (isAbort(err) && c.signal.aborted) return;
      setError(messageOf(err));
      setState((p) => (p === "ready" ? p : "error"));
    }
  }, []);
  useEffect(() => {
    void load();
    return () => ctrl.current?.abort();
  }, [load]);

  const option = useMemo(() => (doc?.marginal_value_sek_per_kwh ? marginalValueOption(doc, tz) : null), [doc, tz]);
  const s = doc?.solver;
  const inp = doc?.inputs;
  const st = doc?.strategy;
  return (
    <Section
      title="Planner debug"
      extra={
        <button type="button" className="btn ghost" data-testid="planner-debug-refresh" onClick={() => void load()}>
          Refresh
        </button>
      }
    >
      <div data-testid="planner-debug" data-state={state}>
        {state === "pending" ? <p className="muted small">loading…</p> : null}
        {state === "none" ? <p className="muted small">No plan yet: the first plan is pending.</p> : null}
        {error ? <div className="notice warning small">{error}</div> : null}
        {doc && s && inp && st ? (
          <>
            <p className="muted small">
              Plan made {fmtDateTime(doc.planned_at, tz)} · status <span className="tag">{doc.status}</span>
            </p>
            <div className="grid-2">
              <div data-testid="planner-debug-solver">
                <h3>Solver</h3>
                <KV k="Solver" v={`${s.name}: ${s.termination}`} />
                <KV k="Variables / rows / binaries" v={`${s.variables} / ${s.constraints} / ${s.binaries}`} />
                <KV k="Solves" v={s.solves} />
                <KV k="Solve time" v={num(s.solve_time_ms, 1, "ms")} />
                <KV k="MIP gap" v={s.mip_gap === null ? "–" : `${(100 * s.mip_gap).toFixed(4)} %`} />
                <KV k="Objective" v={num(s.objective_sek, 3, "SEK")} />
                <KV k="Dual LP" v={`${doc.marginal_value.lp_termination ?? "–"}, ${num(doc.marginal_value.lp_solve_time_ms, 1, "ms")}`} />
                {s.fallback_reason ? <KV k="Fallback" v={s.fallback_reason} /> : null}
              </div>
              <div data-testid="planner-debug-inputs">
                <h3>Inputs</h3>
                <KV k="Slots" v={`${inp.n_slots} × ${inp.slot_minutes} min`} />
                <KV k="Horizon" v={`${fmtDateTime(inp.first_slot_start, tz)} – ${fmtDateTime(inp.horizon_end, tz)}`} />
                <KV k="Import price min/mean/max" v={`${stats(inp.import_price_sek_per_kwh)} SEK/kWh`} />
                <KV k="Export price min/mean/max" v={`${stats(inp.export_price_sek_per_kwh)} SEK/kWh`} />
                <KV k="PV (adjusted)" v={`${num(inp.pv_forecast_kwh, 1)} (${num(inp.adjusted_pv_kwh, 1)}) kWh`} />
                <KV k="Load (adjusted)" v={`${num(inp.load_forecast_kwh, 1)} (${num(inp.adjusted_load_kwh, 1)}) kWh`} />
                <KV k="Start SoC" v={num(inp.initial_soc_percent, 1, "%")} />
                {inp.ev ? (
                  <KV k="EV" v={`${num(inp.ev.soc_percent, 0, "%")} → ${num(inp.ev.target_soc_percent, 0, "%")} by ${inp.ev.departure ? fmtDateTime(inp.ev.departure, tz) : "–"}`} />
                ) : null}
                {inp.month_peaks_kw ? <KV k="Month peaks" v={`${inp.month_peaks_kw.map((p) => num(p, 2)).join(", ")} kW`} /> : null}
                <KV
                  k="Optional fields"
                  v={Object.entries(inp.optional_fields).filter(([, n]) => n > 0).map(([k]) => k).join(", ") || "none"}
                />
              </div>
              <div data-testid="planner-debug-strategy">
                <h3>Strategy</h3>
                <KV k="Mode" v={`${st.plan_mode ?? "–"} (strategy ${st.mode})`} />
                {st.load_factor !== undefined ? <KV k="Load factor" v={num(st.load_factor, 3)} /> : null}
                {st.pv_confidence_percent !== undefined ? <KV k="PV confidence" v={num(st.pv_confidence_percent, 0, "%")} /> : null}
                <KV
                  k="Target SoC"
                  v={st.target_soc_slot === null ? "–" : `${num(st.target_soc_kwh, 2, "kWh")} at ${st.target_soc_at ? fmtDateTime(st.target_soc_at, tz) : `slot ${st.target_soc_slot}`}`}
                />
                <KV k="Terminal value" v={num(st.terminal_value_sek_per_kwh, 3, "SEK/kWh")} />
                <KV k="Manual slots" v={st.manual_slots} />
              </div>
            </div>
            <h3 className="sub">Binding constraints</h3>
            <BindingTable d={doc} tz={tz} />
            <h3 className="sub">Marginal value of stored energy</h3>
            <p className="muted small">{doc.marginal_value.reason ?? `${doc.marginal_value.definition}.`}</p>
            {option ? (
              <EChart
                option={option}
                testId="chart-marginal-value"
                seriesNames={MV_SERIES}
                height={240}
                ariaLabel="Marginal value of stored energy per slot"
              />
            ) : null}
          </>
        ) : null}
      </div>
    </Section>
  );
}

export function Debug() {
  const tz = useTimezone();
  const [level, setLevel] = useState("INFO");
  const [records, setRecords] = useState<LogRecord[]>([]);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [auto, setAuto] = useState(true);
  const [updated, setUpdated] = useState<number | null>(null);
  const inFlight = useRef(false);

  const load = useCallback(async (lvl: string) => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const r = await api.get<{ records: LogRecord[] }>("/logs", { level: lvl, limit: 200 });
      setRecords(r.records ?? []);
      setUpdated(Date.now());
      setLoaded("true");
    } catch {
      setLoaded((p) => (p === "true" ? p : "error"));
    } finally {
      inFlight.current = false;
    }
  }, []);

  useEffect(() => {
    void load(level);
    if (!auto) return;
    const id = setInterval(() => void load(level), 5000);
    return () => clearInterval(id);
  }, [level, auto, load]);

  return (
    <PageRoot name="debug" loaded={loaded} title="Debug">
      <PlannerDebugSection tz={tz} />
      <Section
        title="Logs"
        extra={
          <div className="toolbar">
            <label className="inline">
              Level{" "}
              <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.target.value)}>
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> auto-refresh 5 s
            </label>
            <button type="button" className="btn ghost" onClick={() => void load(level)}>
              Refresh
            </button>
          </div>
        }
      >
        <p className="muted small">
          {records.length} record(s){updated ? ` · updated ${new Date(updated).toLocaleTimeString()}` : ""}
        </p>
        <TableWrap>
          <table data-testid="log-table" className="logs">
            <thead>
              <tr>
                <th>Time</th>
                <th>Level</th>
                <th>Logger</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r, i) => (
                <tr key={`${r.at}-${i}`} data-testid="log-row" className={`lvl-${r.level.toLowerCase()}`}>
                  <td className="nowrap">{fmtDateTimeSec(r.at, tz)}</td>
                  <td>
                    <span className="tag">{r.level}</span>
                  </td>
                  <td className="mono small">{r.logger}</td>
                  <td className="msg">{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Section>
    </PageRoot>
  );
}
