// Connection pool, transactions and migrations. All SQL in framefleet lives in
// this folder; everything else calls the typed functions it exports.

import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runner } from "node-pg-migrate";

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

// bigint columns (epochs, audit ids) would otherwise arrive as strings
pg.types.setTypeParser(20, (v) => Number(v));

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export class DatabaseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach PostgreSQL at ${redactUrl(url)}: ${(cause as Error)?.message ?? cause}`);
    this.name = "DatabaseUnavailableError";
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

export function createDb(url: string, opts: { max?: number; applicationName?: string } = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? "framefleet",
    connectionTimeoutMillis: 10_000,
  });
  // an idle client losing its server must not crash the process; the next query reports it
  pool.on("error", () => {});
  return pool;
}

export async function checkConnection(db: Db, url: string): Promise<void> {
  try {
    await db.query("SELECT 1");
  } catch (err) {
    throw new DatabaseUnavailableError(url, err);
  }
}

export async function migrate(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnavailableError(url, err);
  }
  try {
    await runner({
      dbClient: client,
      dir: migrationsDir,
      direction: "up",
      migrationsTable: "framefleet_migrations",
      singleTransaction: true,
      log: () => {},
      logger: { debug: () => {}, info: () => {}, warn: console.warn, error: console.error },
    });
  } finally {
    await client.end();
  }
}

export async function withTx<T>(db: Db, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
