// End to end on loopback: real PostgreSQL, real ffmpeg, real certificates and
// real processes (coordinator and worker are spawned by the local fleet).
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { ApiClient } from "../runtime/cli/client.js";
import { awaitJobEnd } from "../runtime/cli/watch.js";

let region: TestRegion;

beforeAll(async () => {
  region = await startTestRegion();
  await makeTestSource(path.join(region.storeRoot, "inputs", "clip.mp4"), { seconds: 2, width: 640, height: 360, fps: 25, audio: true });
});
afterAll(async () => {
  await region?.cleanup();
});

const composition = {
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/clip.mp4" },
  output: { uri: "store://local/outputs/clip/" },
  video: { renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }] },
  audio: { renditions: [{ name: "aac", bitrateKbps: 96 }] },
  packaging: { mp4: {} },
};

describe("a region end to end", () => {
  it("runs a submitted job to succeeded on a coordinator it starts, with audit evidence, then returns to zero coordinators", async () => {
    const key = await region.key("acme", "submitter");
    const submitted = await region.api("/v1/jobs", { method: "POST", key, json: { composition } });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;

    const job = await waitFor(
      "the job to finish",
      async () => {
        const r = await region.api(`/v1/jobs/${id}`, { key });
        return ["succeeded", "failed", "partial", "cancelled"].includes(r.body.state) ? r.body : undefined;
      },
      120_000,
      300,
    );
    expect(job.state, JSON.stringify(job, null, 2)).toBe("succeeded");
    expect(job.tasks.every((t: { state: string }) => t.state === "succeeded" || t.state === "skipped")).toBe(true);

    const audit = await region.api(`/v1/jobs/${id}/audit`, { key });
    expect(audit.status).toBe(200);
    const kinds = new Set(audit.body.records.map((e: { kind: string }) => e.kind));
    for (const k of ["job.submitted", "input.sha256", "ffprobe", "ffmpeg.argv", "output.sha256", "job.succeeded"])
      expect(kinds, `audit has ${k}`).toContain(k);

    const outDir = path.join(region.storeRoot, "outputs", "clip");
    const files = fs.readdirSync(outDir, { recursive: true }).map(String);
    const mp4 = files.find((f) => f.endsWith(".mp4"));
    expect(mp4, `outputs: ${files.join(", ")}`).toBeDefined();
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", path.join(outDir, mp4!)]).toString(),
    );
    expect(probe.streams.find((s: { codec_type: string }) => s.codec_type === "video").height).toBe(240);
    expect(Math.abs(Number(probe.format.duration) - 2)).toBeLessThan(0.1);

    // nothing left in staging, and the fleet goes back to zero processes once idle
    await waitFor("the local fleet to retire its idle coordinator", async () => region.manager.fleet!.size() === 0, 30_000);
  });

  it("a client waits for a job on its event stream, without polling, and sees a job that already ended", async () => {
    const client = new ApiClient(region.manager.urls.http, await region.key("acme", "submitter"));
    const job = await client.request<{ id: string }>("POST", "/v1/jobs", {
      composition: { ...composition, output: { uri: "store://local/outputs/awaited/" } },
    });
    const done = await awaitJobEnd(client, job.id);
    expect(done.state).toBe("succeeded");
    expect(done.tasks.every((t) => t.state === "succeeded" || t.state === "skipped")).toBe(true);
    // opened after the end: the replay from since=0 carries the terminal event
    const again = await awaitJobEnd(client, job.id);
    expect(again.state).toBe("succeeded");
    await expect(awaitJobEnd(client, "00000000-0000-4000-8000-000000000000")).rejects.toThrow();
  }, 240_000);
});
