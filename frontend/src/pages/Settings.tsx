import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { ConfigField, FieldError, RetrainReply } from "../api/types";
import { PageRoot, type Result, ResultText, Section } from "../components/ui";
import { trainingSummary } from "../lib/aurora";
import { ApiError, mapFieldErrors, messageOf } from "../lib/errors";
import type { LoadState } from "../lib/hooks";
import { groupConfig, textToValue, valueToText } from "../lib/shape";
import { readToken, writeToken } from "../lib/token";

type ConfigReply = { path: string; fields: ConfigField[] };

function FieldInput({ f, text, onChange }: { f: ConfigField; text: string; onChange: (t: string) => void }) {
  const id = `cfg-${f.key}`;
  const common = { id, "data-testid": `field-${f.key}`, "aria-describedby": `${id}-help` };
  switch (f.kind) {
    case "boolean":
      return <input type="checkbox" {...common} checked={text === "true"} onChange={(e) => onChange(e.target.checked ? "true" : "false")} />;
    case "number":
    case "integer":
      return (
        <input
          type="number"
          inputMode="decimal"
          step={f.kind === "integer" ? 1 : "any"}
          {...common}
          value={text}
          placeholder={f.nullable ? "empty = none" : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case "list":
      return <input type="text" className="mono" {...common} value={text} placeholder="JSON list, e.g. [1, 2]" onChange={(e) => onChange(e.target.value)} />;
    default:
      return (
        <input
          type="text"
          {...common}
          value={text}
          placeholder={f.nullable || f.kind === "null" ? "empty = none" : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
}

export function Settings() {
  const [cfg, setCfg] = useState<ConfigReply | null>(null);
  const [loaded, setLoaded] = useState<LoadState>("pending");
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<Result>(null);
  const [filter, setFilter] = useState("");
  const [token, setToken] = useState(readToken);
  const [maint, setMaint] = useState<Record<string, Result>>({});

  const apply = useCallback((r: ConfigReply) => {
    setCfg(r);
    setDrafts(Object.fromEntries(r.fields.map((f) => [f.key, valueToText(f, f.value)])));
  }, []);

  useEffect(() => {
    api.get<ConfigReply>("/config").then(
      (r) => {
        apply(r);
        setLoaded("true");
      },
      () => setLoaded("error"),
    );
  }, [apply]);

  const fields = useMemo(() => cfg?.fields ?? [], [cfg]);
  const keys = useMemo(() => fields.map((f) => f.key), [fields]);
  const groups = useMemo(() => {
    const q = filter.trim().toLowerCase();
    const shown = q ? fields.filter((f) => f.key.toLowerCase().includes(q) || f.help.toLowerCase().includes(q)) : fields;
    return groupConfig(shown);
  }, [fields, filter]);
  const changed = useMemo(() => fields.filter((f) => (drafts[f.key] ?? "") !== valueToText(f, f.value)), [fields, drafts]);

  /** Parse the changed fields; local parse errors go under their fields. */
  const collect = (): Record<string, unknown> | null => {
    const changes: Record<string, unknown> = {};
    const local: Record<string, string[]> = {};
    for (const f of changed) {
      const p = textToValue(f, drafts[f.key] ?? "");
      if (p.ok) changes[f.key] = p.value;
      else local[f.key] = [p.message];
    }
    if (Object.keys(local).length) {
      setErrors(local);
      setResult({ ok: false, text: `${Object.keys(local).length} field(s) need fixing` });
      return null;
    }
    return changes;
  };

  const showFieldErrors = (errs: FieldError[]) => {
    const m = mapFieldErrors(errs, keys);
    setErrors(m);
    return m;
  };

  const validate = async () => {
    const changes = collect();
    if (!changes) return;
    if (!Object.keys(changes).length) {
      setErrors({});
      setResult({ ok: true, text: "No changes to validate" });
      return;
    }
    setBusy("validate");
    setResult(null);
    try {
      const r = await api.post<{ valid: boolean; errors: FieldError[] }>("/config/validate", { changes });
      const m = showFieldErrors(r.errors ?? []);
      setResult(
        r.valid
          ? { ok: true, text: `${Object.keys(changes).length} change(s) valid` }
          : { ok: false, text: `Invalid: ${(m[""] ?? []).join("; ") || `${(r.errors ?? []).length} problem(s)`}` },
      );
    } catch (e) {
      if (e instanceof ApiError) showFieldErrors(e.errors);
      setResult({ ok: false, text: `Validation failed: ${messageOf(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const save = async () => {
    const changes = collect();
    if (!changes) return;
    if (!Object.keys(changes).length) {
      setErrors({});
      setResult({ ok: true, text: "Nothing to save" });
      return;
    }
    setBusy("save");
    setResult(null);
    try {
      const r = await api.put<ConfigReply>("/config", { changes });
      apply(r);
      setErrors({});
      setResult({ ok: true, text: `Saved ${Object.keys(changes).length} change(s) to ${r.path}` });
    } catch (e) {
      if (e instanceof ApiError) {
        const m = showFieldErrors(e.errors);
        const general = m[""]?.join("; ");
        setResult({ ok: false, text: `Not saved: ${e.detail}${general && general !== e.detail ? ` (${general})` : ""}` });
      } else {
        setResult({ ok: false, text: `Not saved: ${messageOf(e)}` });
      }
    } finally {
      setBusy(null);
    }
  };

  /** POST a maintenance action; `done` words the reply (a string is a success). */
  const maintenance = async (key: string, path: string, done: (r: unknown) => string | Result, confirmText?: string) => {
    if (confirmText && !window.confirm(confirmText)) return;
    setBusy(key);
    setMaint((m) => ({ ...m, [key]: null }));
    try {
      const r = await api.post<unknown>(path);
      const out = done(r);
      setMaint((m) => ({ ...m, [key]: typeof out === "string" ? { ok: true, text: out } : out }));
    } catch (e) {
      setMaint((m) => ({ ...m, [key]: { ok: false, text: messageOf(e) } }));
    } finally {
      setBusy(null);
    }
  };

  return (
    <PageRoot name="settings" loaded={loaded} title="Settings">
      <Section title="Access token">
        <label className="field">
          <span className="field-label">API token (needed for every change)</span>
          <input
            type="text"
            className="mono"
            data-testid="settings-token"
            value={token}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => {
              setToken(e.target.value.trim());
              writeToken(e.target.value.trim());
            }}
          />
          <span className="help">Stored in this browser only. The server prints it at start and in its data directory (api_token).</span>
        </label>
      </Section>

      <Section title="Maintenance">
        <div className="maint">
          <div>
            <button
              type="button"
              className="btn danger"
              data-testid="reset-learning"
              disabled={busy !== null}
              onClick={() =>
                void maintenance(
                  "reset",
                  "/learning/reset",
                  (r) => `Learning reset: ${(r as { deleted_rows?: number }).deleted_rows ?? 0} rows deleted`,
                  "Delete all learned data (observations, metrics, bias)? This cannot be undone.",
                )
              }
            >
              Reset learning
            </button>
            <ResultText result={maint.reset ?? null} testId="reset-learning-result" />
          </div>
          <div>
            <button
              type="button"
              className="btn"
              data-testid="force-retrain"
              disabled={busy !== null}
              onClick={() =>
                void maintenance("retrain", "/aurora/retrain", (r) => {
                  const t = (r as Partial<RetrainReply> | null)?.training;
                  return { ok: t?.state !== "failed", text: trainingSummary(t) };
                })
              }
            >
              Force retrain
            </button>
            <ResultText result={maint.retrain ?? null} testId="force-retrain-result" />
          </div>
          <div>
            <button
              type="button"
              className="btn"
              data-testid="clear-cache"
              disabled={busy !== null}
              onClick={() =>
                void maintenance("cache", "/cache/clear", (r) => {
                  const c = (r as { cleared?: string[] }).cleared ?? [];
                  return c.length ? `Cleared: ${c.join(", ")}` : "Cache was empty";
                })
              }
            >
              Clear cache
            </button>
            <ResultText result={maint.cache ?? null} testId="clear-cache-result" />
          </div>
        </div>
      </Section>

      <Section
        title="Configuration"
        extra={<span className="muted small mono">{cfg?.path ?? ""}</span>}
      >
        <div className="settings-bar">
          <input type="search" placeholder="Filter keys…" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter settings" />
          <button type="button" className="btn" data-testid="settings-validate" disabled={busy !== null || !cfg} onClick={() => void validate()}>
            Validate
          </button>
          <button type="button" className="btn primary" data-testid="settings-save" disabled={busy !== null || !cfg} onClick={() => void save()}>
            Save{changed.length ? ` (${changed.length})` : ""}
          </button>
          {changed.length ? (
            <button
              type="button"
              className="btn ghost"
              disabled={busy !== null}
              onClick={() => {
                if (cfg) apply(cfg);
                setErrors({});
                setResult(null);
              }}
            >
              Discard
            </button>
          ) : null}
          {busy === "validate" || busy === "save" ? <span className="spinner" aria-label="Working" /> : null}
        </div>
        <ResultText result={result} testId="settings-result" />
        {errors[""]?.length ? <p className="field-error">{errors[""].join("; ")}</p> : null}
        {groups.map((g) => (
          <details key={g.group} className="cfg-group" open>
            <summary>
              {g.group} <span className="muted small">({g.fields.length})</span>
            </summary>
            {g.fields.map((f) => {
              const text = drafts[f.key] ?? "";
              const dirty = text !== valueToText(f, f.value);
              const errs = errors[f.key];
              return (
                <div key={f.key} className={`field ${dirty ? "dirty" : ""} ${errs ? "has-error" : ""}`}>
                  <label className="field-label" htmlFor={`cfg-${f.key}`}>
                    <span className="mono">{f.key}</span>
                    {dirty ? <span className="tag">changed</span> : null}
                  </label>
                  <FieldInput f={f} text={text} onChange={(t) => setDrafts((d) => ({ ...d, [f.key]: t }))} />
                  {errs ? (
                    <span className="field-error" data-testid={`fielderror-${f.key}`}>
                      {errs.join("; ")}
                    </span>
                  ) : null}
                  <span className="help" id={`cfg-${f.key}-help`}>
                    {f.help}
                    {JSON.stringify(f.default) !== JSON.stringify(f.value) ? (
                      <span className="muted"> (default: {f.default === null ? "none" : JSON.stringify(f.default)})</span>
                    ) : null}
                  </span>
                </div>
              );
            })}
          </details>
        ))}
      </Section>
    </PageRoot>
  );
}
