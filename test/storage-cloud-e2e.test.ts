// Azure Blob and Google Cloud Storage end to end: one region on loopback (real PostgreSQL,
// ffmpeg, certificates, coordinator and worker processes) whose tenant registers an
// `azure` store served by Azurite and a `gcs` store served by the local GCS endpoint.
// Each job's input and outputs live in the cloud store; workers get SAS / V4 signed URLs
// only (their environment holds no store credentials) and the manager commits.
//
// Azure: Azurite is Microsoft's own Blob emulator (test/support/azurite.ts). It verifies
// every SAS signature the manager makes (blob, permissions, expiry) and the Shared Key
// signature of every manager request itself, so a grant the service would refuse fails
// here too. It cannot prove Entra ID, Azure's throttling or geo behaviour.
// GCS: the cloud is not reachable from here, so the endpoint is test/support/fake-gcs.ts,
// which speaks the JSON/upload/XML APIs and verifies the V4 URL signatures (RSA over the
// canonical request); it cannot prove OAuth, IAM or the service's limits.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type Azurite } from "./support/azurite.js";
import { startFakeGcs, type FakeGcs } from "./support/fake-gcs.js";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { AzureStore } from "../runtime/storage/azure.js";
import { GcsStore } from "../runtime/storage/gcs.js";
import { jobStagingPrefix } from "../runtime/engine/layout.js";
import { smallHlsComposition } from "./support/compositions.js";

const execFileAsync = promisify(execFile);
const AZ_ACCOUNT_VAR = "FF_E2E_AZ_ACCOUNT";
const AZ_KEY_VAR = "FF_E2E_AZ_KEY";
const GCS_EMAIL_VAR = "FF_E2E_GCS_EMAIL";
const GCS_KEY_VAR = "FF_E2E_GCS_KEY";

const composition = smallHlsComposition;

