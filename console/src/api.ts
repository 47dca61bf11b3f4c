// The console's view of the manager: the REST API with the signed-in API key, and
// one WebSocket to /ws that every page listens to. The key lives in
// sessionStorage (gone when the tab closes), never in a URL or a cookie.

const KEY = "framefleet.apiKey";

export function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setKey(k: string | null): void {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

export interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  errors?: { field: string; reason: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const key = init.key ?? getKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new ApiError(res.status, (parsed ?? {}) as Problem);
  return parsed as T;
}

export interface Task {
  id: string;
  key: string;
  kind: string;
  pool: string;
  state: string;
  progress: number;
  progressDetail: string | null;
  attempts: number;
  failures: number;
  maxAttempts: number;
  optional: boolean;
  dependsOn: string[];
  coordinatorId: string | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Job {
  id: string;
  state: string;
  priority: number;
  progress: number;
  labels: Record<string, string>;
  engine: { name: string; version: string };
  outputs: unknown;
  error: unknown;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  composition?: { packaging?: { hls?: unknown; dash?: unknown; mp4?: unknown }; output?: { uri: string }; input?: { uri: string } };
  tasks?: Task[];
}

export interface AuditRecord {
  id: number;
  at: string;
  kind: string;
  taskKey: string | null;
  attempt: number | null;
  data: unknown;
}

export interface LiveEvent {
  id: number;
  type: string;
  tenant: string;
  jobId: string | null;
  at: string;
  data: Record<string, unknown>;
}

type Listener = (e: LiveEvent) => void;
type StatusListener = (s: "connecting" | "live" | "offline") => void;

/** One WebSocket for the whole console; reconnects and resumes from the last event id it saw. */
class Live {
  private ws: WebSocket | undefined;
  private last: number | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<StatusListener>();
  private stopped = true;
  private retry: ReturnType<typeof setTimeout> | undefined;
  status: "connecting" | "live" | "offline" = "offline";

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.ws?.close();
    this.ws = undefined;
    this.last = undefined;
    this.setStatus("offline");
  }

  on(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onStatus(fn: StatusListener): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private setStatus(s: Live["status"]) {
    this.status = s;
    for (const fn of this.statusListeners) fn(s);
  }

  private connect(): void {
    const key = getKey();
    if (!key || this.stopped) return;
    this.setStatus("connecting");
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ op: "auth", key, since: this.last }));
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { op: string; cursor?: number; event?: LiveEvent };
      if (msg.op === "ready") {
        this.last ??= msg.cursor;
        this.setStatus("live");
      } else if (msg.op === "event" && msg.event) {
        this.last = msg.event.id;
        for (const fn of this.listeners) fn(msg.event);
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.setStatus("offline");
      if (this.stopped || ev.code === 4401 || ev.code === 4403) return;
      this.retry = setTimeout(() => this.connect(), 1000);
    };
  }
}

export const live = new Live();
