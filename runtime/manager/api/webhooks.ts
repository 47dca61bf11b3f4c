// /v1/webhooks: a tenant's webhook endpoints (operator role), their delivery logs
// and replays. The signing secret is in the response to POST /v1/webhooks and
// POST /v1/webhooks/:id/rotate-secret only. Another tenant's endpoint is a 404.
// An endpoint registered with scope "region" receives the region's scaling.*
// events instead of the tenant's; it still belongs to (and is managed by) the
// tenant that registered it.
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import {
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  replayWebhookDeliveries,
  updateWebhookEndpoint,
  type Db,
  type WebhookEndpointRow,
} from "../store/index.js";
import { checkEndpointUrl } from "../webhooks/address.js";
import { newWebhookSecret } from "../webhooks/sign.js";
import type { WebhookWorker } from "../webhooks/worker.js";
import { principalOf } from "./auth.js";
import { roleGuard } from "./events.js";
import { ApiProblem } from "./problems.js";
import { UUID_PATTERN } from "./schemas.js";

export interface WebhookRoutesDeps {
  db: Db;
  worker?: WebhookWorker;
  /** the operator's allowance (manager config webhooks.allowPrivateAddresses) */
  allowPrivateAddresses: boolean;
}

const EVENT_PATTERN = "^(\\*|[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)*(\\.\\*)?)$";
const Url = Type.String({ minLength: 8, maxLength: 2048, description: "http(s) URL that resolves to public addresses" });
const EventTypes = Type.Array(Type.String({ pattern: EVENT_PATTERN, maxLength: 100 }), {
  maxItems: 50,
  description: "event types to send: exact ('job.succeeded') or a prefix ('job.*'); empty or absent: all",
});

const Scope = Type.Union([Type.Literal("tenant"), Type.Literal("region")], {
  description: "tenant (default): the tenant's events; region: the region's scaling.* events",
});
const EndpointSchema = Type.Object({
  id: Type.String(),
  scope: Scope,
  url: Type.String(),
  description: Type.String(),
  eventTypes: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
const EndpointWithSecretSchema = Type.Object({
  ...EndpointSchema.properties,
  secret: Type.String({ description: "whsec_...: shown once; sign-check deliveries with it" }),
});
const CreateBody = Type.Object(
  {
    url: Url,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    eventTypes: Type.Optional(EventTypes),
    scope: Type.Optional(Scope),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    eventTypes: Type.Optional(EventTypes),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
const IdParams = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) });
const DeliveriesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: "delivery id: older deliveries than this" })),
    eventId: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
