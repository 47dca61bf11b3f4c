// RFC 9457 problem details. Every rejected request, whoever rejects it (a route,
// fastify's body parser, the schema validator, the router's 404), leaves through
// `sendProblem`, so clients parse one error shape and never see a stack trace.

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { IDEMPOTENCY_KEY_PATTERN, LABEL_KEY_PATTERN, UUID_PATTERN } from "./schemas.js";

/** What a failed `pattern` means, in words. */
const PATTERN_REASONS: Record<string, string> = {
  [UUID_PATTERN]: "must be a UUID",
  [IDEMPOTENCY_KEY_PATTERN]: "must be 1 to 255 printable ASCII characters",
};

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface FieldProblem {
  /**
   * What was wrong, as a location in the request: a JSON pointer into the body
   * ("/composition/video/renditions/0/height"), or "header/<Name>", "query/<name>",
   * "path/<name>".
   */
  field: string;
  reason: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors: FieldProblem[];
}

/** Problem types: stable identifiers clients may switch on, documented in docs/api.md. */
export const PROBLEM_TYPES = {
  "invalid-request": { status: 400, title: "The request is malformed" },
  unauthenticated: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "The API key's role does not allow this" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  "payload-too-large": { status: 413, title: "The request body is too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported content type" },
  "invalid-composition": { status: 422, title: "The composition is not acceptable" },
  "rate-limited": { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "Service unavailable" },
} as const;

export type ProblemType = keyof typeof PROBLEM_TYPES;

export function problemTypeUri(t: ProblemType): string {
  return `urn:framefleet:problem:${t}`;
}

