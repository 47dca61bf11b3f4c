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

export type JoinTokenCheck = "ok" | "unknown" | "used" | "expired" | "revoked" | "wrong-region";

/**
 * Spends a join token: a single-use token succeeds once, atomically; a reusable
 * one (a pool's bootstrap token) succeeds for every enrolment until it expires
 * or is revoked. Either way the hash must match and the token be current. The
 * caller has already compared hashes in constant time.
 */
export async function spendJoinToken(
  db: Queryable,
  id: string,
  hash: string,
  region: string,
  coordinatorId: string,
): Promise<JoinTokenCheck> {
  const r = await db.query<{ ok: boolean }>(
    `UPDATE join_tokens SET used_at = CASE WHEN reusable THEN coalesce(used_at, now()) ELSE now() END, used_by = $4, uses = uses + 1
     WHERE id = $1 AND hash = $2 AND region = $3 AND (reusable OR used_at IS NULL) AND revoked_at IS NULL AND expires_at > now()
     RETURNING true AS ok`,
    [id, hash, region, coordinatorId],
  );
  if (r.rows[0]) return "ok";
  const why = await db.query<{ hash: string; region: string; reusable: boolean; usedAt: Date | null; revoked: boolean; expired: boolean }>(
    `SELECT hash, region, reusable, used_at AS "usedAt", revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
     FROM join_tokens WHERE id = $1`,
    [id],
  );
  const row = why.rows[0];
  if (!row || row.hash !== hash) return "unknown";
  if (row.region !== region) return "wrong-region";
  if (row.revoked) return "revoked";
  if (row.usedAt && !row.reusable) return "used";
  return "expired";
}

export type BootstrapTokenRegistration = "created" | "refreshed" | "revoked";

/**
 * Registers a pool's bootstrap token as reusable, idempotently (every manager
 * replica does it at start), and revokes the token of the same label it
 * replaced, so a rotated secret stops enrolling hosts. Valid until `expiresAt`
 * (default: no expiry; rotation or revocation ends it). A token an operator
 * revoked stays revoked: "revoked" says so. Throws when the lookup id belongs
 * to a different token or region.
 */
export async function registerBootstrapJoinToken(
  db: Queryable,
  t: { id: string; hash: string; region: string; label: string; expiresAt?: Date },
): Promise<{ status: BootstrapTokenRegistration; superseded: number }> {
  const r = await db.query<{ created: boolean | null; revoked: boolean | null; superseded: number }>(
    `WITH up AS (
       INSERT INTO join_tokens (id, hash, region, expires_at, reusable, label)
       VALUES ($1, $2, $3, coalesce($5::timestamptz, 'infinity'), true, $4)
       ON CONFLICT (id) DO UPDATE SET reusable = true, label = EXCLUDED.label, expires_at = EXCLUDED.expires_at
         WHERE join_tokens.hash = EXCLUDED.hash AND join_tokens.region = EXCLUDED.region
       RETURNING (xmax = 0) AS created, revoked_at IS NOT NULL AS revoked
     ), old AS (
       UPDATE join_tokens SET revoked_at = now()
       WHERE region = $3 AND label = $4 AND id <> $1 AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM up)
       RETURNING id
     )
     SELECT (SELECT created FROM up) AS created, (SELECT revoked FROM up) AS revoked, (SELECT count(*) FROM old)::int AS superseded`,
    [t.id, t.hash, t.region, t.label, t.expiresAt ?? null],
  );
  const row = r.rows[0]!;
  if (row.created === null)
    throw new Error(`join token ${t.id} already exists for another token or region; generate a new bootstrap token`);
  return { status: row.revoked ? "revoked" : row.created ? "created" : "refreshed", superseded: row.superseded };
}

/** Revokes a join token (single-use or reusable); false when it is unknown or already revoked. */
export async function revokeJoinToken(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query("UPDATE join_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id]);
  return (r.rowCount ?? 0) > 0;
}
