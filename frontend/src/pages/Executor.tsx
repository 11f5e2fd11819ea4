import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { ExecutorState, Override } from "../api/types";
import { KV, PageRoot, type Result, ResultText, Section, TableWrap, num } from "../components/ui";
import { messageOf } from "../lib/errors";
import { type LoadState, useStore, useTimezone } from "../lib/hooks";
import { fmtDateTime, fmtTime } from "../lib/time";
import { live } from "../live";

function ov(o: Override | null, tz: string): string {
  return o ? `${o.kind} until ${fmtDateTime(o.until, tz)}` : "none";
}

export function Executor() {
  const tz = useTimezone();
  const connected = useStore(live.connected);
  const [data, setData] = useState<ExecutorState | null>(null);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);
  const last = useRef(0);

  const load = useCallback(async () => {
    last.current = Date.now();
    try {
      setData(await api.get<ExecutorState>("/executor", { limit: 96 }));
      setLoaded("true");
    } catch {
      setLoaded((p) => (p === "true" ? p : "error"));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(
    () =>
      live.subscribe((m) => {
        if (m.type === "status" && Date.now() - last.current > 3000) void load();
      }),
    [load],
  );
  useEffect(() => {
    if (connected) return;
    const id = setInterval(() => void load(), 15_000);
    return () => clearInterval(id);
  }, [connected, load]);

  const setShadow = async (enabled: boolean) => {
    setBusy(true);
    setResult(null);
    try {
      const r = await api.post<{ shadow: boolean }>("/executor/shadow", { enabled });
      setData((d) => (d ? { ...d, shadow: r.shadow } : d));
      setResult({ ok: true, text: r.shadow ? "Shadow mode on: nothing is written to the house" : "Shadow mode off: commands are applied" });
    } catch (e) {
      setResult({ ok: false, text: messageOf(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <PageRoot
      name="executor"
      loaded={loaded}
      title="Executor"
      actions={
        <button type="button" className="btn ghost" onClick={() => void load()}>
          Refresh
        </button>
      }
    >
      <Section
        title="Status"
        testId="executor-status"
        extra={
          <label className="switch">
            <input
              type="checkbox"
              data-testid="executor-shadow"
              checked={data?.shadow ?? false}
              disabled={!data || busy}
              onChange={(e) => void setShadow(e.target.checked)}
            />
            <span>Shadow mode</span>
          </label>
        }
      >
        <KV k="Shadow mode" v={data ? (data.shadow ? "on (observe only)" : "off (acting)") : "–"} />
        <KV k="Battery override" v={data ? ov(data.override, tz) : "–"} />
        <KV k="Water override" v={data ? ov(data.water_override, tz) : "–"} />
        <KV k="Safety" v={data ? (data.safe_state ?? "normal: following the plan") : "–"} />
        <ResultText result={result} testId="executor-result" />
      </Section>

      <Section title="Ticks">
        <TableWrap>
          <table data-testid="executor-ticks">
            <thead>
              <tr>
                <th>Time</th>
                <th>Slot</th>
                <th>Planned</th>
                <th>Mode</th>
                <th>Charge / discharge limit</th>
                <th>SoC target</th>
                <th>Water setpoint</th>
                <th>SoC planned / observed</th>
                <th>Applied</th>
                <th>Note</th>
              </tr>
            </thead>
            <tbody>
              {data?.ticks.map((t, i) => (
                <tr key={`${t.at}-${i}`} data-testid="executor-tick">
                  <td className="nowrap">{fmtDateTime(t.at, tz)}</td>
                  <td>{fmtTime(t.slot_start, tz)}</td>
                  <td>{t.planned_action ?? "–"}</td>
                  <td>
                    <span className="tag">{t.mode}</span>
                  </td>
                  <td className="nowrap">
                    {num(t.charge_limit_kw, 1)} / {num(t.discharge_limit_kw, 1)} kW
                  </td>
                  <td>{num(t.soc_target_percent, 0)} %</td>
                  <td>{t.water_setpoint_c === null ? "–" : `${num(t.water_setpoint_c, 0)} °C`}</td>
                  <td className="nowrap">
                    {num(t.planned_soc_percent, 1)} / {num(t.observed_soc_percent, 1)} %
                  </td>
                  <td>{t.applied ? "yes" : <span className="muted">no</span>}</td>
                  <td>{t.note ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        {data && !data.ticks.length ? <p className="muted">No ticks yet.</p> : null}
      </Section>

      <Section title="Notifications">
        <ul className="notifications" data-testid="executor-notifications">
          {data?.notifications.map((n, i) => (
            <li key={`${n.at}-${i}`} className={`note-${n.level}`}>
              <span className="tag">{n.level}</span> <span className="muted">{fmtDateTime(n.at, tz)}</span> {n.message}
            </li>
          ))}
        </ul>
        {data && !data.notifications.length ? <p className="muted">No notifications.</p> : null}
      </Section>
    </PageRoot>
  );
}
