import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase } from "./db.js";
import { startRegion, type Region, type RegionOptions } from "../../runtime/cli/region.js";
import { createApiKey } from "../../runtime/cli/apikeys.js";
import type { Role } from "../../runtime/manager/store/index.js";

export interface TestRegion extends Region {
  key(tenant: string, role?: Role): Promise<string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  api(pathname: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<{ status: number; body: any }>;
  cleanup(): Promise<void>;
}

/** A real region on loopback: the run's PostgreSQL (own database), real certificates, real ports. */
export async function startTestRegion(opts: Partial<RegionOptions> = {}): Promise<TestRegion> {
  const { url, drop } = await createTestDatabase("region");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-region-"));
  fs.chmodSync(dataDir, 0o755);
  const region = await startRegion({
    dataDir,
    databaseUrl: url,
    httpPort: 0,
    grpcPort: 0,
    joinPort: 0,
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 4000,
    idleTimeoutMs: 3000,
    maxCoordinators: 1,
    log: process.env.FRAMEFLEET_TEST_LOG
      ? (msg, fields) => process.stderr.write(`[manager] ${msg} ${JSON.stringify(fields ?? {})}\n`)
      : undefined,
    ...opts,
  });
  return Object.assign(region, {
    key: async (tenant: string, role: Role = "submitter") => (await createApiKey(region.manager.db, { tenant, role })).key,
    api: async (pathname: string, init: RequestInit & { key?: string; json?: unknown } = {}) => {
      const headers = new Headers(init.headers);
      if (init.key) headers.set("authorization", `Bearer ${init.key}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      const res = await fetch(region.manager.urls.http + pathname, { ...init, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    cleanup: async () => {
      await region.stop();
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  }) as TestRegion;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
