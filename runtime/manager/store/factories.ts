import type { Json } from "../../engine/types.js";
import type { Db, Queryable } from "./db.js";
import { withTx } from "./db.js";
import { appendAudit } from "./audit.js";

export interface FactoryRow {
  tenant: string;
  name: string;
  template: Json;
  engineName: string;
  engineVersion: string;
  revision: number;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `tenant, name, template, engine_name AS "engineName", engine_version AS "engineVersion", revision, description,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export class FactoryExistsError extends Error {}

export async function insertFactory(
  db: Db,
  f: { tenant: string; name: string; template: Json; engine: { name: string; version: string }; description: string },
): Promise<FactoryRow> {
  return withTx(db, async (tx) => {
    const r = await tx.query<FactoryRow>(
      `INSERT INTO factories (tenant, name, template, engine_name, engine_version, description) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [f.tenant, f.name, JSON.stringify(f.template), f.engine.name, f.engine.version, f.description],
    );
    if (!r.rows[0]) throw new FactoryExistsError(`factory ${f.name} already exists`);
    await appendAudit(tx, { tenant: f.tenant, kind: "factory.created", data: { factory: f.name, engine: f.engine, revision: 1 } });
    return r.rows[0];
  });
}

export async function getFactory(db: Queryable, tenant: string, name: string): Promise<FactoryRow | undefined> {
  const r = await db.query<FactoryRow>(`SELECT ${COLUMNS} FROM factories WHERE tenant = $1 AND name = $2`, [tenant, name]);
  return r.rows[0];
}

export async function listFactories(db: Queryable, tenant: string): Promise<FactoryRow[]> {
  const r = await db.query<FactoryRow>(`SELECT ${COLUMNS} FROM factories WHERE tenant = $1 ORDER BY name`, [tenant]);
  return r.rows;
}

/** Replaces the template; the engine pin is kept (only upgradeFactoryEngine changes it). */
export async function updateFactoryTemplate(
  db: Db,
  tenant: string,
  name: string,
  template: Json,
  description: string,
): Promise<FactoryRow | undefined> {
  return withTx(db, async (tx) => {
    const r = await tx.query<FactoryRow>(
      `UPDATE factories SET template = $3, description = $4, revision = revision + 1, updated_at = now()
       WHERE tenant = $1 AND name = $2 RETURNING ${COLUMNS}`,
      [tenant, name, JSON.stringify(template), description],
    );
    if (r.rows[0])
      await appendAudit(tx, { tenant, kind: "factory.template-updated", data: { factory: name, revision: r.rows[0].revision } });
    return r.rows[0];
  });
}

/** The one way a factory's engine pin changes: explicit, audited, a new revision. */
export async function upgradeFactoryEngine(
  db: Db,
  tenant: string,
  name: string,
  engine: { name: string; version: string },
  reason: string,
): Promise<{ before: { name: string; version: string }; after: FactoryRow } | undefined> {
  return withTx(db, async (tx) => {
    const cur = await tx.query<FactoryRow>(`SELECT ${COLUMNS} FROM factories WHERE tenant = $1 AND name = $2 FOR UPDATE`, [tenant, name]);
    const before = cur.rows[0];
    if (!before) return undefined;
    const r = await tx.query<FactoryRow>(
      `UPDATE factories SET engine_name = $3, engine_version = $4, revision = revision + 1, updated_at = now()
       WHERE tenant = $1 AND name = $2 RETURNING ${COLUMNS}`,
      [tenant, name, engine.name, engine.version],
    );
    const after = r.rows[0]!;
    await appendAudit(tx, {
      tenant,
      kind: "factory.engine-upgraded",
      data: {
        factory: name,
        from: { name: before.engineName, version: before.engineVersion },
        to: engine,
        revision: after.revision,
        reason,
      },
    });
    return { before: { name: before.engineName, version: before.engineVersion }, after };
  });
}

export async function deleteFactory(db: Queryable, tenant: string, name: string): Promise<boolean> {
  const r = await db.query("DELETE FROM factories WHERE tenant = $1 AND name = $2", [tenant, name]);
  return (r.rowCount ?? 0) > 0;
}
