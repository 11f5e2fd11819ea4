import { useEffect, type MouseEvent } from "react";
import { api } from "./api/client";
import type { Status } from "./api/types";
import { ErrorBanner } from "./components/ErrorBanner";
import { useStore, useTimezone } from "./lib/hooks";
import { PAGES, type PageName, navigate, pageOfPath, route } from "./lib/router";
import { setTimezone } from "./lib/store";
import { live } from "./live";
import { Aurora } from "./pages/Aurora";
import { Dashboard } from "./pages/Dashboard";
import { Debug } from "./pages/Debug";
import { Executor } from "./pages/Executor";
import { Planning } from "./pages/Planning";
import { Settings } from "./pages/Settings";

const TITLES: Record<PageName, string> = {
  dashboard: "Dashboard",
  planning: "Planning",
  aurora: "Aurora",
  executor: "Executor",
  settings: "Settings",
  debug: "Debug",
};

function Page({ name }: { name: PageName }) {
  switch (name) {
    case "dashboard":
      return <Dashboard />;
    case "planning":
      return <Planning />;
    case "aurora":
      return <Aurora />;
    case "executor":
      return <Executor />;
    case "settings":
      return <Settings />;
    case "debug":
      return <Debug />;
  }
}

export function App() {
  const path = useStore(route);
  const page = pageOfPath(path) ?? "dashboard";
  const connected = useStore(live.connected);
  const tz = useTimezone();

  useEffect(() => {
    live.start();
    // The house's timezone for every page (the dashboard also gets it from its own status).
    if (page !== "dashboard") {
      api.get<Status>("/status").then((s) => setTimezone(s.timezone), () => undefined);
    }
  }, []);

  useEffect(() => {
    document.title = `${TITLES[page]} · Darkstar`;
  }, [page]);

  const go = (e: MouseEvent<HTMLAnchorElement>, p: PageName) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(`/${p}`);
  };

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="dashboard" onClick={(e) => go(e, "dashboard")}>
          <span className="brand-dot" aria-hidden="true" />
          Darkstar
        </a>
        <nav className="nav" aria-label="Main">
          {PAGES.map((p) => (
            <a
              key={p}
              href={p}
              data-testid={`tab-${p}`}
              className={p === page ? "active" : undefined}
              aria-current={p === page ? "page" : undefined}
              onClick={(e) => go(e, p)}
            >
              {TITLES[p]}
            </a>
          ))}
        </nav>
        <span className={`live ${connected ? "on" : "off"}`} title={connected ? "Live updates connected" : "Live updates offline: polling every 15 s"}>
          {connected ? "live" : "polling"} · {tz}
        </span>
      </header>
      <ErrorBanner />
      <Page key={page} name={page} />
    </div>
  );
}
