import { useEffect, useState, type ReactNode } from "react";
import type { LoadState } from "../lib/hooks";
import type { InputSource } from "../api/types";

export function PageRoot({ name, loaded, title, actions, children }: {
  name: string;
  loaded: LoadState;
  title: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <main className="page" data-testid={`page-${name}`} data-loaded={loaded === "pending" ? undefined : loaded}>
      <div className="page-head">
        <h1>{title}</h1>
        {loaded === "pending" ? <span className="spinner" aria-label="Loading" /> : null}
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </main>
  );
}

export function Section({ title, testId, children, className, extra }: {
  title: string;
  testId?: string;
  children: ReactNode;
  className?: string;
  extra?: ReactNode;
}) {
  return (
    <section className={`panel ${className ?? ""}`} data-testid={testId}>
      <div className="panel-head">
        <h2>{title}</h2>
        {extra}
      </div>
      {children}
    </section>
  );
}

export function KV({ k, v, title }: { k: string; v: ReactNode; title?: string }) {
  return (
    <div className="kv" title={title}>
      <span className="k">{k}</span>
      <span className="v">{v}</span>
    </div>
  );
}

export type Result = { ok: boolean; text: string } | null;

export function ResultText({ result, testId }: { result: Result; testId?: string }) {
  if (!result) return <span className="result" data-testid={testId} aria-live="polite" />;
  return (
    <span className={`result ${result.ok ? "ok" : "bad"}`} data-testid={testId} aria-live="polite">
      {result.text}
    </span>
  );
}

export function num(v: number | null | undefined, digits = 2, unit = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

export function useNarrow(maxWidth = 640): boolean {
  const q = `(max-width: ${maxWidth}px)`;
  const [narrow, setNarrow] = useState(() => window.matchMedia(q).matches);
  useEffect(() => {
    const m = window.matchMedia(q);
    const on = () => setNarrow(m.matches);
    m.addEventListener("change", on);
    return () => m.removeEventListener("change", on);
  }, [q]);
  return narrow;
}

export function TableWrap({ children }: { children: ReactNode }) {
  return <div className="table-wrap">{children}</div>;
}

/** Where each planning input came from (prices, PV, load), how far or old, and its fault. */
export function InputSources({ inputs, testId }: { inputs: InputSource[]; testId?: string }) {
  return (
    <div className="inputs" data-testid={testId}>
      {inputs.map((row) => (
        <div key={row.name} className={`input-row ${row.fault ? "fault" : ""}`} data-input={row.name}>
          <KV k={row.name} v={row.source ?? "–"} />
          {row.detail ? <div className="muted small">{row.detail}</div> : null}
          {row.fault ? (
            <div className="notice warning small" role="status">
              {row.fault}
            </div>
          ) : null}
        </div>
      ))}
    </div>
  );
}
