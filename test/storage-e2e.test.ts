// Object storage end to end: a region on loopback (real PostgreSQL, ffmpeg, certificates,
// coordinator and worker processes) whose tenant registers an S3 store served by a real
// S3 implementation (OpenStack Swift's s3api, test/support/swift.ts). The job's input and
// outputs live there; workers get presigned grants only (their environment holds no store
// credentials); the manager commits. Also: watch folders and the orphaned-staging cleanup.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startSwift, type SwiftServer } from "./support/swift.js";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { S3Store } from "../runtime/storage/s3.js";
import { jobStagingPrefix } from "../runtime/engine/layout.js";
import { planJob } from "../runtime/engine/plan.js";
import { validateComposition, type Composition } from "../runtime/engine/composition.js";
import { finishJob, insertJob } from "../runtime/manager/store/index.js";
import { cleanupOrphanedStaging } from "../runtime/manager/storage-sweep.js";
import { smallHlsComposition } from "./support/compositions.js";

const KEY_VAR = "FF_E2E_S3_ACCESS_KEY";
const SECRET_VAR = "FF_E2E_S3_SECRET";

// scripts/setup.sh installs Swift; without it startSwift fails with the apt line to run, never a silent skip
describe("a job whose media lives in an S3-compatible store", () => {
  let swift: SwiftServer;
  let region: TestRegion;
  let bucket: S3Store;
  let tmp: string;

  beforeAll(async () => {
    swift = await startSwift();
    process.env[KEY_VAR] = swift.accessKeyId;
    process.env[SECRET_VAR] = swift.secretAccessKey;
    bucket = new S3Store("media", {
      bucket: "acme-media",
      prefix: "tenant-acme/",
      endpoint: swift.endpoint,
      credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    });
    await bucket.client.send(new CreateBucketCommand({ Bucket: "acme-media" }));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ff-storage-e2e-"));
    const clip = path.join(tmp, "clip.mp4");
    await makeTestSource(clip, { seconds: 2, width: 640, height: 360, fps: 25, audio: true });
    await bucket.write("inputs/clip.mp4", fs.createReadStream(clip));
    // workers (and their coordinators) run with the store credentials blanked out:
    // everything they do in the bucket goes through the presigned grants
    region = await startTestRegion({
      coordinatorEnv: { [KEY_VAR]: "", [SECRET_VAR]: "", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    });
  }, 240_000);

  afterAll(async () => {
    await region?.cleanup();
    bucket?.destroy();
    await swift?.stop();
    delete process.env[KEY_VAR];
    delete process.env[SECRET_VAR];
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const composition = smallHlsComposition;

  it("registers the store (secrets by reference only), runs the job end to end in the bucket, and leaves no staging behind", async () => {
    const admin = await region.key("acme", "admin");
    const viewer = await region.key("acme", "viewer");
    const submitter = await region.key("acme", "submitter");

    const body = {
      name: "media",
      kind: "s3",
      bucket: "acme-media",
      prefix: "tenant-acme/",
      endpoint: swift.endpoint,
      region: "us-east-1",
      credentials: { source: "env", vars: { accessKeyId: KEY_VAR, secretAccessKey: SECRET_VAR } },
    };
    expect((await region.api("/v1/stores", { method: "POST", key: submitter, json: body })).status).toBe(403);
    const created = await region.api("/v1/stores", { method: "POST", key: admin, json: body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(swift.secretAccessKey);
    expect(created.body.credentials).toEqual({ source: "env", vars: { accessKeyId: KEY_VAR, secretAccessKey: SECRET_VAR } });
    expect((await region.api("/v1/stores", { method: "POST", key: admin, json: body })).status).toBe(409);
    expect((await region.api("/v1/stores", { method: "POST", key: admin, json: { ...body, name: "local" } })).status).toBe(409);
    const listed = await region.api("/v1/stores", { key: viewer });
    expect(listed.body.stores.map((s: { name: string }) => s.name)).toEqual(["local", "media"]);
    expect(JSON.stringify(listed.body)).not.toContain(swift.secretAccessKey);
    // another tenant sees none of it, and cannot name the store in a job
    const other = await region.key("globex", "admin");
    expect((await region.api("/v1/stores/media", { key: other })).status).toBe(404);
    const foreign = await region.api("/v1/jobs", {
      method: "POST",
      key: other,
      json: { composition: composition("store://media/inputs/clip.mp4", "store://media/outputs/stolen/") },
    });
    expect(foreign.status).toBe(422);
    expect(JSON.stringify(foreign.body)).toMatch(/unknown store 'media'/);

    const submitted = await region.api("/v1/jobs", {
      method: "POST",
      key: submitter,
      json: { composition: composition("store://media/inputs/clip.mp4", "store://media/outputs/clip/") },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
    // a store in use by an unfinished job cannot be removed
    expect((await region.api("/v1/stores/media", { method: "DELETE", key: admin })).status).toBe(409);

    const job = await waitFor(
      "the job to finish",
      async () => {
        const r = await region.api(`/v1/jobs/${id}`, { key: submitter });
        return ["succeeded", "failed", "partial", "cancelled"].includes(r.body.state) ? r.body : undefined;
      },
      240_000,
      500,
    );
    expect(job.state, JSON.stringify(job, null, 2)).toBe("succeeded");

    const outputs = (await bucket.list("outputs/clip/")).map((o) => o.key);
    expect(outputs).toContain("outputs/clip/master.m3u8");
    expect(outputs).toContain("outputs/clip/mp4/small.mp4");
    expect(outputs.some((k) => /^outputs\/clip\/hls\/small\/.*\.m4s$/.test(k))).toBe(true);
    // nothing left in staging
    expect(await bucket.list(jobStagingPrefix(id))).toEqual([]);
    // ffmpeg reads the committed rendition straight from the bucket over a presigned URL
    const url = (await bucket.signGet("outputs/clip/mp4/small.mp4", 120)).url;
    const probe = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", url]).toString());
    expect(probe.streams.find((s: { codec_type: string }) => s.codec_type === "video").height).toBe(240);
    expect(Math.abs(Number(probe.format.duration) - 2)).toBeLessThan(0.15);

    // the audit records the input's hash as read through the grant, and no signed URL or secret
    const audit = await region.api(`/v1/jobs/${id}/audit`, { key: submitter });
    const text = JSON.stringify(audit.body);
    expect(text).toContain("input.sha256");
    expect(text).not.toContain(swift.secretAccessKey);
    expect(text).not.toContain("X-Amz-Signature");
  }, 300_000);

  it("hands a task a grant for exactly its keys, with no secret in it", async () => {
    const grant = (await region.manager.stores.forAssignment("acme", {
      jobId: "00000000-0000-4000-8000-000000000001",
      key: "encode:small",
      attempt: 1,
      spec: { input: "store://media/inputs/clip.mp4", output: "store://media/outputs/x/" },
      deps: {},
    })) as Record<string, { kind: string; get?: Record<string, unknown>; write?: { prefix: string } }>;
    expect(grant.media?.kind).toBe("presigned");
    expect(Object.keys(grant.media?.get ?? {})).toEqual(["inputs/clip.mp4"]);
    expect(grant.media?.write?.prefix).toBe(".framefleet-staging/00000000-0000-4000-8000-000000000001/encode:small/1/");
    expect(grant.local?.kind).toBe("fs");
    const json = JSON.stringify(grant);
    expect(json).not.toContain(swift.secretAccessKey);
    expect(json).not.toContain(SECRET_VAR);
  });

  it("starts a job for a new object in a watch folder, once", async () => {
    const admin = await region.key("acme", "admin");
    const template = composition("store://media/unused", "store://media/unused/");
    const bad = await region.api("/v1/watch-folders", {
      method: "POST",
      key: admin,
      json: { name: "inbox", input: "store://media/watch/", output: "store://media/watch/out/", template },
    });
    expect(bad.status).toBe(400);
    const w = await region.api("/v1/watch-folders", {
      method: "POST",
      key: admin,
      json: { name: "inbox", input: "store://media/watch/", output: "store://media/watched/", template },
    });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    await bucket.write("watch/arrival.mp4", await bucket.read("inputs/clip.mp4"));
    await region.manager.storageSweep();
    await region.manager.storageSweep(); // a second poll starts nothing new
    const submitter = await region.key("acme", "submitter");
    const jobs = await region.api("/v1/jobs", { key: submitter });
    const watched = jobs.body.jobs.filter((j: { labels?: Record<string, string> }) => j.labels?.["framefleet.watch"] === "inbox");
    expect(watched).toHaveLength(1);
    const job = await waitFor(
      "the watch-folder job to finish",
      async () => {
        const r = await region.api(`/v1/jobs/${watched[0].id}`, { key: submitter });
        return ["succeeded", "failed", "partial", "cancelled"].includes(r.body.state) ? r.body : undefined;
      },
      240_000,
      500,
    );
    expect(job.state, JSON.stringify(job, null, 2)).toBe("succeeded");
    expect((await bucket.list("watched/arrival/")).map((o) => o.key)).toContain("watched/arrival/master.m3u8");
  }, 300_000);

  it("removes the staging area of a failed job (orphaned intermediates), once", async () => {
    const c = validateComposition(composition("store://media/inputs/clip.mp4", "store://media/outputs/failed/"));
    if (!c.ok) throw new Error(JSON.stringify(c.errors));
    const jobId = "00000000-0000-4000-8000-00000000f00d";
    const db = region.manager.db;
    await insertJob(db, {
      id: jobId,
      tenant: "acme",
      priority: 50,
      composition: c.value as never,
      engine: { name: "ffmpeg", version: "5.1" },
      tasks: planJob(c.value as Composition, { jobId }),
    });
    const staging = jobStagingPrefix(jobId);
    await bucket.write(`${staging}encode:small/1/video.mp4`, "partial");
    await bucket.write(`${staging}encode:small/2/video.mp4`, "partial too");
    await bucket.write("outputs/keep.txt", "not staging");
    await finishJob(db, jobId, "failed", null, { reason: "test" });
    const resolverFor = (t: string) => region.manager.stores.resolver(t);
    const first = await cleanupOrphanedStaging({ db, resolverFor, graceSeconds: 0 });
    expect(first.objects).toBeGreaterThanOrEqual(2);
    expect(await bucket.list(staging)).toEqual([]);
    expect(await bucket.stat("outputs/keep.txt")).toBeDefined();
    expect((await cleanupOrphanedStaging({ db, resolverFor, graceSeconds: 0 })).jobs).toBe(0);
  });
});
