import { useSyncExternalStore } from "react";
import { type Store, timezone } from "./store";

export function useStore<T>(s: Store<T>): T {
  return useSyncExternalStore(s.subscribe, s.get, s.get);
}

export function useTimezone(): string {
  return useStore(timezone);
}

/** data-loaded value of a page root: "true" after the first successful load, "error" if it failed. */
export type LoadState = "pending" | "true" | "error";
