import { useState } from "react";
import { api } from "../api/client";
import type { ExportWhatIfResult } from "../api/types";
import { messageOf } from "../lib/errors";
import { fmtDateTime, fmtTime } from "../lib/time";
import { Section, num } from "./ui";

const WINDOWS = ["tomorrow peak", "today peak"] as const;

/** "Export X kWh at tomorrow's peak: net SEK impact" (re-planned from now; nothing saved). */
export function ExportWhatIf({ tz }: { tz: string }) {
  const [kwh, setKwh] = useState("3");
  const [at, setAt] = useState<string>(WINDOWS[0]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ExportWhatIfResult | null>(null);
  const [error, setError] = useState("");

  const run = async () => {
    const energy = Number(kwh);
    if (!Number.isFinite(energy) || energy < 0) {
      setError("energy: a number of kWh >= 0");
      return;
    }
    setBusy(true);
    setError("");
    setResult(null);
    try {
      setResult(await api.post<ExportWhatIfResult>("/planning/whatif/export", { energy_kwh: energy, at }));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Export what-if" testId="whatif-export">
      <div className="form-row">
        <label>
          Export [kWh]
          <input
            type="number"
            min={0}
            step={0.5}
            value={kwh}
            onChange={(e) => setKwh(e.target.value)}
            data-testid="whatif-kwh"
          />
        </label>
        <label>
          At
          <select value={at} onChange={(e) => setAt(e.target.value)} data-testid="whatif-at">
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn" disabled={busy} onClick={() => void run()} data-testid="whatif-run">
          Calculate
        </button>
        {busy ? <span className="spinner" aria-label="Working" /> : null}
      </div>
      <div aria-live="polite" data-testid="whatif-result">
        {result ? (
          <>
            <div className="kv-grid">
              <span>Window</span>
              <b>
                {fmtDateTime(result.window.start, tz)} – {fmtTime(result.window.end, tz)}
              </b>
              <span>Net impact</span>
              <b className={result.net_impact_sek > 0 ? "bad" : "ok"} data-testid="whatif-impact">
                {result.net_impact_sek > 0 ? "+" : ""}
                {num(result.net_impact_sek, 2, "SEK")}
              </b>
              <span>Exported in the window</span>
              <b>
                {num(result.whatif_export_kwh, 2, "kWh")} (plan now {num(result.base_export_kwh, 2, "kWh")})
              </b>
              {result.shortfall_kwh > 0 ? (
                <>
                  <span>Cannot deliver</span>
                  <b className="bad">{num(result.shortfall_kwh, 2, "kWh")}</b>
                </>
              ) : null}
            </div>
            {result.warnings.map((w) => (
              <p key={w} className="muted small">
                {w}
              </p>
            ))}
          </>
        ) : error ? (
          <span className="bad">What-if failed: {error}</span>
        ) : (
          <p className="muted small">Re-plans from now with and without the export; nothing is saved.</p>
        )}
      </div>
    </Section>
  );
}
