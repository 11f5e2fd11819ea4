import { useCallback, useEffect, useMemo, useState } from "react";
import type { BarSeriesOption, LineSeriesOption } from "echarts/charts";
import { api, request } from "../api/client";
import type { Aurora as AuroraData, Performance, Reflex, StrategyEntry, StrategyLog } from "../api/types";
import { AXIS_STYLE, type ChartOption, TOOLTIP_STYLE } from "../charts/echarts";
import { positionTooltip, timeAxisLabel } from "../charts/dashboard";
import { AuroraBridge } from "../components/AuroraBridge";
import { EChart } from "../components/EChart";
import { ReflexCard } from "../components/ReflexCard";
import { InputSources, KV, PageRoot, Section, TableWrap, num, useNarrow } from "../components/ui";
import { COLORS, RISK_COLORS } from "../lib/colors";
import { type LoadState, useTimezone } from "../lib/hooks";
import { strategyChange } from "../lib/reflex";
import { socTunnel } from "../lib/shape";
import { fmtDateTime } from "../lib/time";

const TUNNEL_SERIES = ["SoC planned", "SoC actual", "SoC band"] as const;
const COST_SERIES = ["Planned cost", "Actual cost"] as const;

function tunnelOption(perf: Performance, tz: string, narrow: boolean): ChartOption {
  const t = socTunnel(perf.soc_tunnel);
  const pairs = (v: (number | null)[]) => t.times.map((x, i) => [x, v[i] ?? null] as [number, number | null]);
  const series: LineSeriesOption[] = [
    {
      name: "Band low",
      type: "line",
      data: pairs(t.low),
      stack: "band",
      lineStyle: { opacity: 0 },
      showSymbol: false,
      silent: true,
      tooltip: { show: false },
    },
    {
      name: "SoC band",
      type: "line",
      data: pairs(t.band),
      stack: "band",
      lineStyle: { opacity: 0 },
      areaStyle: { color: COLORS["SoC band"], opacity: 0.22 },
      color: COLORS["SoC band"],
      showSymbol: false,
    },
    {
      name: "SoC planned",
      type: "line",
      data: pairs(t.planned),
      color: COLORS["SoC planned"],
      lineStyle: { type: "dashed", width: 1.5 },
      showSymbol: false,
    },
    {
      name: "SoC actual",
      type: "line",
      data: pairs(t.actual),
      color: COLORS["SoC actual"],
      lineStyle: { width: 2 },
      showSymbol: false,
    },
  ];
  return {
    animation: false,
    grid: { left: 40, right: 16, top: 36, bottom: 56 },
    legend: { top: 0, data: [...TUNNEL_SERIES], textStyle: { color: "#c8d1dc", fontSize: narrow ? 10 : 12 } },
    tooltip: {
      trigger: "axis",
      confine: true,
      ...TOOLTIP_STYLE,
      position: positionTooltip,
      formatter: (raw: unknown) => {
        const ps = (Array.isArray(raw) ? raw : [raw]) as { seriesName: string; value: [number, number | null]; marker: string; dataIndex: number }[];
        const first = ps[0];
        if (!first) return "";
        const i = first.dataIndex;
        const lo = t.low[i];
        const band = t.band[i];
        const lines = [`<b>${fmtDateTime(first.value[0], tz)}</b>`];
        for (const p of ps) {
          if (p.seriesName === "SoC planned" || p.seriesName === "SoC actual") {
            lines.push(`${p.marker}${p.seriesName}: <b>${num(p.value[1], 1)}</b> %`);
          }
        }
        if (lo !== null && lo !== undefined && band !== null && band !== undefined) {
          lines.push(`Band: ${lo.toFixed(1)} – ${(lo + band).toFixed(1)} %`);
        }
        return lines.join("<br/>");
      },
    },
    xAxis: { type: "time", ...AXIS_STYLE, splitLine: { show: false }, axisLabel: { ...AXIS_STYLE.axisLabel, formatter: timeAxisLabel(tz), hideOverlap: true } },
    yAxis: { type: "value", name: "%", min: 0, max: 100, ...AXIS_STYLE },
    dataZoom: [
      { type: "inside", filterMode: "none" },
      { type: "slider", height: 16, bottom: 8, filterMode: "none", showDetail: false, borderColor: "#3a4654" },
    ],
    series,
  };
}

