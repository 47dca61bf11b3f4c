// One real PostgreSQL for the whole test run: DATABASE_ADMIN_URL when CI gives
// one, else an embedded server in a temporary directory. Each test file gets
// its own database (test/support/db.ts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../runtime/manager/store/embedded.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_ADMIN_URL) {
    project.provide("pgAdminUrl", process.env.DATABASE_ADMIN_URL);
    return async () => {};
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-pg-"));
  fs.chmodSync(dir, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), persistent: false, fast: true, database: "postgres" });
  project.provide("pgAdminUrl", db.adminUrl);
  return async () => {
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