/** A problem a handler raises; the error handler turns it into a response. */
export class ApiProblem extends Error {
  readonly status: number;
  constructor(
    readonly kind: ProblemType,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
    opts: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ApiProblem";
    this.status = opts.status ?? PROBLEM_TYPES[kind].status;
    this.headers = opts.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, p: ApiProblem): FastifyReply {
  const body: Problem = {
    type: problemTypeUri(p.kind),
    title: PROBLEM_TYPES[p.kind].title,
    status: p.status,
    detail: p.detail,
    instance: pathOf(req.url),
    requestId: String(req.id),
    errors: p.errors,
  };
  for (const [k, v] of Object.entries(p.headers)) reply.header(k, v);
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return (q < 0 ? url : url.slice(0, q)).slice(0, 512);
}

/** JSON-pointer escaping of one reference token (RFC 6901). */
export function pointerToken(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Canonical spelling of the headers the API reads, for error fields. */
const HEADER_NAMES: Record<string, string> = {
  "idempotency-key": "Idempotency-Key",
  authorization: "Authorization",
  "content-type": "Content-Type",
};

interface AjvLikeError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Maps one schema-validator error to a request location and a reason a person can act on. */
export function fieldFromValidation(context: string | undefined, e: AjvLikeError): FieldProblem {
  let path = e.instancePath ?? "";
  if (e.keyword === "additionalProperties" && typeof e.params.additionalProperty === "string") {
    path += "/" + pointerToken(e.params.additionalProperty);
  } else if (e.keyword === "required" && typeof e.params.missingProperty === "string") {
    path += "/" + pointerToken(e.params.missingProperty);
  }
  let reason: string;
  switch (e.keyword) {
    case "additionalProperties":
      reason = context === "body" && e.instancePath === "/labels" ? `label keys must match ${LABEL_KEY_PATTERN}` : "unknown field";
      break;
    case "pattern":
      reason = PATTERN_REASONS[String(e.params.pattern)] ?? `must match ${String(e.params.pattern)}`;
      break;
    case "required":
      reason = "is required";
      break;
    case "type":
      reason = `must be ${withArticle(String(e.params.type))}`;
      break;
    case "enum":
      reason = `must be one of: ${(e.params.allowedValues as unknown[] | undefined)?.map((v) => JSON.stringify(v)).join(", ") ?? "the allowed values"}`;
      break;
    default:
      reason = e.message ?? e.keyword;
  }
  switch (context) {
    case "body":
      return { field: path === "" ? "/" : path, reason };
    case "headers": {
      const name = path.replace(/^\//, "").split("/")[0] ?? "";
      return { field: `header/${HEADER_NAMES[name] ?? name}`, reason };
    }
    case "querystring":
      return { field: `query/${path.replace(/^\//, "")}`, reason };
    case "params":
      return { field: `path/${path.replace(/^\//, "")}`, reason };
    default:
      return { field: path || "/", reason };
  }
}

function withArticle(t: string): string {
  const kinds = t.split(",");
  return kinds.map((k) => (/^[aeiou]/.test(k) ? `an ${k}` : `a ${k}`)).join(" or ");
}

/** Fastify's own errors (parser, limits, validation) as problems. */
export function problemFromFastifyError(err: FastifyError & { validation?: AjvLikeError[]; validationContext?: string }): ApiProblem {
  if (err instanceof ApiProblem) return err;
  if (err.validation) {
    const errors = err.validation.map((e) => fieldFromValidation(err.validationContext, e));
    // one entry per field: unions and allErrors can repeat a location
    const seen = new Set<string>();
    const unique = errors.filter((f) => (seen.has(f.field + f.reason) ? false : (seen.add(f.field + f.reason), true)));
    const where =
      err.validationContext === "body"
        ? "request body"
        : err.validationContext === "headers"
          ? "headers"
          : err.validationContext === "querystring"
            ? "query string"
            : "path";
    return new ApiProblem(
      "invalid-request",
      `Invalid ${where}: ${unique
        .slice(0, 5)
        .map((u) => `${u.field} ${u.reason}`)
        .join("; ")}${unique.length > 5 ? ` (and ${unique.length - 5} more)` : ""}`,
      unique,
    );
  }
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiProblem("payload-too-large", "The request body is larger than this server accepts", [
        { field: "/", reason: err.message },
      ]);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_TYPE":
      return new ApiProblem("unsupported-media-type", "Send the request body as application/json", [
        { field: "header/Content-Type", reason: "must be application/json" },
      ]);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiProblem("invalid-request", "The body is empty but the Content-Type says JSON", [
        { field: "/", reason: "empty JSON body" },
      ]);
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new ApiProblem("invalid-request", "The request body is not valid JSON", [{ field: "/", reason: err.message }]);
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiProblem("invalid-request", "Content-Length does not match the body", [
        { field: "header/Content-Length", reason: err.message },
      ]);
    case "FST_ERR_BAD_URL":
      return new ApiProblem("invalid-request", "The URL is malformed", [{ field: "/", reason: "malformed URL" }]);
  }
  // secure-json-parse: a body with __proto__ or constructor.prototype
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON|prototype|Unexpected/i.test(err.message))) {
    return new ApiProblem("invalid-request", "The request body is not valid JSON", [{ field: "/", reason: err.message }]);
  }
  if (isDatabaseUnavailable(err)) {
    return new ApiProblem("unavailable", "The database is unavailable; retry shortly", [], { headers: { "retry-after": "5" } });
  }
  const status = err.statusCode ?? 500;
  if (status === 404) return new ApiProblem("not-found", "No such resource");
  if (status === 405) return new ApiProblem("method-not-allowed", "This method is not allowed here");
  if (status === 413)
    return new ApiProblem("payload-too-large", "The request body is larger than this server accepts", [
      { field: "/", reason: err.message },
    ]);
  if (status === 415)
    return new ApiProblem("unsupported-media-type", "Send the request body as application/json", [
      { field: "header/Content-Type", reason: "must be application/json" },
    ]);
  if (status === 429) return new ApiProblem("rate-limited", "Too many requests");
  if (status >= 400 && status < 500) return new ApiProblem("invalid-request", err.message, [], { status });
  return new ApiProblem("internal", "The server failed to handle this request; it has been logged", []);
}

/** Connection-level failures of PostgreSQL: the request may succeed if retried, so 503, not 500. */
function isDatabaseUnavailable(err: { code?: string; message?: string; name?: string }): boolean {
  const code = typeof err.code === "string" ? err.code : "";
  if (/^(08|57P0[1-3]|53300)/.test(code)) return true; // connection exceptions, admin shutdown, too many connections
  if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(code)) return true;
  if (err.name === "DatabaseUnavailableError") return true;
  return /Connection terminated|timeout exceeded when trying to connect/i.test(err.message ?? "");
}
