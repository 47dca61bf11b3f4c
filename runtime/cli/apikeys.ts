import { createSecretToken } from "../pki/index.js";
import { insertApiKey, type Queryable, type Role } from "../manager/store/index.js";

export const ROLES: readonly Role[] = ["admin", "operator", "submitter", "viewer"];
const TENANT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Creates an API key bound to a tenant and role; the key is returned once and stored only as a hash. */
export async function createApiKey(
  db: Queryable,
  opts: { tenant: string; role: Role; name?: string },
): Promise<{ id: string; key: string }> {
  if (!TENANT_RE.test(opts.tenant))
    throw new Error(`tenant ${JSON.stringify(opts.tenant)} must be 1-63 lower-case letters, digits or hyphens`);
  if (!ROLES.includes(opts.role)) throw new Error(`role ${JSON.stringify(opts.role)} must be one of ${ROLES.join(", ")}`);
  const t = createSecretToken("ffk");
  await insertApiKey(db, { id: t.lookupId, tenant: opts.tenant, role: opts.role, hash: t.hash, name: opts.name ?? "" });
  return { id: t.lookupId, key: t.token };
}
