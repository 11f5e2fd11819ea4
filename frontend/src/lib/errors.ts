// Mapping of failed HTTP replies to one message (and per-field messages).
import type { FieldError } from "../api/types";

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldError[];
  constructor(status: number, detail: string, errors: FieldError[] = []) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fieldErrorsOf(v: unknown): FieldError[] {
  if (!Array.isArray(v)) return [];
  const out: FieldError[] = [];
  for (const e of v) {
    if (!isRecord(e)) continue;
    const message = typeof e.message === "string" ? e.message : typeof e.msg === "string" ? e.msg : "";
    let field = "";
    if (typeof e.field === "string") field = e.field;
    else if (Array.isArray(e.loc)) field = e.loc.map(String).join(".");
    if (message) out.push({ field, message });
  }
  return out;
}

/** Turn an HTTP status and the (possibly non-JSON) reply body into an ApiError. */
export function errorFromReply(status: number, statusText: string, body: unknown): ApiError {
  let detail = "";
  let errors: FieldError[] = [];
  if (isRecord(body)) {
    errors = fieldErrorsOf(body.errors);
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) {
      // FastAPI's default validation shape: detail = [{loc, msg}]
      errors = errors.length ? errors : fieldErrorsOf(body.detail);
    }
  } else if (typeof body === "string" && body.trim() && body.length < 300) {
    detail = body.trim();
  }
  if (!detail && errors.length) {
    detail = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("; ");
  }
  if (!detail) detail = `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
  return new ApiError(status, detail, errors);
}

/** A message for anything thrown by fetch (network down, timeout, abort, ApiError). */
export function messageOf(err: unknown, timeoutS = 10): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof Error) {
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      return `Request timed out after ${timeoutS} s`;
    }
    if (err.name === "TypeError") return `Network error: ${err.message || "server unreachable"}`;
    return err.message || String(err);
  }
  return String(err);
}

/**
 * Assign backend field errors to config keys. The field may be the dotted key itself or
 * carry a prefix ("changes.", "body.changes."); unknown fields go under "" (general).
 */
export function mapFieldErrors(errors: FieldError[], keys: Iterable<string>): Record<string, string[]> {
  const known = new Set(keys);
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    let f = e.field;
    for (const prefix of ["body.", "changes."]) {
      if (!known.has(f) && f.startsWith(prefix)) f = f.slice(prefix.length);
    }
    const key = known.has(f) ? f : "";
    (out[key] ??= []).push(e.message);
  }
  return out;
}
