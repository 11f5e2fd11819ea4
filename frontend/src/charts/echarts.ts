// ECharts with only what the UI draws (keeps the bundle small).
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import {
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { BarSeriesOption, LineSeriesOption } from "echarts/charts";
import type {
  DataZoomComponentOption,
  GridComponentOption,
  LegendComponentOption,
  TooltipComponentOption,
} from "echarts/components";
import type { ComposeOption } from "echarts/core";

echarts.use([
  LineChart,
  BarChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  MarkLineComponent,
  CanvasRenderer,
]);

export type ChartOption = ComposeOption<
  | LineSeriesOption
  | BarSeriesOption
  | GridComponentOption
  | TooltipComponentOption
  | LegendComponentOption
  | DataZoomComponentOption
>;

export { echarts };

export const AXIS_STYLE = {
  axisLine: { lineStyle: { color: "#3a4654" } },
  axisLabel: { color: "#a9b4c2" },
  splitLine: { lineStyle: { color: "#232c37" } },
  nameTextStyle: { color: "#a9b4c2" },
};

export const TOOLTIP_STYLE = {
  backgroundColor: "rgba(20, 26, 34, 0.94)",
  borderColor: "#3a4654",
  textStyle: { color: "#e6ebf1", fontSize: 12 },
};
