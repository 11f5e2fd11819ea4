// Times in the house's timezone via Intl (never the browser's own zone).

export type TimeLike = string | number | Date;

export function toMs(t: TimeLike): number {
  if (typeof t === "number") return t;
  if (t instanceof Date) return t.getTime();
  return Date.parse(t);
}

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string, kind: "time" | "datetime" | "datetimesec" | "date" | "parts" | "day"): Intl.DateTimeFormat {
  const k = `${tz}|${kind}`;
  let f = cache.get(k);
  if (!f) {
    const base: Intl.DateTimeFormatOptions = { timeZone: tz, hourCycle: "h23" };
    const opts: Intl.DateTimeFormatOptions =
      kind === "time"
        ? { ...base, hour: "2-digit", minute: "2-digit" }
        : kind === "datetime"
          ? { ...base, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }
          : kind === "datetimesec"
          ? { ...base, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" }
          : kind === "date"
            ? { ...base, weekday: "short", day: "numeric", month: "short" }
            : kind === "day"
              ? { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }
              : {
                  ...base,
                  year: "numeric",
                  month: "2-digit",
                  day: "2-digit",
                  hour: "2-digit",
                  minute: "2-digit",
                  second: "2-digit",
                };
    f = new Intl.DateTimeFormat("en-GB", opts);
    cache.set(k, f);
  }
  return f;
}

function valid(ms: number): boolean {
  return Number.isFinite(ms);
}

/** "14:30" in the given zone. */
export function fmtTime(t: TimeLike | null | undefined, tz: string): string {
  if (t === null || t === undefined) return "–";
  const ms = toMs(t);
  return valid(ms) ? fmt(tz, "time").format(ms) : "–";
}

/** "Sun 29 Mar, 14:30" in the given zone. */
export function fmtDateTime(t: TimeLike | null | undefined, tz: string): string {
  if (t === null || t === undefined) return "–";
  const ms = toMs(t);
  return valid(ms) ? fmt(tz, "datetime").format(ms) : "–";
}

/** "29 Mar, 14:30:05" in the given zone. */
export function fmtDateTimeSec(t: TimeLike | null | undefined, tz: string): string {
  if (t === null || t === undefined) return "–";
  const ms = toMs(t);
  return valid(ms) ? fmt(tz, "datetimesec").format(ms) : "–";
}

/** "Sun 29 Mar" in the given zone. */
export function fmtDate(t: TimeLike | null | undefined, tz: string): string {
  if (t === null || t === undefined) return "–";
  const ms = toMs(t);
  return valid(ms) ? fmt(tz, "date").format(ms) : "–";
}

type Wall = { y: number; mo: number; d: number; h: number; mi: number; s: number };

export function wallClock(ms: number, tz: string): Wall {
  const parts = fmt(tz, "parts").formatToParts(ms);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  return { y: get("year"), mo: get("month"), d: get("day"), h: get("hour") % 24, mi: get("minute"), s: get("second") };
}

/** Offset of the zone from UTC at the instant, in minutes (Stockholm summer: 120). */
export function tzOffsetMinutes(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");

function offsetString(min: number): string {
  const sign = min < 0 ? "-" : "+";
  return `${sign}${pad(Math.floor(Math.abs(min) / 60))}:${pad(Math.abs(min) % 60)}`;
}

/** ISO 8601 with the zone's offset, e.g. "2026-03-29T03:00:00+02:00". */
export function toZonedIso(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const off = tzOffsetMinutes(ms, tz);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}${offsetString(off)}`;
}

/** Value for <input type="datetime-local"> ("2026-03-29T14:30") showing the instant in tz. */
export function toLocalInput(t: TimeLike, tz: string): string {
  const w = wallClock(toMs(t), tz);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}`;
}

/**
 * Read a datetime-local value as wall-clock time in tz and return the instant (ms).
 * A time skipped by a DST jump moves forward by the jump; an ambiguous one takes the first.
 */
export function fromLocalInput(value: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const guess = Date.UTC(y, mo - 1, d, h, mi, s || 0);
  // Try the offsets in force a day either side; keep the earliest candidate that round-trips.
  const offsets = new Set([tzOffsetMinutes(guess - 86_400_000, tz), tzOffsetMinutes(guess, tz), tzOffsetMinutes(guess + 86_400_000, tz)]);
  const candidates = [...offsets].map((o) => guess - o * 60_000).sort((a, b) => a - b);
  for (const c of candidates) {
    const w = wallClock(c, tz);
    if (w.y === y && w.mo === mo && w.d === d && w.h === h && w.mi === mi) return c;
  }
  // Non-existent local time (spring forward): use the offset before the jump.
  const before = tzOffsetMinutes(guess - 86_400_000, tz);
  return guess - before * 60_000;
}

/** Local calendar day "2026-03-29" of the instant in tz. */
export function localDay(t: TimeLike, tz: string): string {
  const w = wallClock(toMs(t), tz);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}`;
}
