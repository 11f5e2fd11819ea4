import { decisionLines, factorText, overlayText, riskLines } from "../lib/sindex";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/client";
import type { HistorySlot, Override, ScheduleDocument, Status } from "../api/types";
import { dashboardOption } from "../charts/dashboard";
import { EChart } from "../components/EChart";
import { InputSources, KV, PageRoot, type Result, ResultText, Section, num, useNarrow } from "../components/ui";
import { forecastBands } from "../lib/bands";
import { ApiError, messageOf } from "../lib/errors";
import { type LoadState, useStore, useTimezone } from "../lib/hooks";
import { SERIES, buildDashboardSeries } from "../lib/shape";
import { setTimezone } from "../lib/store";
import { fmtDateTime, fmtTime, toMs } from "../lib/time";
import { live } from "../live";

const MINUTES = [15, 30, 60, 120, 180, 240, 360, 720];
const POLL_MS = 15_000;

type QuickAction = "charge" | "discharge" | "hold" | "auto";

function overrideText(o: Override | null, tz: string): string {
  return o ? `${o.kind} until ${fmtTime(o.until, tz)}` : "none";
}

export function Dashboard() {
  const tz = useTimezone();
  const narrow = useNarrow();
  const connected = useStore(live.connected);
  const [status, setStatus] = useState<Status | null>(null);
  const [schedule, setSchedule] = useState<ScheduleDocument | null>(null);
  const [noSchedule, setNoSchedule] = useState(false);
  const [history, setHistory] = useState<HistorySlot[]>([]);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [minutes, setMinutes] = useState(60);
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<Result>(null);
  const lastHistory = useRef(0);

  const loadStatus = useCallback(async () => {
    const s = await api.get<Status>("/status");
    setStatus(s);
    setTimezone(s.timezone);
  }, []);
  const loadSchedule = useCallback(async () => {
    try {
      const d = await api.get<ScheduleDocument>("/schedule");
      setSchedule(d);
      setNoSchedule(false);
      setTimezone(d.meta.timezone);
    } catch (e) {
      // 404 = no plan yet: shown in the banner, but the page itself is fine.
      if (e instanceof ApiError && e.status === 404) {
        setSchedule(null);
        setNoSchedule(true);
        return;
      }
      throw e;
    }
  }, []);
  const loadHistory = useCallback(async () => {
    lastHistory.current = Date.now();
    const h = await api.get<{ slots: HistorySlot[] }>("/schedule/history", { hours: 24 });
    setHistory(h.slots ?? []);
  }, []);
  const loadAll = useCallback(async () => {
    const r = await Promise.allSettled([loadStatus(), loadSchedule(), loadHistory()]);
    const ok = r.every((x) => x.status === "fulfilled");
    setLoaded((prev) => (ok ? "true" : prev === "true" ? "true" : "error"));
  }, [loadStatus, loadSchedule, loadHistory]);

  useEffect(() => {
    void loadAll();
  }, [loadAll]);

  // Live updates; polling every 15 s while the socket is down.
  useEffect(() => {
    return live.subscribe((m) => {
      if (m.type === "status") {
        setStatus(m.data);
        if (Date.now() - lastHistory.current > 5000) loadHistory().catch(() => undefined);
      } else if (m.type === "schedule") {
        loadSchedule().catch(() => undefined);
      }
    });
  }, [loadHistory, loadSchedule]);
  useEffect(() => {
    if (connected) return;
    const id = setInterval(() => void loadAll(), POLL_MS);
    return () => clearInterval(id);
  }, [connected, loadAll]);

  const now = status ? toMs(status.now) : Date.now();
  const data = useMemo(
    () => buildDashboardSeries(history, schedule?.schedule ?? [], Number.isFinite(now) ? now : Date.now()),
    [history, schedule, now],
  );
  const bands = useMemo(() => forecastBands(schedule?.schedule ?? [], data.times), [schedule, data]);
  const option = useMemo(() => dashboardOption(data, tz, narrow, bands), [data, tz, narrow, bands]);
  // What the chart should draw: the fixed series, plus each band and its invisible lower bound.
  const expectedSeries = useMemo(() => [...SERIES, ...bands.flatMap((b) => [b.lowName, b.name])], [bands]);
  // Show 24 h back and 24 h ahead first; zoom out with the slider to see the whole plan.
  const zoomWindow = useMemo<[number, number] | null>(() => {
    if (loaded !== "true" || data.start === null || data.end === null) return null;
    return [Math.max(data.start, data.now - 24 * 3_600_000), Math.min(data.end, data.now + 24 * 3_600_000)];
  }, [data, loaded]);

  const act = async (action: QuickAction) => {
    setBusy(action);
    setResult(null);
    try {
      const r = await api.post<{ override: Override | null }>("/actions", { action, minutes });
      setStatus((s) => (s ? { ...s, executor: { ...s.executor, override: r.override } } : s));
      setResult({
        ok: true,
        text: action === "auto" ? "Back to automatic: override cleared" : `${action} for ${minutes} min${r.override ? ` (until ${fmtTime(r.override.until, tz)})` : ""}`,
      });
      loadStatus().catch(() => undefined);
    } catch (e) {
      setResult({ ok: false, text: `${action} failed: ${messageOf(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const boost = async (mins: number) => {
    setBusy("water");
    setResult(null);
    try {
      const r = await api.post<{ water_override: Override | null }>("/water/boost", { minutes: mins });
      setStatus((s) => (s ? { ...s, executor: { ...s.executor, water_override: r.water_override } } : s));
      setResult({
        ok: true,
        text: mins === 0 ? "Water boost cancelled" : `Water boost for ${mins} min${r.water_override ? ` (until ${fmtTime(r.water_override.until, tz)})` : ""}`,
      });
      loadStatus().catch(() => undefined);
    } catch (e) {
      setResult({ ok: false, text: `Water boost failed: ${messageOf(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const s = status;
  const sIndex = s?.s_index ?? schedule?.meta.s_index ?? null;
  const targetSoc = sIndex?.target_soc_percent ?? schedule?.meta.target_soc_percent ?? null;
  const importKw = s ? Math.max(0, s.grid_kw) : null;
  const exportKw = s ? Math.max(0, -s.grid_kw) : null;
  const batt = s?.battery_kw ?? null;
  const ov = s?.executor.override ?? null;
  const wov = s?.executor.water_override ?? null;
  const waterMinutes = Math.min(minutes, 240);

  return (
    <PageRoot name="dashboard" loaded={loaded} title="Dashboard">
      {s && s.problems.length > 0 && (
        <div className="notice warning" role="status" data-testid="problems">
          {s.problems.map((p) => (
            <div key={p}>{p}</div>
          ))}
        </div>
      )}
      <div className="cards">
        <div className="card" data-testid="card-grid">
          <h3>Grid</h3>
          <div className="big">
            {importKw !== null && exportKw !== null && exportKw > 0 ? `${num(exportKw, 2)} kW export` : `${num(importKw, 2)} kW import`}
          </div>
          <KV k="Import now" v={`${num(importKw, 2)} kW`} />
          <KV k="Export now" v={`${num(exportKw, 2)} kW`} />
          <KV k="Cost today" v={`${num(s?.cost_today_sek, 2)} SEK`} />
          <KV k="Price now" v={`${num(s?.import_price_sek_per_kwh, 2)} SEK/kWh`} />
        </div>
        <div className="card" data-testid="card-battery">
          <h3>Battery</h3>
          <div className="big">{num(s?.soc_percent, 0)} %</div>
          <KV k="Power" v={`${num(batt, 2)} kW`} />
          <KV k="State" v={batt === null ? "–" : batt > 0.05 ? "charging" : batt < -0.05 ? "discharging" : "idle"} />
          <KV k="PV / Load" v={`${num(s?.pv_kw, 1)} / ${num(s?.load_kw, 1)} kW`} />
        </div>
        <div className="card" data-testid="card-sindex">
          <h3>S-Index</h3>
          <div className="big">× {num(sIndex?.load_factor, 2)}</div>
          <KV k="Load factor" v={num(sIndex?.load_factor, 3)} />
          <KV k="PV confidence" v={`${num(sIndex?.pv_confidence_percent, 0)} %`} />
          <KV k="Mode" v={sIndex?.mode ?? "–"} />
          <KV k="Risk (day 2-3)" v={num(sIndex?.risk, 2)} title={riskLines(sIndex).join("\n")} />
          <div className="muted small" data-testid="sindex-inputs">
            <div>Factor: {factorText(sIndex)}</div>
            {riskLines(sIndex).map((line) => (
              <div key={line}>Risk: {line}</div>
            ))}
            <div>Overlay: {overlayText(sIndex)}</div>
            {decisionLines(schedule?.meta).map((line) => (
              <div key={line} data-testid="engine-decision">
                Rule {line}
              </div>
            ))}
          </div>
        </div>
        <div className="card" data-testid="card-target-soc">
          <h3>Target SoC</h3>
          <div className="big">{num(targetSoc, 0)} %</div>
          <KV k="At" v={sIndex?.target_soc_at ? fmtDateTime(sIndex.target_soc_at, tz) : "–"} />
          <KV k="Action now" v={s?.current_action ?? "–"} title={s?.current_reason ?? undefined} />
          <KV k="Water" v={s?.water_temp_c === null || s?.water_temp_c === undefined ? "–" : `${num(s.water_temp_c, 1)} °C`} />
          <KV
            k="Below 40 °C today"
            v={s ? `${num(s.water_cold_minutes_today, 0)} min${s.water_planned ? "" : " (not planned)"}` : "–"}
          />
        </div>
        {s?.ev && (
          <div className="card" data-testid="card-ev">
            <h3>Car</h3>
            <div className="big">{num(s.ev.soc_percent, 0)} %</div>
            <KV k="Plugged in" v={s.ev.plugged_in === null ? "–" : s.ev.plugged_in ? "yes" : "no"} />
            <KV k="Departure" v={s.ev.departure ? fmtDateTime(s.ev.departure, tz) : "none set"} />
            <KV
              k={`Target ${num(s.ev.target_soc_percent, 0)} %`}
              v={
                s.ev.target_met === null
                  ? "not planned"
                  : s.ev.target_met
                    ? "met by the plan"
                    : `short ${num(s.ev.shortfall_kwh, 1)} kWh`
              }
            />
            <KV k="Charging now" v={`${num(s.ev.charging_kw, 1)} kW`} />
            {s.ev.problem && <div className="muted small">{s.ev.problem}</div>}
          </div>
        )}
        {s?.capacity_tariff && (
          <div className="card" data-testid="card-capacity">
            <h3>Capacity tariff {s.capacity_tariff.month}</h3>
            <div className="big">{num(s.capacity_tariff.billed_peak_kw, 2)} kW</div>
            <KV k="Charge so far" v={`${num(s.capacity_tariff.charge_sek, 0)} SEK`} />
            <KV
              k={`Top ${s.capacity_tariff.peaks_counted} peaks`}
              v={s.capacity_tariff.peaks_kw.length ? s.capacity_tariff.peaks_kw.map((p) => num(p, 1)).join(" · ") + " kW" : "none yet"}
            />
            <KV k="Fee" v={`${num(s.capacity_tariff.sek_per_kw_month, 0)} SEK/kW/month`} />
            <KV k="With the plan" v={`${num(s.capacity_tariff.planned_billed_peak_kw, 2)} kW`} />
          </div>
        )}
      </div>

      {s && s.inputs.length > 0 && (
        <Section title="Inputs of the plan" testId="dashboard-inputs">
          <InputSources inputs={s.inputs} />
        </Section>
      )}

      <Section
        title="Last 24 h and the plan ahead"
        className="chart-panel"
        extra={
          <span className="muted small">
            {schedule
              ? `plan ${schedule.meta.status} · ${fmtDateTime(schedule.meta.planned_at, tz)} · ${num(schedule.meta.objective_sek, 2)} SEK`
              : noSchedule
                ? "no plan yet"
                : ""}
          </span>
        }
      >
        {schedule?.meta.warnings?.length ? (
          <ul className="warnings">
            {schedule.meta.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        ) : null}
        <EChart option={option} testId="chart-main" seriesNames={expectedSeries} zoomWindow={zoomWindow} height={narrow ? 340 : 420} ariaLabel="Prices, power and state of charge over 48 hours" />
      </Section>

      <Section title="Quick actions" className="actions-panel">
        <div className="actions">
          <label className="inline">
            Duration{" "}
            <select data-testid="action-minutes" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
              {MINUTES.map((m) => (
                <option key={m} value={m}>
                  {m < 60 ? `${m} min` : `${m / 60} h`}
                </option>
              ))}
            </select>
          </label>
          <button type="button" data-testid="action-charge" className="btn charge" disabled={busy !== null} onClick={() => void act("charge")}>
            Charge
          </button>
          <button type="button" data-testid="action-discharge" className="btn discharge" disabled={busy !== null} onClick={() => void act("discharge")}>
            Discharge
          </button>
          <button type="button" data-testid="action-hold" className="btn hold" disabled={busy !== null} onClick={() => void act("hold")}>
            Hold
          </button>
          <button type="button" data-testid="action-auto" className="btn" disabled={busy !== null} onClick={() => void act("auto")}>
            Auto
          </button>
          <button
            type="button"
            data-testid="action-water-boost"
            className="btn water"
            disabled={busy !== null}
            title={minutes > 240 ? "Water boost is at most 4 h" : undefined}
            onClick={() => void boost(waterMinutes)}
          >
            Water boost {waterMinutes < 60 ? `${waterMinutes} min` : `${waterMinutes / 60} h`}
          </button>
          {wov ? (
            <button type="button" className="btn ghost" disabled={busy !== null} onClick={() => void boost(0)}>
              Cancel boost
            </button>
          ) : null}
          {busy ? <span className="spinner" aria-label="Working" /> : null}
        </div>
        <p className="override">
          Override:{" "}
          <b data-testid="override-status">
            {overrideText(ov, tz)}
            {wov ? ` · ${overrideText(wov, tz)}` : ""}
          </b>
          {s?.executor.shadow ? <span className="tag warn">shadow mode</span> : null}
        </p>
        <ResultText result={result} testId="action-result" />
      </Section>
    </PageRoot>
  );
}