const DeliverySchema = Type.Object({
  id: Type.Integer(),
  eventId: Type.Integer(),
  eventType: Type.String(),
  replay: Type.Boolean(),
  state: Type.String({ enum: ["pending", "succeeded", "failed"] }),
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastLatencyMs: Type.Union([Type.Integer(), Type.Null()]),
  nextAt: Type.String({ format: "date-time" }),
  createdAt: Type.String({ format: "date-time" }),
  finishedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  log: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      at: Type.String(),
      status: Type.Union([Type.Integer(), Type.Null()]),
      latencyMs: Type.Integer(),
      error: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
const ReplayBody = Type.Object(
  {
    fromEventId: Type.Integer({ minimum: 1 }),
    toEventId: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const problem = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const errors = { 400: problem, 401: problem, 403: problem, 404: problem };
const BEARER = [{ bearerAuth: [] as string[] }];

function view(e: WebhookEndpointRow) {
  return {
    id: e.id,
    scope: e.scope,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    enabled: e.enabled,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRoutesDeps): void {
  const { db } = deps;
  const operator = roleGuard(db)("operator");
  const notFound = (id: string) => new ApiProblem("not-found", `No webhook endpoint ${id}`);

  const vet = async (url: string) => {
    const r = await checkEndpointUrl(url, { allowPrivateAddresses: deps.allowPrivateAddresses });
    if (!r.ok)
      throw new ApiProblem(
        "invalid-request",
        `The endpoint URL is refused: ${r.reason}`,
        [{ field: "/url", reason: r.reason ?? "refused" }],
        { status: 422 },
      );
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    "/v1/webhooks",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "Register a webhook endpoint",
        description:
          "Returns the signing secret, once. The endpoint receives the tenant's events from now on, " +
          "or with scope=region the region's scaling.* events (ids of the region's own sequence).",
        security: BEARER,
        body: CreateBody,
        response: { 201: EndpointWithSecretSchema, ...errors, 422: problem },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await vet(req.body.url);
      const secret = newWebhookSecret();
      const row = await insertWebhookEndpoint(db, {
        id: randomUUID(),
        tenant: p.tenant,
        scope: req.body.scope ?? "tenant",
        url: req.body.url,
        description: req.body.description ?? "",
        eventTypes: req.body.eventTypes ?? [],
        secret,
      });
      return reply
        .code(201)
        .header("location", `/v1/webhooks/${row.id}`)
        .send({ ...view(row), secret });
    },
  );

  app.get(
    "/v1/webhooks",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "List webhook endpoints",
        security: BEARER,
        response: { 200: Type.Object({ endpoints: Type.Array(EndpointSchema) }), ...errors },
      },
    },
    async (req) => ({ endpoints: (await listWebhookEndpoints(db, principalOf(req).tenant)).map(view) }),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/webhooks/:id",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "A webhook endpoint",
        security: BEARER,
        params: IdParams,
        response: { 200: EndpointSchema, ...errors },
      },
    },
    async (req) => {
      const row = await getWebhookEndpoint(db, principalOf(req).tenant, req.params.id);
      if (!row) throw notFound(req.params.id);
      return view(row);
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    "/v1/webhooks/:id",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "Change a webhook endpoint",
        security: BEARER,
        params: IdParams,
        body: PatchBody,
        response: { 200: EndpointSchema, ...errors, 422: problem },
      },
    },
    async (req) => {
      if (req.body.url !== undefined) await vet(req.body.url);
      const row = await updateWebhookEndpoint(db, principalOf(req).tenant, req.params.id, req.body);
      if (!row) throw notFound(req.params.id);
      deps.worker?.kick();
      return view(row);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    "/v1/webhooks/:id",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "Remove a webhook endpoint and its delivery log",
        security: BEARER,
        params: IdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      if (!(await deleteWebhookEndpoint(db, principalOf(req).tenant, req.params.id))) throw notFound(req.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    "/v1/webhooks/:id/rotate-secret",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "Replace the signing secret (returned once)",
        security: BEARER,
        params: IdParams,
        response: { 200: EndpointWithSecretSchema, ...errors },
      },
    },
    async (req) => {
      const secret = newWebhookSecret();
      const row = await updateWebhookEndpoint(db, principalOf(req).tenant, req.params.id, { secret });
      if (!row) throw notFound(req.params.id);
      return { ...view(row), secret };
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof DeliveriesQuery> }>(
    "/v1/webhooks/:id/deliveries",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "The endpoint's delivery log, newest first",
        description: "Each delivery's state, attempts, last status and latency, and every attempt.",
        security: BEARER,
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }), ...errors },
      },
    },
    async (req) => {
      const tenant = principalOf(req).tenant;
      if (!(await getWebhookEndpoint(db, tenant, req.params.id))) throw notFound(req.params.id);
      const rows = await listWebhookDeliveries(db, tenant, req.params.id, {
        limit: req.query.limit,
        beforeId: req.query.before,
        eventId: req.query.eventId,
      });
      return {
        deliveries: rows.map((d) => ({
          ...d,
          nextAt: d.nextAt.toISOString(),
          createdAt: d.createdAt.toISOString(),
          finishedAt: d.finishedAt?.toISOString() ?? null,
        })),
      };
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReplayBody> }>(
    "/v1/webhooks/:id/replay",
    {
      onRequest: operator,
      schema: {
        tags: ["webhooks"],
        summary: "Send past events again",
        description:
          "Queues the endpoint's matching events with ids in [fromEventId, toEventId] (at most 1000) as new deliveries carrying the same event ids.",
        security: BEARER,
        params: IdParams,
        body: ReplayBody,
        response: { 202: Type.Object({ queued: Type.Integer() }), ...errors },
      },
    },
    async (req, reply) => {
      const tenant = principalOf(req).tenant;
      if (!(await getWebhookEndpoint(db, tenant, req.params.id))) throw notFound(req.params.id);
      const queued = await replayWebhookDeliveries(db, tenant, req.params.id, {
        fromSeq: req.body.fromEventId,
        toSeq: req.body.toEventId ?? null,
        limit: 1000,
      });
      deps.worker?.kick();
      return reply.code(202).send({ queued });
    },
  );
}
