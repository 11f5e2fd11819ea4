// The API token: handed over once in the URL hash (#token=...), kept in localStorage.
export const TOKEN_KEY = "darkstar.token";

/** Parse "#token=abc&x=1" -> {token: "abc", rest: "x=1"}; token null when absent. */
export function tokenFromHash(hash: string): { token: string | null; rest: string } {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  if (!raw) return { token: null, rest: "" };
  const params = new URLSearchParams(raw);
  const token = params.get("token");
  if (token === null) return { token: null, rest: raw };
  params.delete("token");
  return { token: token.trim() || null, rest: params.toString() };
}

export function readToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

export function writeToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled */
  }
}

/** On first load: store a token from the hash and strip it from the address bar. */
export function captureTokenFromLocation(): void {
  const { token, rest } = tokenFromHash(window.location.hash);
  if (token === null && !window.location.hash.includes("token=")) return;
  if (token) writeToken(token);
  const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : "");
  window.history.replaceState(window.history.state, "", url);
}
