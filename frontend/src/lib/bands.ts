// Forecast uncertainty bands for the dashboard chart: the schedule rows' optional P10/P90
// energies [kWh per slot] -> average power [kW] per slot, on the chart's time axis.
import type { ScheduleRow } from "../api/types";
import { kwhToKw } from "./shape";
import { toMs } from "./time";

/** Legend names of the bands, each drawn around the line it belongs to. */
export const BAND_SERIES = ["PV P10–P90", "Load P10–P90"] as const;
export type BandName = (typeof BAND_SERIES)[number];

type QuantileField = "pv_p10_kwh" | "pv_p90_kwh" | "load_p10_kwh" | "load_p90_kwh";

const BAND_FIELDS: readonly { name: BandName; line: "PV" | "Load"; lowName: string; low: QuantileField; high: QuantileField }[] = [
  { name: "PV P10–P90", line: "PV", lowName: "PV P10", low: "pv_p10_kwh", high: "pv_p90_kwh" },
  { name: "Load P10–P90", line: "Load", lowName: "Load P10", low: "load_p10_kwh", high: "load_p90_kwh" },
];

export type ForecastBand = {
  name: BandName;
  /** The dashboard series the band surrounds (and takes its colour from). */
  line: "PV" | "Load";
  /** Name of the invisible lower series the band is stacked on. */
  lowName: string;
  /** P10 [kW] per time of the axis; null = no band there (a gap, or a step's end point). */
  low: (number | null)[];
  /** P90 [kW] per time of the axis; null exactly where `low` is null. */
  high: (number | null)[];
};

function num(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * The P10–P90 bands of the schedule rows, one value per time of `times` (the dashboard
 * series' axis): a slot's band sits at its start, like the PV and load steps. A slot that
 * lacks either bound has none (null). Only bands with at least one slot are returned, so
 * a plan without a probabilistic forecast gives [].
 */
export function forecastBands(rows: ScheduleRow[], times: number[]): ForecastBand[] {
  const byStart = new Map<number, ScheduleRow>();
  for (const r of rows) byStart.set(toMs(r.start), r);
  const bands: ForecastBand[] = [];
  for (const f of BAND_FIELDS) {
    const low: (number | null)[] = [];
    const high: (number | null)[] = [];
    for (const t of times) {
      const r = byStart.get(t);
      const lo = r ? num(r[f.low]) : null;
      const hi = r ? num(r[f.high]) : null;
      if (r === undefined || lo === null || hi === null) {
        low.push(null);
        high.push(null);
        continue;
      }
      const end = toMs(r.end);
      low.push(kwhToKw(lo, t, end));
      high.push(kwhToKw(hi, t, end));
    }
    if (low.some((v) => v !== null)) bands.push({ name: f.name, line: f.line, lowName: f.lowName, low, high });
  }
  return bands;
}