describe("jobs whose media live in Azure Blob (Azurite) and GCS (local endpoint)", () => {
  let azurite: Azurite;
  let gcs: FakeGcs;
  let region: TestRegion;
  let az: AzureStore;
  let gs: GcsStore;
  let tmp: string;
  const gcsKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "framefleet@acme-media.iam.gserviceaccount.com";
  const gcsPrivatePem = gcsKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

  beforeAll(async () => {
    azurite = await startAzurite();
    gcs = await startFakeGcs({ publicKey: gcsKeys.publicKey, clientEmail });
    process.env[AZ_ACCOUNT_VAR] = azurite.account;
    process.env[AZ_KEY_VAR] = azurite.accountKey;
    process.env[GCS_EMAIL_VAR] = clientEmail;
    process.env[GCS_KEY_VAR] = gcsPrivatePem;
    az = new AzureStore("azmedia", {
      container: "masters",
      prefix: "acme/",
      endpoint: azurite.endpoint,
      credentials: { accountName: azurite.account, accountKey: azurite.accountKey },
    });
    await az.container.create();
    gs = new GcsStore("gcsmedia", {
      bucket: "acme-media",
      prefix: "tenant/",
      endpoint: gcs.endpoint,
      credentials: { client_email: clientEmail, private_key: gcsPrivatePem },
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ff-cloud-e2e-"));
    const clip = path.join(tmp, "clip.mp4");
    await makeTestSource(clip, { seconds: 2, width: 640, height: 360, fps: 25, audio: true });
    await az.write("inputs/clip.mp4", fs.createReadStream(clip));
    await gs.write("inputs/clip.mp4", fs.createReadStream(clip));
    // coordinators and workers run with every store secret blanked: all they do in the
    // buckets goes through the signed grants the manager hands them
    region = await startTestRegion({
      // two cores shared with other test files: a 4 s heartbeat lapses while ffmpeg runs
      heartbeatTimeoutMs: 15_000,
      coordinatorEnv: { [AZ_ACCOUNT_VAR]: "", [AZ_KEY_VAR]: "", [GCS_EMAIL_VAR]: "", [GCS_KEY_VAR]: "" },
    });
    const admin = await region.key("acme", "admin");
    const regs = [
      {
        name: "azmedia",
        kind: "azure",
        bucket: "masters",
        prefix: "acme/",
        endpoint: azurite.endpoint,
        credentials: { source: "env", vars: { accountName: AZ_ACCOUNT_VAR, accountKey: AZ_KEY_VAR } },
      },
      {
        name: "gcsmedia",
        kind: "gcs",
        bucket: "acme-media",
        prefix: "tenant/",
        endpoint: gcs.endpoint,
        credentials: { source: "env", vars: { client_email: GCS_EMAIL_VAR, private_key: GCS_KEY_VAR } },
      },
    ];
    for (const body of regs) {
      const r = await region.api("/v1/stores", { method: "POST", key: admin, json: body });
      if (r.status !== 201) throw new Error(`registering ${body.name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  }, 240_000);

  afterAll(async () => {
    await region?.cleanup();
    await gcs?.stop();
    await azurite?.stop();
    for (const v of [AZ_ACCOUNT_VAR, AZ_KEY_VAR, GCS_EMAIL_VAR, GCS_KEY_VAR]) delete process.env[v];
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function runJob(input: string, output: string): Promise<{ id: string; state: string; audit: string }> {
    const submitter = await region.key("acme", "submitter");
    const submitted = await region.api("/v1/jobs", { method: "POST", key: submitter, json: { composition: composition(input, output) } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
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
    const audit = await region.api(`/v1/jobs/${id}/audit`, { key: submitter });
    return { id, state: job.state, audit: JSON.stringify(audit.body) };
  }

  // asynchronous: the GCS endpoint runs in this process, and a blocked event loop could not answer ffprobe
  async function probe(url: string): Promise<{ height: number; duration: number }> {
    const { stdout } = await execFileAsync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", url], {
      timeout: 60_000,
    });
    const p = JSON.parse(stdout);
    return {
      height: p.streams.find((s: { codec_type: string }) => s.codec_type === "video").height,
      duration: Number(p.format.duration),
    };
  }

  it("runs a job in Azure Blob: SAS grants only, outputs committed, no staging left, no secret in the audit", async () => {
    const { id, audit } = await runJob("store://azmedia/inputs/clip.mp4", "store://azmedia/outputs/clip/");
    const outputs = (await az.list("outputs/clip/")).map((o) => o.key);
    expect(outputs).toContain("outputs/clip/master.m3u8");
    expect(outputs).toContain("outputs/clip/mp4/small.mp4");
    expect(outputs.some((k) => /^outputs\/clip\/hls\/small\/.*\.m4s$/.test(k))).toBe(true);
    expect(await az.list(jobStagingPrefix(id))).toEqual([]);
    // ffmpeg reads the committed rendition back from Azurite over a SAS URL Azurite verifies
    const p = await probe((await az.signGet("outputs/clip/mp4/small.mp4", 120)).url);
    expect(p.height).toBe(240);
    expect(Math.abs(p.duration - 2)).toBeLessThan(0.15);
    expect(audit).toContain("input.sha256");
    expect(audit).not.toContain(azurite.accountKey);
    expect(audit).not.toMatch(/[?&]sig=/);
  }, 300_000);

  it("runs a job in GCS: V4 signed URLs only, outputs committed, no staging left", async () => {
    const { id, audit } = await runJob("store://gcsmedia/inputs/clip.mp4", "store://gcsmedia/outputs/clip/");
    const outputs = (await gs.list("outputs/clip/")).map((o) => o.key);
    expect(outputs).toContain("outputs/clip/master.m3u8");
    expect(outputs).toContain("outputs/clip/mp4/small.mp4");
    expect(await gs.list(jobStagingPrefix(id))).toEqual([]);
    // every worker write went through a signed URL the endpoint verified
    expect(gcs.requests.some((r) => r.startsWith("PUT") && r.includes("X-Goog-Signature=") && r.includes(".framefleet-staging"))).toBe(
      true,
    );
    const p = await probe((await gs.signGet("outputs/clip/mp4/small.mp4", 120)).url);
    expect(p.height).toBe(240);
    expect(audit).not.toContain("X-Goog-Signature");
    expect(audit).not.toContain("PRIVATE KEY");
  }, 300_000);

  it("hands a task Azure and GCS grants for exactly its keys, and a SAS that Azurite refuses for any other blob", async () => {
    const grant = (await region.manager.stores.forAssignment("acme", {
      jobId: "00000000-0000-4000-8000-000000000002",
      key: "encode:small",
      attempt: 1,
      spec: { input: "store://azmedia/inputs/clip.mp4", output: "store://gcsmedia/outputs/x/" },
      deps: {},
    })) as Record<string, { kind: string; get?: Record<string, { url: string }>; write?: { prefix: string } }>;
    expect(Object.keys(grant.azmedia?.get ?? {})).toEqual(["inputs/clip.mp4"]);
    expect(grant.gcsmedia?.write?.prefix).toBe(".framefleet-staging/00000000-0000-4000-8000-000000000002/encode:small/1/");
    const json = JSON.stringify(grant);
    expect(json).not.toContain(azurite.accountKey);
    expect(json).not.toContain("PRIVATE KEY");
    const url = grant.azmedia!.get!["inputs/clip.mp4"]!.url;
    expect((await fetch(url, { headers: { range: "bytes=0-7" } })).status).toBe(206);
    // the same signature on another blob, or with write added, is refused by the emulator itself
    expect((await fetch(url.replace("inputs/clip.mp4", "outputs/clip/master.m3u8"))).status).toBe(403);
    expect((await fetch(url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "overwrite" })).status).toBe(403);
  });
});
