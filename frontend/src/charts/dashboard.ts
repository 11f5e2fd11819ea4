import type { LineSeriesOption } from "echarts/charts";
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

type TipParam = { seriesName?: string; value?: unknown; marker?: unknown; axisValue?: unknown };

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

function tooltipFormatter(tz: string) {
  return (raw: unknown) => {
    const params = (Array.isArray(raw) ? raw : [raw]) as TipParam[];
    const first = params[0];
    const t = Number(first?.axisValue ?? (Array.isArray(first?.value) ? first.value[0] : NaN));
    const seen = new Set<string>();
    const lines = [`<b>${fmtDateTime(t, tz)}</b>`];
    for (const p of params) {
      const name = p.seriesName ?? "";
      if (seen.has(name) || !(SERIES as readonly string[]).includes(name)) continue;
      const v = Array.isArray(p.value) ? (p.value[1] as number | null) : null;
      if (v === null || v === undefined) continue;
      seen.add(name);
      const unit = UNIT[name as SeriesName];
      const digits = unit === "SEK/kWh" ? 2 : unit === "%" ? 0 : 2;
      lines.push(`${String(p.marker ?? "")}${name}: <b>${v.toFixed(digits)}</b> ${unit}`);
    }
    return lines.join("<br/>");
  };
}

export function dashboardOption(d: DashboardSeries, tz: string, narrow: boolean): ChartOption {
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
      data: [...SERIES],
    },
    tooltip: {
      trigger: "axis",
      confine: true,
      ...TOOLTIP_STYLE,
      axisPointer: { type: "line", lineStyle: { color: "#6b7a8c" } },
      position: positionTooltip,
      formatter: tooltipFormatter(tz),
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
