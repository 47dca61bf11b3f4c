// Bucket-notification endpoints of watch folders (see ../watch-notify.ts for the formats).
//
//   POST /v1/watch-folders/:name/notification-token   (operator) mints or replaces the
//        folder's notification URL; the token is shown once and stored as SHA-256
//   POST /v1/notifications/watch/:id?token=...          what Event Grid, Pub/Sub push or
//        SNS calls: no API key (the clouds cannot send one); the folder's id and token are
//        the credential, so one tenant's token never reaches another tenant's folder
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { STORE_NAME_RE } from "../../storage/keys.js";
import { setWatchNotifyToken } from "../store/index.js";
import { authenticateNotification, handleNotification, mintNotifyToken, NotificationError, type NotifyDeps } from "../watch-notify.js";
import { ApiProblem } from "./problems.js";
import { principalOf, type RoleGuard } from "./auth.js";

const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };

export const NOTIFY_PATH = "/v1/notifications/watch";

export function registerWatchNotifyRoutes(
  app: FastifyInstance,
  deps: NotifyDeps,
  requireRole: (role: "viewer" | "submitter" | "operator" | "admin") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  const NameParams = Type.Object({ name: Type.String({ maxLength: 200 }) });
  app.post<{ Params: Static<typeof NameParams> }>(
    "/v1/watch-folders/:name/notification-token",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["stores"],
        summary: "Mint (or replace) a watch folder's bucket-notification URL",
        description:
          "Answers the path (with its token) to subscribe in the cloud: an Azure Event Grid webhook (BlobCreated), a Pub/Sub push subscription on the bucket's GCS notification topic (OBJECT_FINALIZE), or an SNS HTTPS subscription on the topic of the bucket's S3 event notification. The token is shown only here; minting again revokes the previous one. Polling continues as a reconciliation pass; an object starts one job however it is reported.",
        security,
        params: NameParams,
        response: {
          201: Type.Object({ path: Type.String(), token: Type.String() }),
          401: ProblemRef,
          403: ProblemRef,
          404: ProblemRef,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const t = mintNotifyToken();
      if (!STORE_NAME_RE.test(req.params.name) || !(await setWatchNotifyToken(deps.db, p.tenant, req.params.name, t.id, t.sha256)))
        throw new ApiProblem("not-found", "No such watch folder");
      return reply.code(201).send({ path: `${NOTIFY_PATH}/${t.id}?token=${t.secret}`, token: t.secret });
    },
  );

  // an encapsulated scope: SNS posts its JSON as text/plain, which the API refuses elsewhere
  void app.register(async (scope) => {
    scope.addContentTypeParser("text/plain", { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (e) {
        done(
          new ApiProblem("invalid-request", "The notification body is not JSON", [{ field: "/", reason: (e as Error).message }]),
          undefined,
        );
      }
    });
    const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
    const Query = Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) });
    scope.post<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
      `${NOTIFY_PATH}/:id`,
      {
        schema: {
          tags: ["stores"],
          summary: "A cloud's bucket notification for one watch folder (Event Grid, Pub/Sub push, SNS)",
          params: Params,
          querystring: Query,
          response: { 400: ProblemRef, 401: ProblemRef },
        },
      },
      async (req, reply) => {
        const w = await authenticateNotification(deps, req.params.id, req.query.token);
        if (!w) throw new ApiProblem("unauthenticated", "Unknown watch folder or wrong token");
        try {
          const out = await handleNotification(deps, w, req.headers, req.body);
          return reply
            .code(out.status)
            .headers(out.headers ?? {})
            .send(out.body);
        } catch (e) {
          if (e instanceof NotificationError)
            throw new ApiProblem("invalid-request", "The notification is not acceptable", [{ field: e.field, reason: e.reason }]);
          throw e;
        }
      },
    );
  });
}
