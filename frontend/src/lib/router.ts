// A tiny path router on history.pushState; paths are the app's own ("/planning"), the
// base path (ingress prefix) is added and removed at the window's edge.
import { appPath, fullPath } from "./base";
import { Store } from "./store";

export const PAGES = ["dashboard", "planning", "aurora", "executor", "settings", "debug"] as const;
export type PageName = (typeof PAGES)[number];

export function pageOfPath(path: string): PageName | null {
  const seg = path.replace(/^\/+/, "").split("/")[0] ?? "";
  return (PAGES as readonly string[]).includes(seg) ? (seg as PageName) : null;
}

export const route = new Store<string>(
  typeof window === "undefined" ? "/" : appPath(window.location.pathname),
);

export function navigate(path: string, replace = false): void {
  const url = fullPath(path);
  if (url === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  route.set(path);
  if (!replace) window.scrollTo(0, 0);
}

export function startRouter(): void {
  window.addEventListener("popstate", () => route.set(appPath(window.location.pathname)));
  if (!pageOfPath(appPath(window.location.pathname))) navigate("/dashboard", true);
}
