// Bearer API keys: `ffk_<lookupId>_<secret>`. The store keeps the lookup id and a
// SHA-256 of the whole key; a request is authenticated by one indexed lookup and a
// constant-time comparison of hashes. Authentication failures are 401 with
// `WWW-Authenticate: Bearer`; an authenticated key whose role is too low is 403.

import type { FastifyRequest } from "fastify";
import { findApiKey, type Db, type Role } from "../store/index.js";
import { hashSecretToken, parseSecretToken, timingSafeEqualHex } from "../../pki/tokens.js";
import { ApiProblem } from "./problems.js";

export const API_KEY_PREFIX = "ffk";

/** admin > operator > submitter > viewer: each role can do everything the ones below it can. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, submitter: 1, operator: 2, admin: 3 };

export interface Principal {
  keyId: string;
  tenant: string;
  role: Role;
}

const REALM = 'Bearer realm="framefleet"';
// compared against when the lookup id is unknown, so both paths do the same work
const DUMMY_HASH = "0".repeat(64);

function unauthenticated(detail: string, invalidToken: boolean): ApiProblem {
  return new ApiProblem("unauthenticated", detail, [{ field: "header/Authorization", reason: detail }], {
    headers: { "www-authenticate": invalidToken ? `${REALM}, error="invalid_token"` : REALM },
  });
}

export async function authenticate(db: Db, authorization: string | undefined): Promise<Principal> {
  if (authorization === undefined || authorization === "") {
    throw unauthenticated("send an API key: Authorization: Bearer ffk_...", false);
  }
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
  if (!m) throw unauthenticated("the Authorization header must be 'Bearer <api key>'", true);
  const token = m[1]!;
  const parsed = parseSecretToken(token, API_KEY_PREFIX);
  if (!parsed) throw unauthenticated("the API key is malformed", true);
  const row = await findApiKey(db, parsed.lookupId);
  const matches = timingSafeEqualHex(hashSecretToken(token), row?.hash ?? DUMMY_HASH);
  if (!row || !matches) throw unauthenticated("the API key is not valid", true);
  // only a holder of the real secret learns that it was revoked
  if (row.revokedAt) throw unauthenticated("the API key has been revoked", true);
  return { keyId: row.id, tenant: row.tenant, role: row.role };
}

export function authorize(p: Principal, needed: Role): void {
  if (ROLE_RANK[p.role] < ROLE_RANK[needed]) {
    throw new ApiProblem(
      "forbidden",
      `this needs the ${needed} role or above; the API key has the ${p.role} role`,
      [{ field: "header/Authorization", reason: `role ${p.role} is below ${needed}` }],
      { headers: { "www-authenticate": `${REALM}, error="insufficient_scope"` } },
    );
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

export type RoleGuard = (req: FastifyRequest) => Promise<void>;

export function setPrincipal(req: FastifyRequest, p: Principal): void {
  principals.set(req, p);
}

/** The authenticated caller of a route guarded by a role hook. */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (!p) throw new Error("route has no role guard");
  return p;
}
