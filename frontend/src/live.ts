// WebSocket /api/v1/live with reconnect backoff; pages subscribe to messages.
// The first message authenticates ({type: "auth", token}); the token never goes in the URL.
import type { LiveMessage } from "./api/types";
import { apiBase } from "./api/client";
import { Store, setTimezone } from "./lib/store";
import { readToken } from "./lib/token";

type Handler = (m: LiveMessage) => void;

class LiveClient {
  readonly connected = new Store<boolean>(false);
  private handlers = new Set<Handler>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  subscribe(h: Handler): () => void {
    this.handlers.add(h);
    return () => {
      this.handlers.delete(h);
    };
  }

  private connect(): void {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${proto}//${window.location.host}${apiBase()}/live`);
    } catch {
      this.retry();
      return;
    }
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: readToken() }));
    };
    ws.onmessage = (ev) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage;
      } catch {
        return;
      }
      if (msg.type === "auth") {
        this.attempt = 0;
        this.connected.set(msg.data.ok);
        return;
      }
      if (msg.type === "status") setTimezone(msg.data.timezone);
      for (const h of this.handlers) h(msg);
    };
    ws.onclose = () => {
      this.connected.set(false);
      this.retry();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private retry(): void {
    if (this.timer) return;
    const delay = Math.min(30_000, 1000 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt = Math.min(this.attempt + 1, 6);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}

export const live = new LiveClient();
