import type { Queryable } from "./db.js";

export type Role = "admin" | "operator" | "submitter" | "viewer";

export interface ApiKeyRow {
  id: string;
  tenant: string;
  role: Role;
  hash: string;
  name: string;
  revokedAt: Date | null;
}

export async function insertApiKey(
  db: Queryable,
  k: { id: string; tenant: string; role: Role; hash: string; name: string },
): Promise<void> {
  await db.query("INSERT INTO api_keys (id, tenant, role, hash, name) VALUES ($1, $2, $3, $4, $5)", [
    k.id,
    k.tenant,
    k.role,
    k.hash,
    k.name,
  ]);
}

export async function findApiKey(db: Queryable, id: string): Promise<ApiKeyRow | undefined> {
  const r = await db.query<ApiKeyRow>(`SELECT id, tenant, role, hash, name, revoked_at AS "revokedAt" FROM api_keys WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function insertJoinToken(db: Queryable, t: { id: string; hash: string; region: string; expiresAt: Date }): Promise<void> {
  await db.query("INSERT INTO join_tokens (id, hash, region, expires_at) VALUES ($1, $2, $3, $4)", [t.id, t.hash, t.region, t.expiresAt]);
}

export type JoinTokenCheck = "ok" | "unknown" | "used" | "expired" | "wrong-region";

/**
 * Spends a join token: succeeds once, atomically, for a matching hash that has
 * not expired. The caller has already compared hashes in constant time.
 */
export async function spendJoinToken(
  db: Queryable,
  id: string,
  hash: string,
  region: string,
  coordinatorId: string,
): Promise<JoinTokenCheck> {
  const r = await db.query<{ ok: boolean }>(
    `UPDATE join_tokens SET used_at = now(), used_by = $4
     WHERE id = $1 AND hash = $2 AND region = $3 AND used_at IS NULL AND expires_at > now() RETURNING true AS ok`,
    [id, hash, region, coordinatorId],
  );
  if (r.rows[0]) return "ok";
  const why = await db.query<{ hash: string; region: string; usedAt: Date | null; expired: boolean }>(
    `SELECT hash, region, used_at AS "usedAt", expires_at <= now() AS expired FROM join_tokens WHERE id = $1`,
    [id],
  );
  const row = why.rows[0];
  if (!row || row.hash !== hash) return "unknown";
  if (row.region !== region) return "wrong-region";
  if (row.usedAt) return "used";
  return "expired";
}
