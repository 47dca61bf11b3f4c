// Shared pieces of the engine benchmarks: a region to run compositions on, and
// timing of a job through the platform.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startRegion, type Region, type RegionOptions } from "../runtime/cli/region.js";
import { createApiKey } from "../runtime/cli/apikeys.js";
import { ApiClient } from "../runtime/cli/client.js";
import { awaitJobEnd } from "../runtime/cli/watch.js";

export async function benchRegion(opts: Partial<RegionOptions>): Promise<Region & { client: ApiClient; cleanup(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-bench-"));
  fs.chmodSync(dataDir, 0o755);
  const region = await startRegion({ dataDir, httpPort: 0, grpcPort: 0, joinPort: 0, idleTimeoutMs: 120_000, ...opts });
  const { key } = await createApiKey(region.manager.db, { tenant: "bench", role: "submitter" });
  return Object.assign(region, {
    client: new ApiClient(region.manager.urls.http, key),
    cleanup: async () => {
      await region.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Submits a composition and waits for the job on its event stream; returns the wall time from
 * submission to the end. Polling GET /v1/jobs/:id every 100 ms, as this did before, cost the
 * manager about 3 s of CPU on the overhead benchmark's job: the harness, not the platform.
 */
export async function timeJob(client: ApiClient, composition: unknown): Promise<{ seconds: number; state: string }> {
  const t0 = performance.now();
  const job = await client.request<{ id: string }>("POST", "/v1/jobs", { composition });
  const done = await awaitJobEnd(client, job.id);
  return { seconds: (performance.now() - t0) / 1000, state: done.state };
}

export function readComposition(file: string, input: string, output: string): Record<string, unknown> {
  const c = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  c.input = { ...(c.input as object), uri: input };
  c.output = { uri: output };
  return c;
}
