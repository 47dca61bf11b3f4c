// The local provider end to end: a burst of jobs on a region whose coordinators
// are small scales the fleet up to its maximum, every job finishes, the fleet
// goes back to zero — and the usage API reports what the burst used. About
// 30 s on an idle two-core machine; the waits are generous for a loaded one.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";

let region: TestRegion;

beforeAll(async () => {
  region = await startTestRegion({ maxCoordinators: 2, coordinatorCpuMillis: 1000, coordinatorMemoryMb: 2048, idleTimeoutMs: 2000 });
  await makeTestSource(path.join(region.storeRoot, "inputs", "clip.mp4"), { seconds: 2, width: 320, height: 240, fps: 25, audio: true });
});
afterAll(async () => {
  await region?.cleanup();
});

const composition = (n: number) => ({
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/clip.mp4" },
  output: { uri: `store://local/outputs/burst-${n}/` },
  video: { renditions: [{ name: "small", height: 144, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 200, maxrateKbps: 300 } }] },
  packaging: { mp4: {} },
});

describe("autoscaling with the local provider", () => {
  it("scales up for a burst, finishes every job, returns to zero, and meters the usage", { timeout: 180_000 }, async () => {
    const fleet = region.manager.fleet!;
    expect(fleet.size()).toBe(0);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, fleet.size());
    }, 50);
    try {
      const key = await region.key("acme", "submitter");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition(i) } });
        expect(r.status).toBe(201);
        ids.push(r.body.id as string);
      }
      const finished = await waitFor(
        "every job to finish",
        async () => {
          const states = await Promise.all(ids.map(async (id) => (await region.api(`/v1/jobs/${id}`, { key })).body.state as string));
          return states.every((s) => ["succeeded", "failed", "partial", "cancelled"].includes(s)) ? states : undefined;
        },
        120_000,
        250,
      ).catch(async (err: Error) => {
        const t = await region.manager.db.query(
          "SELECT t.key, t.state, t.attempt, t.error, t.coordinator_id, c.state AS cstate FROM tasks t LEFT JOIN coordinators c ON c.id = t.coordinator_id ORDER BY t.job_id, t.key",
        );
        throw new Error(`${err.message}\n${JSON.stringify(t.rows)}`);
      });
      expect(finished).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(peak).toBe(2); // one coordinator of 1 CPU could not hold the burst: the fleet grew to its maximum, and no further

      // each attempt recorded the capacity type of the host it ran on
      const cap = await region.manager.db.query<{ capacity_type: string; n: number }>(
        "SELECT capacity_type, count(*)::int AS n FROM attempts WHERE started_at IS NOT NULL GROUP BY 1",
      );
      expect(cap.rows).toEqual([{ capacity_type: "local", n: expect.any(Number) }]);

      await waitFor("the fleet to return to zero", async () => fleet.size() === 0, 20_000, 100);

      const usage = await region.api("/v1/usage", { key });
      expect(usage.status, JSON.stringify(usage.body)).toBe(200);
      expect(usage.body.currency).toBe("USD");
      expect(usage.body.jobs.map((j: { jobId: string }) => j.jobId).sort()).toEqual([...ids].sort());
      // 3 jobs × one 144p rendition × 2 s of media
      expect(usage.body.totals.outputMinutes.SD).toBeCloseTo((3 * 2) / 60, 2);
      expect(usage.body.totals.managedServiceCostUsd).toBeGreaterThan(0);
      expect(usage.body.totals.compute[0]).toMatchObject({ capacityType: "local", costUsd: 0 });
      expect(usage.body.totals.compute[0].taskSeconds).toBeGreaterThan(0);
      const one = await region.api(`/v1/jobs/${ids[0]}/usage`, { key });
      expect(one.status).toBe(200);
      expect(one.body.outputMinutes.SD).toBeCloseTo(2 / 60, 3);

      // another tenant sees nothing of acme's, and a bad window is a problem document
      const other = await region.key("globex", "viewer");
      expect((await region.api("/v1/usage", { key: other })).body.jobs).toEqual([]);
      expect((await region.api(`/v1/jobs/${ids[0]}/usage`, { key: other })).status).toBe(404);
      const bad = await region.api("/v1/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", { key });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ type: "urn:framefleet:problem:invalid-request", errors: [{ field: "query/from" }] });
    } finally {
      clearInterval(sampler);
    }
  });
});
