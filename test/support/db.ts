import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { migrate } from "../../runtime/manager/store/db.js";

/** A fresh, migrated database on the run's PostgreSQL server. */
export async function createTestDatabase(label = "t"): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = inject("pgAdminUrl");
  const name = `ff_${label
    .replace(/[^a-z0-9]/gi, "")
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = admin.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
  await migrate(url);
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
