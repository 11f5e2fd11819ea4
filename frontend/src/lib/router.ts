// A tiny path router on history.pushState.
import { Store } from "./store";

export const PAGES = ["dashboard", "planning", "aurora", "executor", "settings", "debug"] as const;
export type PageName = (typeof PAGES)[number];

export function pageOfPath(path: string): PageName | null {
  const seg = path.replace(/^\/+/, "").split("/")[0] ?? "";
  return (PAGES as readonly string[]).includes(seg) ? (seg as PageName) : null;
}

export const route = new Store<string>(typeof window === "undefined" ? "/" : window.location.pathname);

export function navigate(path: string, replace = false): void {
  if (path === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  route.set(path);
  if (!replace) window.scrollTo(0, 0);
}

export function startRouter(): void {
  window.addEventListener("popstate", () => route.set(window.location.pathname));
  if (!pageOfPath(window.location.pathname)) navigate("/dashboard", true);
}
