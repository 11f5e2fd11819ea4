import { useEffect, useRef } from "react";
import { type ChartOption, echarts } from "../charts/echarts";
import { seriesPoints } from "../lib/shape";

type Props = {
  option: ChartOption;
  testId?: string;
  seriesNames?: readonly string[];
  height?: number;
  ariaLabel?: string;
  /** Initial zoom window [startMs, endMs] on the x-axis, applied once when first given. */
  zoomWindow?: [number, number] | null;
};

/** An ECharts canvas that follows its container's size (ResizeObserver). */
export function EChart({ option, testId, seriesNames, height = 320, ariaLabel, zoomWindow }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const zoomed = useRef(false);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const c = echarts.init(el, undefined, { renderer: "canvas" });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    // Merge (keeps the user's zoom), but replace the series so removed ones disappear.
    const c = chart.current;
    if (!c) return;
    c.setOption(option, { replaceMerge: ["series"] });
    // What the chart really holds (read back from ECharts, not from our props): the drawn
    // series names and how many points of each carry a value. Tests and tools read these.
    const el = ref.current;
    if (el) {
      const drawn = seriesPoints(c.getOption().series);
      el.dataset.series = JSON.stringify(Object.keys(drawn));
      el.dataset.seriesPoints = JSON.stringify(drawn);
    }
    if (zoomWindow && !zoomed.current) {
      zoomed.current = true;
      c.dispatchAction({ type: "dataZoom", startValue: zoomWindow[0], endValue: zoomWindow[1] });
    }
  }, [option, zoomWindow]);

  return (
    <div
      ref={ref}
      className="chart"
      style={{ height }}
      data-testid={testId}
      data-expected-series={seriesNames ? JSON.stringify(seriesNames) : undefined}
      role="img"
      aria-label={ariaLabel}
    />
  );
}