function costOption(perf: Performance, narrow: boolean): ChartOption {
  const days = perf.cost_reality.map((d) => d.day);
  const series: BarSeriesOption[] = [
    { name: "Planned cost", type: "bar", data: perf.cost_reality.map((d) => d.planned_cost_sek), color: COLORS["Planned cost"] },
    { name: "Actual cost", type: "bar", data: perf.cost_reality.map((d) => d.actual_cost_sek), color: COLORS["Actual cost"] },
  ];
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 36, bottom: 32 },
    legend: { top: 0, data: [...COST_SERIES], textStyle: { color: "#c8d1dc", fontSize: narrow ? 10 : 12 } },
    tooltip: {
      trigger: "axis",
      confine: true,
      ...TOOLTIP_STYLE,
      position: positionTooltip,
      valueFormatter: (v) => (typeof v === "number" ? `${v.toFixed(2)} SEK` : "–"),
    },
    xAxis: { type: "category", data: days, ...AXIS_STYLE, axisLabel: { ...AXIS_STYLE.axisLabel, formatter: (d: string) => d.slice(5) } },
    yAxis: { type: "value", name: "SEK", ...AXIS_STYLE },
    series,
  };
}

export function Aurora() {
  const tz = useTimezone();
  const narrow = useNarrow();
  const [aurora, setAurora] = useState<AuroraData | null>(null);
  const [log, setLog] = useState<StrategyEntry[]>([]);
  const [perf, setPerf] = useState<Performance | null>(null);
  const [logProblem, setLogProblem] = useState<string | null>(null);
  const [loaded, setLoaded] = useState<LoadState>("pending");

  const showLog = useCallback((x: StrategyLog) => {
    setLog(x.entries ?? []);
    setLogProblem(x.problem ?? null);
  }, []);
  const load = useCallback(async () => {
    const r = await Promise.allSettled([
      api.get<AuroraData>("/aurora").then(setAurora),
      api.get<StrategyLog>("/strategy/log", { limit: 50 }).then(showLog),
      api.get<Performance>("/performance", { hours: 48 }).then(setPerf),
    ]);
    setLoaded((prev) => (r.every((x) => x.status === "fulfilled") ? "true" : prev === "true" ? "true" : "error"));
  }, [showLog]);
  useEffect(() => {
    void load();
  }, [load]);
  /** Read /aurora again (after a training ends, or polled while one runs); failures stay quiet. */
  const reloadAurora = useCallback(() => {
    request<AuroraData>("/aurora", { silent: true }).then(setAurora, () => undefined);
  }, []);
  /** After a Reflex run: its assessments and history (/aurora) and the strategy log. */
  const reloadReflex = useCallback(() => {
    reloadAurora();
    request<StrategyLog>("/strategy/log", { query: { limit: 50 }, silent: true }).then(showLog, () => undefined);
  }, [reloadAurora, showLog]);
  const onReflex = useCallback((r: Reflex) => setAurora((a) => (a ? { ...a, reflex: r } : a)), []);

  const tunnel = useMemo(() => (perf ? tunnelOption(perf, tz, narrow) : null), [perf, tz, narrow]);
  const cost = useMemo(() => (perf ? costOption(perf, narrow) : null), [perf, narrow]);

  const radar = aurora?.radar;

  return (
    <PageRoot
      name="aurora"
      loaded={loaded}
      title="Aurora cockpit"
      actions={
        <button type="button" className="btn ghost" onClick={() => void load()}>
          Refresh
        </button>
      }
    >
      <AuroraBridge bridge={aurora?.bridge ?? null} loaded={loaded} reload={reloadAurora} />

      <div className="grid-2">
        <Section title="Context Radar" testId="aurora-radar">
          {radar ? (
            <>
              <KV
                k="Risk"
                v={
                  <span className="risk" style={{ background: RISK_COLORS[radar.risk.level] ?? "#888" }}>
                    {radar.risk.level}
                  </span>
                }
              />
              <p className="muted small">{radar.risk.reason}</p>
              <KV k="Price mean" v={`${num(radar.price.mean, 2)} SEK/kWh`} />
              <KV k="Price min / max" v={`${num(radar.price.min, 2)} / ${num(radar.price.max, 2)} SEK/kWh`} />
              <KV k="Spread" v={`${num(radar.price.spread, 2)} SEK/kWh`} />
              <KV k="Volatility" v={num(radar.price.volatility, 3)} />
              <KV k="PV next 24 h" v={`${num(radar.weather.pv_next_24h_kwh, 1)} kWh`} />
              <KV k="PV day 2" v={`${num(radar.weather.pv_day2_kwh, 1)} kWh`} />
              <h3 className="sub">Inputs</h3>
              <InputSources inputs={radar.inputs ?? []} testId="aurora-inputs" />
            </>
          ) : (
            <p className="muted">{loaded === "pending" ? "Loading…" : "Not available."}</p>
          )}
        </Section>
      </div>

      <Section title="Performance Mirror">
        <h3 className="sub">SoC Tunnel</h3>
        {tunnel ? (
          <EChart option={tunnel} testId="aurora-soc-tunnel" seriesNames={TUNNEL_SERIES} height={narrow ? 260 : 300} ariaLabel="Planned versus actual state of charge" />
        ) : (
          <div className="chart placeholder" data-testid="aurora-soc-tunnel" data-series="[]">
            {loaded === "pending" ? "Loading…" : "No data."}
          </div>
        )}
        <h3 className="sub">Cost Reality</h3>
        {cost ? (
          <EChart option={cost} testId="aurora-cost-reality" seriesNames={COST_SERIES} height={narrow ? 220 : 260} ariaLabel="Planned versus actual cost per day" />
        ) : (
          <div className="chart placeholder" data-testid="aurora-cost-reality">
            {loaded === "pending" ? "Loading…" : "No data."}
          </div>
        )}
      </Section>

      <ReflexCard reflex={aurora?.reflex ?? null} loaded={loaded} onReflex={onReflex} reload={reloadReflex} />

      <Section title="Strategy Log" testId="aurora-strategy-log">
        {logProblem ? (
          <div className="notice warning small" role="status">
            {logProblem}
          </div>
        ) : null}
        <TableWrap>
          <table>
            <thead>
              <tr>
                <th>Time</th>
                <th>Kind</th>
                <th>Rule</th>
                <th>Message</th>
                <th>Values</th>
              </tr>
            </thead>
            <tbody>
              {log.length ? (
                log.map((e, i) => {
                  const change = strategyChange(e);
                  return (
                    <tr key={`${e.at}-${i}`} data-testid="strategy-log-row" data-kind={e.kind}>
                      <td className="nowrap">{fmtDateTime(e.at, tz)}</td>
                      <td>
                        <span className="tag">{e.kind}</span>
                      </td>
                      <td className="mono small">{e.rule ?? "–"}</td>
                      <td>{e.message}</td>
                      <td className="mono small">
                        {change ??
                          Object.entries(e.values ?? {})
                            .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toFixed(3)) : String(v)}`)
                            .join(" ")}
                      </td>
                    </tr>
                  );
                })
              ) : (
                <tr>
                  <td colSpan={5} className="muted">
                    {loaded === "pending" ? "Loading…" : "No entries yet."}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </TableWrap>
      </Section>
    </PageRoot>
  );
}
