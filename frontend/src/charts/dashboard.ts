import type { LineSeriesOption } from "echarts/charts";
import type { ForecastBand } from "../lib/bands";
import { COLORS } from "../lib/colors";
import { type DashboardSeries, type SeriesName, SERIES, STEP_SERIES, pointData, stepData, tooltipPosition } from "../lib/shape";
import { fmtDate, fmtDateTime, fmtTime } from "../lib/time";
import { AXIS_STYLE, type ChartOption, TOOLTIP_STYLE } from "./echarts";

const UNIT: Record<SeriesName, string> = {
  "Import price": "SEK/kWh",
  PV: "kW",
  Load: "kW",
  Charge: "kW",
  Discharge: "kW",
  Export: "kW",
  Water: "kW",
  EV: "kW",
  "SoC projected": "%",
  "SoC actual": "%",
  "SoC target": "%",
};

type TipParam = { seriesName?: string; value?: unknown; data?: unknown; marker?: unknown; axisValue?: unknown };

/** A band's data item: the stacked height (P90 - P10) as value, the bounds for the tooltip. */
type BandDatum = { value: [number, number | null]; band: [number, number] | null };

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

export function timeAxisLabel(tz: string) {
  return (v: number) => {
    const t = fmtTime(v, tz);
    return t === "00:00" ? fmtDate(v, tz) : t;
  };
}

export function positionTooltip(
  point: number[],
  _params: unknown,
  _dom: unknown,
  _rect: unknown,
  size: { contentSize: number[]; viewSize: number[] },
): [number, number] {
  return tooltipPosition(
    [point[0] ?? 0, point[1] ?? 0],
    [size.viewSize[0] ?? 0, size.viewSize[1] ?? 0],
    [size.contentSize[0] ?? 0, size.contentSize[1] ?? 0],
  );
}

/** Axis tooltip: one line per series with a value, each band's bounds right after its line. */
function tooltipFormatter(tz: string, bands: ForecastBand[]) {
  const bandNames = new Set<string>(bands.map((b) => b.name));
  return (raw: unknown) => {
    const params = (Array.isArray(raw) ? raw : [raw]) as TipParam[];
    const first = params[0];
    const t = Number(first?.axisValue ?? (Array.isArray(first?.value) ? first.value[0] : NaN));
    const entries = new Map<string, string>();
    for (const p of params) {
      const name = p.seriesName ?? "";
      if (entries.has(name)) continue;
      if (bandNames.has(name)) {
        const band = (p.data as BandDatum | undefined)?.band;
        if (band) entries.set(name, `${String(p.marker ?? "")}${name}: <b>${band[0].toFixed(2)} – ${band[1].toFixed(2)}</b> kW`);
        continue;
      }
      if (!(SERIES as readonly string[]).includes(name)) continue;
      const v = Array.isArray(p.value) ? (p.value[1] as number | null) : null;
      if (v === null || v === undefined) continue;
      const unit = UNIT[name as SeriesName];
      const digits = unit === "SEK/kWh" ? 2 : unit === "%" ? 0 : 2;
      entries.set(name, `${String(p.marker ?? "")}${name}: <b>${v.toFixed(digits)}</b> ${unit}`);
    }
    const lines = [`<b>${fmtDateTime(t, tz)}</b>`];
    for (const name of SERIES) {
      const line = entries.get(name);
      if (line) lines.push(line);
      for (const b of bands) {
        const bandLine = b.line === name ? entries.get(b.name) : undefined;
        if (bandLine) lines.push(bandLine);
      }
    }
    return lines.join("<br/>");
  };
}

/**
 * A P10–P90 band as two stacked step series on the kW axis: the lower bound, invisible, and
 * on it the height P90 - P10, filled in the line's colour. Drawn below the lines (z 1).
 */
function bandSeries(b: ForecastBand, times: number[]): LineSeriesOption[] {
  const low = stepData(times, b.low);
  const high = stepData(times, b.high);
  const color = COLORS[b.line];
  const common: LineSeriesOption = {
    type: "line",
    yAxisIndex: 0,
    stack: b.name,
    step: "end",
    symbol: "none",
    showSymbol: false,
    connectNulls: false,
    color,
    lineStyle: { opacity: 0 },
    emphasis: { disabled: true },
    animation: false,
    z: 1,
  };
  const band: BandDatum[] = high.map(([t, hi], i) => {
    const lo = low[i]?.[1] ?? null;
    return lo === null || hi === null ? { value: [t, null], band: null } : { value: [t, round4(hi - lo)], band: [lo, hi] };
  });
  return [
    { ...common, name: b.lowName, data: low, silent: true, tooltip: { show: false } },
    { ...common, name: b.name, data: band, areaStyle: { color, opacity: 0.22 } },
  ];
}

