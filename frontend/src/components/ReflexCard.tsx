// The Aurora page's Reflex card: the switch, the last and next run, the latest assessment
// of each analyzer, the logged proposals and changes, and "Run Reflex now". A finished run
// (live "reflex" message, or this page's own request) reloads the page's data.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { Reflex, ReflexHistoryRow, ReflexRun } from "../api/types";
import { messageOf } from "../lib/errors";
import { type LoadState, useTimezone } from "../lib/hooks";
import { boundsText, changeText, proposalText, runSummary } from "../lib/reflex";
import { fmtDateTime } from "../lib/time";
import { live } from "../live";
import { KV, type Result, ResultText, Section, TableWrap } from "./ui";

function ProposalsTable({ reflex }: { reflex: Reflex }) {
  return (
    <TableWrap>
      <table data-testid="aurora-reflex-proposals">
        <thead>
          <tr>
            <th>Key</th>
            <th>Current → proposed</th>
            <th>Bounds</th>
            <th>Reason</th>
            <th>Signal</th>
          </tr>
        </thead>
        <tbody>
          {reflex.proposals.map((p) => {
            const changed = p.proposed !== null && p.proposed !== undefined;
            return (
              <tr key={p.key} data-testid="aurora-reflex-proposal" data-key={p.key} data-changed={String(changed)}>
                <td className="mono">{p.key}</td>
                <td className="nowrap">{changed ? <b>{proposalText(p)}</b> : <span className="muted">{proposalText(p)}</span>}</td>
                <td className="nowrap">{boundsText(p.bounds)}</td>
                <td>{p.reason}</td>
                <td className="small">{p.signal_summary ?? "–"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

function HistoryTable({ rows, tz }: { rows: ReflexHistoryRow[]; tz: string }) {
  return (
    <TableWrap>
      <table data-testid="aurora-reflex-history">
        <thead>
          <tr>
            <th>Time</th>
            <th>Kind</th>
            <th>Key</th>
            <th>Before → after</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {rows.length ? (
            rows.map((r, i) => (
              <tr key={`${r.at}-${r.kind}-${r.key}-${i}`} data-testid="aurora-reflex-history-row" data-kind={r.kind} data-key={r.key}>
                <td className="nowrap">{fmtDateTime(r.at, tz)}</td>
                <td>
                  <span className={`tag ${r.kind === "reflex_applied" ? "ok" : ""}`}>{r.kind === "reflex_applied" ? "applied" : "proposed"}</span>
                </td>
                <td className="mono">{r.key}</td>
                <td className="nowrap">{changeText(r.before, r.after)}</td>
                <td className="small">{r.message}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={5} className="muted">
                No proposals logged yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

/**
 * The Reflex card. `onReflex` takes the card's new state (the switch's reply); `reload`
 * reads the page's data again after a run (new assessments, history and strategy log).
 */
export function ReflexCard({ reflex, loaded, onReflex, reload }: {
  reflex: Reflex | null;
  loaded: LoadState;
  onReflex: (r: Reflex) => void;
  reload: () => void;
}) {
  const tz = useTimezone();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

  useEffect(() => live.subscribe((m) => {
    if (m.type === "reflex") reload();
  }), [reload]);

  const setEnabled = async (enabled: boolean) => {
    setBusy(true);
    setResult(null);
    try {
      const r = await api.post<Reflex>("/aurora/reflex", { enabled });
      onReflex(r);
      setResult({ ok: true, text: r.enabled ? "Reflex on" : "Reflex off" });
    } catch (e) {
      setResult({ ok: false, text: messageOf(e) });
    } finally {
      setBusy(false);
    }
  };

  const runNow = async () => {
    setBusy(true);
    setResult(null);
    try {
      const r = await api.post<ReflexRun>("/reflex/run", undefined, { silent: true });
      setResult({ ok: r.state !== "failed", text: runSummary(r) });
    } catch (e) {
      setResult({ ok: false, text: `Reflex run failed: ${messageOf(e)}` });
    } finally {
      setBusy(false);
      reload();
    }
  };

  const last = reflex?.last_run ?? null;
  const running = busy || Boolean(reflex?.running);
  return (
    <Section
      title="Reflex"
      testId="aurora-reflex"
      extra={
        <label className="switch">
          <input
            type="checkbox"
            data-testid="aurora-reflex-switch"
            checked={reflex?.enabled ?? false}
            disabled={!reflex || busy}
            onChange={(e) => void setEnabled(e.target.checked)}
          />
          <span>{reflex?.enabled ? "enabled" : "disabled"}</span>
        </label>
      }
    >
      {reflex ? (
        <>
          <div className="bridge-top">
            <div>
              <KV k="Mode" v={reflex.enabled ? "applies its changes to config.yaml" : "dry run: proposes and logs only"} />
              <KV
                k="Last run"
                v={
                  last ? (
                    <span data-testid="aurora-reflex-last-run" data-state={last.state}>
                      {fmtDateTime(last.at, tz)} ({last.reason}){" "}
                      <span className={`tag ${last.state === "failed" ? "bad" : "ok"}`}>{last.state}</span>
                    </span>
                  ) : (
                    "none yet"
                  )
                }
              />
              {last ? <p className={`small ${last.state === "failed" ? "bad" : "muted"}`}>{runSummary(last)}</p> : null}
              <KV k="Next run" v={reflex.next_run ? fmtDateTime(reflex.next_run, tz) : "–"} />
            </div>
            <div>
              <div className="actions">
                <button
                  type="button"
                  className="btn"
                  data-testid="aurora-reflex-run"
                  disabled={running}
                  title={reflex.enabled ? "Run Reflex now and apply its changes" : "Run Reflex now (dry run: the switch is off)"}
                  onClick={() => void runNow()}
                >
                  Run Reflex now
                </button>
                {busy ? <span className="spinner" aria-label="Working" /> : null}
                <ResultText result={result} testId="aurora-reflex-result" />
              </div>
            </div>
          </div>
          <h3 className="sub">Assessments{reflex.assessed_at ? ` (${fmtDateTime(reflex.assessed_at, tz)})` : ""}</h3>
          {reflex.proposals.length ? <ProposalsTable reflex={reflex} /> : <p className="muted">No assessment yet.</p>}
          <h3 className="sub">History</h3>
          <HistoryTable rows={reflex.history ?? []} tz={tz} />
          {reflex.note ? <p className="muted small">{reflex.note}</p> : null}
        </>
      ) : (
        <p className="muted">{loaded === "pending" ? "Loading…" : "Not available."}</p>
      )}
    </Section>
  );
}
