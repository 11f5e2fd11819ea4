import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { ManualAction, ManualBlock, ScheduleDocument, SimulateResult } from "../api/types";
import { ExportWhatIf } from "../components/ExportWhatIf";
import { Legend, Timeline } from "../components/Timeline";
import { PageRoot, type Result, ResultText, Section, num } from "../components/ui";
import { ApiError, messageOf } from "../lib/errors";
import { type LoadState, useTimezone } from "../lib/hooks";
import { groupBlocks } from "../lib/shape";
import { setTimezone } from "../lib/store";
import { fmtDateTime, fmtTime, fromLocalInput, toLocalInput, toMs, toZonedIso } from "../lib/time";

const ACTIONS: ManualAction[] = ["charge", "discharge", "hold"];

function nextHour(): number {
  const h = 3_600_000;
  return Math.ceil(Date.now() / h) * h;
}

export function Planning() {
  const tz = useTimezone();
  const [schedule, setSchedule] = useState<ScheduleDocument | null>(null);
  const [saved, setSaved] = useState<ManualBlock[]>([]);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [start, setStart] = useState(() => toLocalInput(nextHour(), tz));
  const [end, setEnd] = useState(() => toLocalInput(nextHour() + 3_600_000, tz));
  const [action, setAction] = useState<ManualAction>("charge");
  const [blocks, setBlocks] = useState<ManualBlock[]>([]);
  const [formError, setFormError] = useState("");
  const [busy, setBusy] = useState<"simulate" | "save" | null>(null);
  const [sim, setSim] = useState<SimulateResult | null>(null);
  const [simError, setSimError] = useState("");
  const [saveResult, setSaveResult] = useState<Result>(null);

  const loadSchedule = useCallback(async () => {
    try {
      const d = await api.get<ScheduleDocument>("/schedule");
      setSchedule(d);
      setTimezone(d.meta.timezone);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setSchedule(null);
        return;
      }
      throw e;
    }
  }, []);
  const loadSaved = useCallback(async () => {
    const r = await api.get<{ blocks: ManualBlock[] }>("/planning/blocks");
    setSaved(r.blocks ?? []);
  }, []);

  useEffect(() => {
    void Promise.allSettled([loadSchedule(), loadSaved()]).then((r) =>
      setLoaded(r.every((x) => x.status === "fulfilled") ? "true" : "error"),
    );
  }, [loadSchedule, loadSaved]);

  // Start the form at the plan's first full hour once the plan (and zone) is known.
  useEffect(() => {
    const first = schedule?.schedule[0];
    if (!first) return;
    const h = 3_600_000;
    const t = Math.ceil(toMs(first.start) / h) * h;
    setStart(toLocalInput(t, tz));
    setEnd(toLocalInput(t + h, tz));
  }, [schedule, tz]);

  const planBlocks = useMemo(() => groupBlocks(schedule?.schedule ?? []), [schedule]);
  const simBlocks = useMemo(() => groupBlocks(sim?.schedule.schedule ?? []), [sim]);

  const add = () => {
    const s = fromLocalInput(start, tz);
    const e = fromLocalInput(end, tz);
    if (s === null || e === null) {
      setFormError("Enter a start and an end.");
      return;
    }
    if (e <= s) {
      setFormError("The end must be after the start.");
      return;
    }
    setFormError("");
    setBlocks((b) =>
      [...b, { start: toZonedIso(s, tz), end: toZonedIso(e, tz), action }].sort((x, y) => toMs(x.start) - toMs(y.start)),
    );
    setSim(null);
    // Next block continues where this one ended.
    setStart(toLocalInput(e, tz));
    setEnd(toLocalInput(e + (e - s), tz));
  };

  const simulate = async () => {
    setBusy("simulate");
    setSimError("");
    setSim(null);
    try {
      setSim(await api.post<SimulateResult>("/planning/simulate", { blocks }));
    } catch (e) {
      setSimError(messageOf(e));
    } finally {
      setBusy(null);
    }
  };

  const save = async () => {
    setBusy("save");
    setSaveResult(null);
    try {
      const r = await api.put<{ blocks: ManualBlock[] }>("/planning/blocks", { blocks });
      setSaved(r.blocks ?? []);
      setSaveResult({ ok: true, text: `Saved ${r.blocks?.length ?? 0} block(s); replanning.` });
    } catch (e) {
      setSaveResult({ ok: false, text: `Save failed: ${messageOf(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const blockText = (b: ManualBlock) => `${b.action}: ${fmtDateTime(b.start, tz)} – ${fmtTime(b.end, tz)}`;

  return (
    <PageRoot name="planning" loaded={loaded} title="Planning">
      <Section
        title="Plan timeline"
        extra={
          <span className="muted small">
            {schedule ? `planned ${fmtDateTime(schedule.meta.planned_at, tz)} · ${schedule.meta.status}` : "no plan yet"}
          </span>
        }
      >
        <Legend />
        <Timeline blocks={planBlocks} tz={tz} />
      </Section>

      <Section title="Manual blocks">
        <div className="form-row">
          <label>
            Start
            <input type="datetime-local" data-testid="block-start" value={start} onChange={(e) => setStart(e.target.value)} />
          </label>
          <label>
            End
            <input type="datetime-local" data-testid="block-end" value={end} onChange={(e) => setEnd(e.target.value)} />
          </label>
          <label>
            Action
            <select data-testid="block-action" value={action} onChange={(e) => setAction(e.target.value as ManualAction)}>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="btn" data-testid="block-add" onClick={add}>
            Add block
          </button>
        </div>
        <p className="muted small">Times are in the house's timezone ({tz}).</p>
        {formError ? <p className="field-error">{formError}</p> : null}
        {blocks.length ? (
          <ul className="block-list">
            {blocks.map((b, i) => (
              <li key={`${b.start}-${i}`} data-testid="manual-block" className={`tag-${b.action}`}>
                <span>{blockText(b)}</span>
                <button
                  type="button"
                  className="icon-btn dismiss"
                  aria-label="Remove block"
                  title="Remove block"
                  onClick={() => {
                    setBlocks((l) => l.filter((_, j) => j !== i));
                    setSim(null);
                  }}
                />
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No manual blocks in the editor{saved.length ? " (saving an empty list clears the saved ones)" : ""}.</p>
        )}
        <div className="actions">
          <button type="button" className="btn" data-testid="block-simulate" disabled={busy !== null} onClick={() => void simulate()}>
            Simulate
          </button>
          <button type="button" className="btn primary" data-testid="block-save" disabled={busy !== null} onClick={() => void save()}>
            Save
          </button>
          {saved.length ? (
            <button type="button" className="btn ghost" disabled={busy !== null} onClick={() => setBlocks(saved)}>
              Edit saved blocks
            </button>
          ) : null}
          {busy ? <span className="spinner" aria-label="Working" /> : null}
          <ResultText result={saveResult} testId="block-save-result" />
        </div>
        <div className="sim-result" data-testid="simulate-result" aria-live="polite">
          {sim ? (
            <>
              <div className="kv-grid">
                <span>Current cost</span>
                <b>{num(sim.current_cost_sek, 2, "SEK")}</b>
                <span>Simulated cost</span>
                <b>{num(sim.simulated_cost_sek, 2, "SEK")}</b>
                <span>Delta</span>
                <b className={sim.delta_sek > 0 ? "bad" : "ok"}>
                  {sim.delta_sek > 0 ? "+" : ""}
                  {num(sim.delta_sek, 2, "SEK")}
                </b>
              </div>
              <details>
                <summary>Simulated plan ({simBlocks.length} blocks)</summary>
                <Timeline blocks={simBlocks} tz={tz} testIds={false} />
              </details>
            </>
          ) : simError ? (
            <span className="bad">Simulation failed: {simError}</span>
          ) : null}
        </div>
      </Section>

      <ExportWhatIf tz={tz} />

      <Section title="Saved blocks">
        {saved.length ? (
          <ul className="block-list">
            {saved.map((b, i) => (
              <li key={`${b.start}-${i}`} className={`saved-block tag-${b.action}`}>
                {blockText(b)}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No saved manual blocks.</p>
        )}
      </Section>
    </PageRoot>
  );
}
