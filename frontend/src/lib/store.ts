// Tiny external stores (no framework): error banner, house timezone, live connection.
type Listener = () => void;

export class Store<T> {
  private value: T;
  private listeners = new Set<Listener>();
  constructor(initial: T) {
    this.value = initial;
  }
  get = (): T => this.value;
  set = (v: T): void => {
    if (Object.is(v, this.value)) return;
    this.value = v;
    for (const l of this.listeners) l();
  };
  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };
}

export type BannerMessage = { id: number; text: string; count: number };
export const banner = new Store<BannerMessage[]>([]);
let nextId = 1;

/** Show a message in the error banner; the same text again only bumps its counter. */
export function reportError(text: string): void {
  const cur = banner.get();
  const same = cur.find((m) => m.text === text);
  if (same) {
    banner.set(cur.map((m) => (m === same ? { ...m, count: m.count + 1 } : m)));
    return;
  }
  banner.set([...cur, { id: nextId++, text, count: 1 }].slice(-5));
}

export function dismissError(id: number): void {
  banner.set(banner.get().filter((m) => m.id !== id));
}

export function dismissAllErrors(): void {
  banner.set([]);
}

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The house's IANA timezone (from /status or schedule meta); the browser's until known. */
export const timezone = new Store<string>(browserZone());

export function setTimezone(tz: string | null | undefined): void {
  if (!tz) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    timezone.set(tz);
  } catch {
    /* unknown zone: keep the current one */
  }
}
