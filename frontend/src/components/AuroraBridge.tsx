// The Aurora page's Bridge card: forecaster status, the forecast models in use, and their
// (re)training, updated live from the socket's "aurora_training" messages.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { Aurora, AuroraModel, AuroraTraining, RetrainReply } from "../api/types";
import { TARGET_LABEL, maeText, newerTraining, progressPct, trainingSummary } from "../lib/aurora";
import { messageOf } from "../lib/errors";
import { type LoadState, useStore, useTimezone } from "../lib/hooks";
import { fmtDateTime } from "../lib/time";
import { live } from "../live";
import { KV, type Result, ResultText, Section, TableWrap, num } from "./ui";

/** How often to re-read /aurora while a training runs and the live socket is down. */
const TRAINING_POLL_MS = 5_000;

function ModelsTable({ models, tz }: { models: AuroraModel[]; tz: string }) {
  return (
    <TableWrap>
      <table data-testid="aurora-models" className="models">
        <thead>
          <tr>
            <th>Target</th>
            <th>Stage</th>
            <th>Version</th>
            <th>Trained</th>
            <th>History</th>
            <th>Rows</th>
            <th title="Validation P50 MAE of the model in use vs the naive baseline">Validation MAE</th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {models.length ? (
            models.map((m, i) => (
              <tr key={`${m.target}-${m.stage}-${i}`} data-testid={`aurora-model-${m.target}`} data-stage={m.stage}>
                <td>{TARGET_LABEL[m.target] ?? m.target}</td>
                <td>
                  <span className="tag">{m.stage}</span>
                </td>
                <td className="mono small version">{m.version ?? "–"}</td>
                <td className="nowrap">{m.trained_at ? fmtDateTime(m.trained_at, tz) : "–"}</td>
                <td className="nowrap">{num(m.history_days, 0, "d")}</td>
                <td>{num(m.rows, 0)}</td>
                <td className="nowrap">{maeText(m.mae_kw, m.baseline_mae_kw)}</td>
                <td className="note">{m.note}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={8} className="muted">
                No trained models yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

function TrainingBlock({ t, tz }: { t: AuroraTraining; tz: string }) {
  const running = t.state === "running";
  const pct = progressPct(t.progress);
  const stateClass = t.state === "failed" ? "bad" : t.state === "done" ? "ok" : t.state === "running" ? "warn" : "";
  return (
    <div className="training" data-testid="aurora-training">
      <KV
        k="State"
        v={
          <span className={`tag ${stateClass}`} data-testid="aurora-training-state" data-state={t.state}>
            {t.state}
          </span>
        }
      />
      {running ? (
        <div className="progress-row">
          <div
            className="progress"
            data-testid="aurora-training-progress"
            role="progressbar"
            aria-label="Training progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
          >
            <div className="progress-bar" style={{ width: `${pct}%` }} />
          </div>
          <span className="small">
            {pct} %{t.message ? ` · ${t.message}` : ""}
          </span>
        </div>
      ) : t.message ? (
        <p className={`small ${t.state === "failed" ? "bad" : "muted"}`}>{t.message}</p>
      ) : null}
      {running ? <KV k="Started" v={fmtDateTime(t.started_at, tz)} /> : null}
      <KV k="Last finished" v={fmtDateTime(t.finished_at, tz)} />
      <KV k="Next scheduled" v={`${fmtDateTime(t.next_at, tz)}${t.schedule ? ` (${t.schedule})` : ""}`} />
    </div>
  );
}

/**
 * The Bridge card. `reload` reads /aurora again: after a training ends (for the new models)
 * and, while one runs without the live socket, every few seconds (for its progress).
 */
export function AuroraBridge({ bridge, loaded, reload }: { bridge: Aurora["bridge"] | null; loaded: LoadState; reload: () => void }) {
  const tz = useTimezone();
  const connected = useStore(live.connected);
  const [training, setTraining] = useState<AuroraTraining | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

  // Each /aurora reply brings the server's view (none from older servers: no block).
  useEffect(() => {
    const t = bridge?.training;
    setTraining((cur) => (t ? newerTraining(cur, t) : null));
  }, [bridge]);

  useEffect(() => {
    return live.subscribe((m) => {
      if (m.type !== "aurora_training") return;
      setTraining((cur) => newerTraining(cur, m.data));
      if (m.data.state === "done" || m.data.state === "failed") reload();
    });
  }, [reload]);

  const running = training?.state === "running";
  useEffect(() => {
    if (!running || connected) return;
    const id = setInterval(reload, TRAINING_POLL_MS);
    return () => clearInterval(id);
  }, [running, connected, reload]);

  const retrain = async () => {
    setBusy(true);
    setResult(null);
    try {
      const r = await api.post<Partial<RetrainReply> | null>("/aurora/retrain");
      const t = r?.training;
      if (t) setTraining((cur) => newerTraining(cur, t));
      setResult({ ok: t?.state !== "failed", text: trainingSummary(t) });
    } catch (e) {
      setResult({ ok: false, text: `Retrain failed: ${messageOf(e)}` });
    } finally {
      setBusy(false);
    }
  };

  const b = bridge;
  return (
    <Section title="Bridge" testId="aurora-bridge">
      {b ? (
        <>
          <div className="bridge-top">
            <div>
              <KV k="Status" v={<span className="tag">{b.status}</span>} />
              <KV k="Forecaster" v={b.forecaster} />
              <KV k={`Accuracy (${b.accuracy.window_days} d)`} v={`PV MAE ${num(b.accuracy.pv_mae_kwh, 3)} kWh · load MAE ${num(b.accuracy.load_mae_kwh, 3)} kWh`} />
            </div>
            <div>
              <h3 className="sub">Training</h3>
              {training ? <TrainingBlock t={training} tz={tz} /> : null}
              <div className="actions">
                <button
                  type="button"
                  className="btn"
                  data-testid="aurora-retrain"
                  disabled={busy || running}
                  title={running ? "A training is running" : "Train the forecast models now"}
                  onClick={() => void retrain()}
                >
                  Retrain now
                </button>
                {busy ? <span className="spinner" aria-label="Working" /> : null}
                <ResultText result={result} testId="aurora-retrain-result" />
              </div>
            </div>
          </div>
          <h3 className="sub">Models</h3>
          <ModelsTable models={b.models ?? []} tz={tz} />
        </>
      ) : (
        <p className="muted">{loaded === "pending" ? "Loading…" : "Not available."}</p>
      )}
    </Section>
  );
}
