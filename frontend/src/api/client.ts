// The one fetch wrapper: api/v1 under the app's base path, 10 s timeout, JSON errors -> ApiError,
// Bearer token on state-changing calls, every failure reported to the error banner.
import { ApiError, errorFromReply, messageOf } from "../lib/errors";
import { reportError } from "../lib/store";
import { fullPath } from "../lib/base";
import { readToken } from "../lib/token";
import type { PlannerDebug } from "./types";

export const API_PATH = "api/v1";

/** The API's absolute path: "/api/v1", or under the ingress prefix behind Home Assistant. */
export function apiBase(): string {
  return fullPath(API_PATH);
}
export const TIMEOUT_MS = 10_000;

export type RequestOptions = {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Do not put the failure in the error banner (the caller shows it itself). */
  silent?: boolean;
  signal?: AbortSignal;
};

function buildUrl(path: string, query?: RequestOptions["query"]): string {
  let url = apiBase() + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  return url;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, TIMEOUT_MS);
  const onOuterAbort = () => ctrl.abort();
  opts.signal?.addEventListener("abort", onOuterAbort);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = readToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  try {
    const res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: ctrl.signal,
    });
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!res.ok) throw errorFromReply(res.status, res.statusText, data);
    return data as T;
  } catch (err) {
    // A caller's own abort (unmount) is not a failure worth showing.
    if (opts.signal?.aborted && !timedOut) throw err;
    let e: unknown = err;
    if (timedOut) e = new ApiError(0, `Request timed out after ${TIMEOUT_MS / 1000} s: ${method} ${path}`);
    else if (!(err instanceof ApiError)) e = new ApiError(0, `${messageOf(err)} (${method} ${path})`);
    if (!opts.silent) reportError((e as ApiError).detail);
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
}

export const api = {
  get: <T>(path: string, query?: RequestOptions["query"], signal?: AbortSignal) =>
    request<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, "method" | "body"> = {}) =>
    request<T>(path, { ...opts, method: "POST", body: body ?? {} }),
  put: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, "method" | "body"> = {}) =>
    request<T>(path, { ...opts, method: "PUT", body: body ?? {} }),
};

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

/**
 * The plan in force's planner debug document; null before the first plan (the 404 is
 * expected then, not an error). Any other failure goes to the error banner and is thrown.
 */
export async function getPlannerDebug(signal?: AbortSignal): Promise<PlannerDebug | null> {
  try {
    return await request<PlannerDebug>("/planner/debug", { signal, silent: true });
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.status === 404) return null;
      reportError(err.detail);
    }
    throw err;
  }
}
