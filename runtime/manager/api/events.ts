// Live events: `GET /v1/events` (Server-Sent Events) and `/ws` (WebSocket). Both
// are scoped to the API key's tenant, optionally to one job, and resume after an
// event id: `Last-Event-ID` (what a reconnecting EventSource sends) or `?since=`.
// Without either, a stream starts at the tenant's latest event. Event ids are the
// tenant's own sequence (1, 2, 3 ... without gaps; see store/events.ts).
// `scope=region` (operator role and up) follows the region's scaling events
// instead, a sequence of their own. A cursor below what retention has pruned
// gets a reset (SSE `event: reset`, WebSocket {"op":"reset"}) before the rest.
import type { FastifyInstance, FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { WebSocket } from "ws";
import { Type, type Static } from "@sinclair/typebox";
import { REGION_STREAM, type Db, type Role } from "../store/index.js";
import type { EventBus, EventEnvelope, ResetNotice, Subscription } from "../events/bus.js";
import { authenticate, authorize, setPrincipal, principalOf, ROLE_RANK, type Principal, type RoleGuard } from "./auth.js";
import { ApiProblem } from "./problems.js";
import { UUID_PATTERN } from "./schemas.js";
import { eventStreams } from "../events/metrics.js";

export interface EventRoutesDeps {
  db: Db;
  bus: EventBus;
  /** SSE comment lines keep proxies from closing an idle stream (default 15 s) */
  heartbeatMs?: number;
}

export const EventsQuerySchema = Type.Object(
  {
    since: Type.Optional(
      Type.Integer({ minimum: 0, description: "deliver events with a greater id (Last-Event-ID wins when both are sent)" }),
    ),
    jobId: Type.Optional(Type.String({ pattern: UUID_PATTERN, description: "only this job's events" })),
    scope: Type.Optional(
      Type.Union([Type.Literal("tenant"), Type.Literal("region")], {
        description: "tenant (default): the key's tenant's events; region: the region's scaling.* events (operator role and up)",
      }),
    ),
  },
  { additionalProperties: false },
);
type EventsQuery = Static<typeof EventsQuerySchema>;

/** The stream a principal may follow for a scope, or the problem that says why not. */
function streamOf(p: Principal, scope: string | undefined, jobId: string | undefined): string {
  if (scope === undefined || scope === "tenant") return p.tenant;
  if (scope !== "region")
    throw new ApiProblem("invalid-request", "scope must be tenant or region", [
      { field: "query/scope", reason: "must be tenant or region" },
    ]);
  if (ROLE_RANK[p.role] < ROLE_RANK.operator)
    throw new ApiProblem(
      "forbidden",
      `region events need the operator role or above; the API key has the ${p.role} role`,
      [{ field: "query/scope", reason: `role ${p.role} is below operator` }],
      { headers: { "www-authenticate": 'Bearer realm="framefleet", error="insufficient_scope"' } },
    );
  if (jobId !== undefined)
    throw new ApiProblem("invalid-request", "jobId does not apply to region events", [
      { field: "query/jobId", reason: "region events belong to no job" },
    ]);
  return REGION_STREAM;
}

const resetDetail = (r: ResetNotice) =>
  `events after ${r.from} up to ${r.to} were removed by retention; the stream continues after ${r.to}`;

const EventsHeadersSchema = Type.Object({
  "last-event-id": Type.Optional(Type.String({ pattern: "^[0-9]{1,18}$" })),
});

export function roleGuard(db: Db) {
  return (role: Role): RoleGuard =>
    async (req) => {
      const p = await authenticate(db, req.headers.authorization);
      authorize(p, role);
      setPrincipal(req, p);
    };
}

const BEARER = [{ bearerAuth: [] as string[] }];

export async function registerEventRoutes(app: FastifyInstance, deps: EventRoutesDeps): Promise<void> {
  const requireRole = roleGuard(deps.db);
  const open = new Set<{ end(): void }>();
  // long-lived streams would hold app.close() open forever: end them first
  app.addHook("preClose", async () => {
    for (const s of [...open]) s.end();
  });

  app.get<{ Querystring: EventsQuery; Headers: { "last-event-id"?: string } }>(
    "/v1/events",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["events"],
        summary: "Follow the tenant's events (Server-Sent Events)",
        description:
          "A text/event-stream of job and task state changes, progress milestones (every 10%) and audit records " +
          "(or, with scope=region and the operator role, the region's scaling decisions). " +
          "Each message's `id` is the stream's event id and its `data` the event as JSON. Resume with Last-Event-ID or ?since=. " +
          "A cursor older than retention first gets `event: reset` with data {type:'reset',from,to,detail}; events after `to` follow.",
        security: BEARER,
        querystring: EventsQuerySchema,
        headers: EventsHeadersSchema,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const stream = streamOf(p, req.query.scope, req.query.jobId);
      const last = req.headers["last-event-id"];
      const afterSeq = last !== undefined ? Number(last) : req.query.since;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      let sub: Subscription | undefined;
      let ended = false;
      const write = (chunk: string): Promise<void> | void => {
        if (ended) return;
        if (!raw.write(chunk))
          return new Promise<void>((resolve) => {
            const done = () => {
              raw.off("drain", done);
              raw.off("close", done);
              resolve();
            };
            raw.on("drain", done);
            raw.on("close", done);
          });
      };
      const handle = {
        end() {
          if (ended) return;
          ended = true;
          clearInterval(heartbeat);
          sub?.close();
          open.delete(handle);
          eventStreams.dec({ transport: "sse" });
          raw.end();
        },
      };
      open.add(handle);
      eventStreams.inc({ transport: "sse" });
      const heartbeat = setInterval(() => void write(": keep-alive\n\n"), deps.heartbeatMs ?? 15_000);
      req.raw.on("close", () => handle.end());
      void write("retry: 2000\n\n");
      try {
        sub = await deps.bus.subscribe({
          tenant: stream,
          afterSeq,
          jobId: req.query.jobId,
          onEvent: (e) => write(`id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`),
          // a named event: EventSource.onmessage does not see it, and its id moves a reconnect's Last-Event-ID past the gap
          onReset: (r) =>
            write(
              `event: reset\nid: ${r.to}\ndata: ${JSON.stringify({ type: "reset", from: r.from, to: r.to, detail: resetDetail(r) })}\n\n`,
            ),
          onError: () => handle.end(),
        });
        if (ended) sub.close();
        else void write(`: cursor ${sub.cursor}\n\n`);
      } catch {
        handle.end();
      }
    },
  );

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.get<{ Querystring: EventsQuery }>(
    "/ws",
    {
      websocket: true,
      schema: {
        tags: ["events"],
        summary: "Follow the tenant's events (WebSocket)",
        description:
          'Authenticate with an Authorization header on the upgrade or, from a browser, with a first message {"op":"auth","key":"ffk_...","since":N,"jobId":"..."} ' +
          'within 10 s ("scope":"region" for the region\'s scaling events, operator role and up). The server sends {"op":"ready","cursor":N}, ' +
          'then {"op":"event","event":{...}} per event, and {"op":"reset","from":N,"to":M,"detail":"..."} when retention removed events after the cursor.',
        querystring: EventsQuerySchema,
      },
    },
    (socket: WebSocket, req: FastifyRequest<{ Querystring: EventsQuery }>) => {
      let sub: Subscription | undefined;
      let closed = false;
      const send = async (msg: unknown) => {
        if (closed) return;
        socket.send(JSON.stringify(msg));
        // back-pressure: let the socket drain before the next event is read
        while (!closed && socket.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 20));
      };
      const fail = (code: number, status: number, detail: string) => {
        void send({ op: "error", status, detail });
        socket.close(code, detail.slice(0, 120));
      };
      const handle = { end: () => socket.close(1001, "server shutting down") };
      open.add(handle);
      eventStreams.inc({ transport: "ws" });
      socket.on("close", () => {
        closed = true;
        sub?.close();
        open.delete(handle);
        eventStreams.dec({ transport: "ws" });
      });
      const start = async (p: Principal, opts: { since?: number; jobId?: string; scope?: string }) => {
        if (opts.jobId !== undefined && !new RegExp(UUID_PATTERN).test(opts.jobId)) return fail(4400, 400, "jobId must be a UUID");
        if (opts.since !== undefined && !(Number.isInteger(opts.since) && opts.since >= 0))
          return fail(4400, 400, "since must be a non-negative integer");
        let stream: string;
        try {
          stream = streamOf(p, opts.scope, opts.jobId);
        } catch (err) {
          const e = err as ApiProblem;
          return fail(e.status === 403 ? 4403 : 4400, e.status, e.detail ?? "refused");
        }
        sub = await deps.bus.subscribe({
          tenant: stream,
          afterSeq: opts.since,
          jobId: opts.jobId,
          onEvent: (e: EventEnvelope) => send({ op: "event", event: e }),
          onReset: (r) => send({ op: "reset", from: r.from, to: r.to, detail: resetDetail(r) }),
          onError: () => socket.close(1011, "event stream failed"),
        });
        if (closed) sub.close();
        else await send({ op: "ready", cursor: sub.cursor });
      };
      const authenticateWith = async (authorization: string) => {
        try {
          const p = await authenticate(deps.db, authorization);
          authorize(p, "viewer");
          return p;
        } catch (err) {
          const e = err as ApiProblem;
          fail(e.status === 403 ? 4403 : 4401, e.status ?? 401, e.detail ?? "not authenticated");
          return undefined;
        }
      };
      const query = { since: req.query.since, jobId: req.query.jobId, scope: req.query.scope as string | undefined };
      if (req.headers.authorization) {
        void authenticateWith(req.headers.authorization)
          .then((p) => (p ? start(p, query) : undefined))
          .catch(() => socket.close(1011));
        return;
      }
      const timer = setTimeout(() => fail(4401, 401, 'send {"op":"auth","key":"ffk_..."} first'), 10_000);
      socket.once("message", (data) => {
        clearTimeout(timer);
        let m: { op?: unknown; key?: unknown; since?: unknown; jobId?: unknown; scope?: unknown };
        try {
          m = JSON.parse(String(data)) as typeof m;
        } catch {
          return fail(4400, 400, "messages are JSON");
        }
        if (m.op !== "auth" || typeof m.key !== "string") return fail(4401, 401, 'the first message must be {"op":"auth","key":"ffk_..."}');
        const since = m.since === undefined || m.since === null ? query.since : Number(m.since);
        const jobId = typeof m.jobId === "string" ? m.jobId : query.jobId;
        const scope = m.scope === undefined || m.scope === null ? query.scope : String(m.scope);
        void authenticateWith(`Bearer ${m.key}`)
          .then((p) => (p ? start(p, { since, jobId, scope }) : undefined))
          .catch(() => socket.close(1011));
      });
    },
  );
}
