import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { LogRecord } from "../api/types";
import { PageRoot, Section, TableWrap } from "../components/ui";
import { type LoadState, useTimezone } from "../lib/hooks";
import { fmtDateTimeSec } from "../lib/time";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];

export function Debug() {
  const tz = useTimezone();
  const [level, setLevel] = useState("INFO");
  const [records, setRecords] = useState<LogRecord[]>([]);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [auto, setAuto] = useState(true);
  const [updated, setUpdated] = useState<number | null>(null);
  const inFlight = useRef(false);

  const load = useCallback(async (lvl: string) => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const r = await api.get<{ records: LogRecord[] }>("/logs", { level: lvl, limit: 200 });
      setRecords(r.records ?? []);
      setUpdated(Date.now());
      setLoaded("true");
    } catch {
      setLoaded((p) => (p === "true" ? p : "error"));
    } finally {
      inFlight.current = false;
    }
  }, []);

  useEffect(() => {
    void load(level);
    if (!auto) return;
    const id = setInterval(() => void load(level), 5000);
    return () => clearInterval(id);
  }, [level, auto, load]);

  return (
    <PageRoot name="debug" loaded={loaded} title="Debug">
      <Section
        title="Logs"
        extra={
          <div className="toolbar">
            <label className="inline">
              Level{" "}
              <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.target.value)}>
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> auto-refresh 5 s
            </label>
            <button type="button" className="btn ghost" onClick={() => void load(level)}>
              Refresh
            </button>
          </div>
        }
      >
        <p className="muted small">
          {records.length} record(s){updated ? ` · updated ${new Date(updated).toLocaleTimeString()}` : ""}
        </p>
        <TableWrap>
          <table data-testid="log-table" className="logs">
            <thead>
              <tr>
                <th>Time</th>
                <th>Level</th>
                <th>Logger</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r, i) => (
                <tr key={`${r.at}-${i}`} data-testid="log-row" className={`lvl-${r.level.toLowerCase()}`}>
                  <td className="nowrap">{fmtDateTimeSec(r.at, tz)}</td>
                  <td>
                    <span className="tag">{r.level}</span>
                  </td>
                  <td className="mono small">{r.logger}</td>
                  <td className="msg">{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Section>
    </PageRoot>
  );
}