export function dashboardOption(d: DashboardSeries, tz: string, narrow: boolean, bands: ForecastBand[] = []): ChartOption {
  const series: LineSeriesOption[] = SERIES.map((name) => {
    const step = STEP_SERIES.includes(name);
    const values = d.series[name];
    const yAxisIndex = name === "Import price" ? 1 : name.startsWith("SoC") ? 2 : 0;
    const s: LineSeriesOption = {
      name,
      type: "line",
      yAxisIndex,
      data: step ? stepData(d.times, values) : pointData(d.times, values),
      step: step ? "end" : false,
      showSymbol: false,
      connectNulls: false,
      color: COLORS[name],
      lineStyle: {
        width: name === "Import price" || name === "SoC actual" ? 2 : 1.5,
        type: name === "SoC projected" ? "dashed" : name === "SoC target" ? "dotted" : "solid",
      },
      emphasis: { disabled: true },
      animation: false,
    };
    if (name === "PV") s.areaStyle = { opacity: 0.15 };
    if (name === "Import price") {
      s.markLine = {
        silent: true,
        symbol: "none",
        animation: false,
        lineStyle: { color: "#ffffff", type: "solid", width: 1, opacity: 0.7 },
        label: { formatter: "now", color: "#ffffff", position: "end" },
        data: [{ xAxis: d.now }],
      };
    }
    return s;
  });
  for (const b of bands) series.push(...bandSeries(b, d.times));

  return {
    backgroundColor: "transparent",
    animation: false,
    grid: { left: narrow ? 34 : 48, right: narrow ? 62 : 96, top: narrow ? 104 : 56, bottom: 64 },
    legend: {
      type: narrow ? "plain" : "scroll",
      top: 0,
      textStyle: { color: "#c8d1dc", fontSize: narrow ? 10 : 12 },
      pageTextStyle: { color: "#c8d1dc" },
      itemWidth: 14,
      itemHeight: 8,
      data: [
        ...SERIES,
        // A filled swatch: the band's own line is invisible.
        ...bands.map((b) => ({ name: b.name, icon: "roundRect", itemStyle: { color: COLORS[b.line], opacity: 0.45 } })),
      ],
    },
    tooltip: {
      trigger: "axis",
      confine: true,
      ...TOOLTIP_STYLE,
      axisPointer: { type: "line", lineStyle: { color: "#6b7a8c" } },
      position: positionTooltip,
      formatter: tooltipFormatter(tz, bands),
    },
    xAxis: {
      type: "time",
      min: d.start ?? undefined,
      max: d.end ?? undefined,
      ...AXIS_STYLE,
      splitLine: { show: false },
      axisLabel: { ...AXIS_STYLE.axisLabel, formatter: timeAxisLabel(tz), hideOverlap: true },
    },
    yAxis: [
      { type: "value", name: "kW", position: "left", ...AXIS_STYLE },
      {
        type: "value",
        name: narrow ? "SEK" : "SEK/kWh",
        position: "right",
        ...AXIS_STYLE,
        splitLine: { show: false },
        axisLabel: { ...AXIS_STYLE.axisLabel, formatter: (v: number) => v.toFixed(1) },
      },
      {
        type: "value",
        name: "%",
        position: "right",
        offset: narrow ? 32 : 46,
        min: 0,
        max: 100,
        ...AXIS_STYLE,
        splitLine: { show: false },
      },
    ],
    dataZoom: [
      { type: "inside", xAxisIndex: 0, filterMode: "none" },
      {
        type: "slider",
        xAxisIndex: 0,
        filterMode: "none",
        height: 18,
        bottom: 8,
        borderColor: "#3a4654",
        textStyle: { color: "#a9b4c2" },
        labelFormatter: (v: number) => fmtDateTime(v, tz),
        showDetail: !narrow,
      },
    ],
    series,
  };
}
