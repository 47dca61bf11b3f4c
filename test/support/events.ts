// Clients for the manager's live event streams, for tests: an SSE reader over
// fetch (what a non-browser integrator would write) and a WebSocket client.
import WebSocket from "ws";

export interface StreamEvent {
  id: number;
  type: string;
  tenant: string;
  jobId: string | null;
  at: string;
  data: Record<string, unknown>;
}

/** What the stream says when retention removed events after the cursor. */
export interface ResetMessage {
  type: "reset";
  from: number;
  to: number;
  detail: string;
}

export interface Collector {
  events: StreamEvent[];
  resets: ResetMessage[];
  /** resolves with the first event (from the start of the stream) matching `pred` */
  until(pred: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  close(): void;
}

function collector(close: () => void): Collector & { push(e: StreamEvent): void; fail(err: unknown): void } {
  const events: StreamEvent[] = [];
  const resets: ResetMessage[] = [];
  const waiters: { pred: (e: StreamEvent) => boolean; resolve: (e: StreamEvent) => void }[] = [];
  let failure: unknown;
  return {
    events,
    resets,
    push(e) {
      events.push(e);
      for (const w of [...waiters])
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
    },
    fail(err) {
      failure = err;
    },
    until(pred, timeoutMs = 15_000) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `no matching event in ${timeoutMs} ms (failure: ${String(failure)}); saw ${events.map((e) => `${e.id}:${e.type}`).join(", ")}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
      });
    },
    close,
  };
}

/** Opens `GET /v1/events` and parses the stream as it arrives. */
export async function openSse(
  base: string,
  key: string,
  opts: { since?: number; lastEventId?: number; jobId?: string; scope?: "tenant" | "region" } = {},
): Promise<Collector & { status: number; ids: string[]; problem?: { type: string; errors: { field: string }[] } }> {
  const ac = new AbortController();
  const q = new URLSearchParams();
  if (opts.since !== undefined) q.set("since", String(opts.since));
  if (opts.jobId) q.set("jobId", opts.jobId);
  if (opts.scope) q.set("scope", opts.scope);
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: "text/event-stream" };
  if (opts.lastEventId !== undefined) headers["last-event-id"] = String(opts.lastEventId);
  const res = await fetch(`${base}/v1/events?${q}`, { headers, signal: ac.signal });
  const c = Object.assign(
    collector(() => ac.abort()),
    { status: res.status, ids: [] as string[], problem: undefined as { type: string; errors: { field: string }[] } | undefined },
  );
  if (res.status !== 200 || !res.body) {
    if (res.headers.get("content-type")?.includes("problem+json")) c.problem = (await res.json()) as typeof c.problem;
    return c;
  }
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | undefined;
          let name: string | undefined;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (name === "reset") {
            c.resets.push(JSON.parse(data.join("\n")) as ResetMessage);
            continue;
          }
          if (id !== undefined) c.ids.push(id);
          if (data.length) c.push(JSON.parse(data.join("\n")) as StreamEvent);
        }
      }
    } catch (err) {
      c.fail(err);
    }
  })();
  return c;
}

/** Opens `/ws`, authenticates with the first message (as a browser does), and collects events. */
export async function openWs(
  base: string,
  key: string,
  opts: { since?: number; jobId?: string; scope?: "tenant" | "region" } = {},
): Promise<Collector & { ready: Promise<number>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(base.replace(/^http/, "ws") + "/ws");
  const c = collector(() => ws.close());
  let readyResolve!: (n: number) => void;
  const ready = new Promise<number>((r) => (readyResolve = r));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on("close", (code, reason) => r({ code, reason: reason.toString() })),
  );
  ws.on("open", () => ws.send(JSON.stringify({ op: "auth", key, since: opts.since, jobId: opts.jobId, scope: opts.scope })));
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { op: string; cursor?: number; event?: StreamEvent } & Partial<Omit<ResetMessage, "type">>;
    if (m.op === "ready") readyResolve(m.cursor ?? 0);
    else if (m.op === "event" && m.event) c.push(m.event);
    else if (m.op === "reset") c.resets.push({ type: "reset", from: m.from!, to: m.to!, detail: m.detail! });
  });
  ws.on("error", (err) => c.fail(err));
  return Object.assign(c, { ready, closed });
}
