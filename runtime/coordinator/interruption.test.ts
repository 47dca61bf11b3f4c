// Spot interruption notices: parsing each cloud's notice, the file watcher, and
// end to end on a real region — a notice file on a coordinator's host requeues
// its work at once, long before the heartbeat timeout would.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InterruptionWatcher, parseNotice, type InterruptionNotice } from "./interruption.js";
import { Coordinator } from "./coordinator.js";
import { startTestRegion, waitFor, type TestRegion } from "../../test/support/region.js";
import { createSecretToken } from "../pki/index.js";
import { insertJoinToken } from "../manager/store/index.js";
import { resolveBinaries } from "../engine/discover.js";

describe("parseNotice", () => {
  it("reads AWS, GCP and Azure notices as the host watcher writes them", () => {
    expect(parseNotice('{"action":"terminate","time":"2026-11-26T14:00:00Z"}')).toMatchObject({
      cloud: "aws",
      action: "terminate",
      time: "2026-11-26T14:00:00Z",
    });
    expect(parseNotice('{"preempted":"TRUE"}')).toMatchObject({ cloud: "gcp", action: "preempted" });
    expect(
      parseNotice('{"DocumentIncarnation":3,"Events":[{"EventId":"x","EventType":"Preempt","NotBefore":"Thu, 26 Nov 2026 14:00:30 GMT"}]}'),
    ).toMatchObject({ cloud: "azure", action: "Preempt", time: "Thu, 26 Nov 2026 14:00:30 GMT" });
    // as components/workers/bootstrap.ts writes them: the cloud's notice plus "cloud" and "detectedAt"
    expect(
      parseNotice('{"Events":[{"EventType":"Terminate","NotBefore":"x"}],"cloud":"azure","detectedAt":"2026-11-26T14:00:00Z"}'),
    ).toMatchObject({ cloud: "azure", action: "Terminate" });
    expect(parseNotice("not json")).toMatchObject({ cloud: "unknown", action: "interrupt", raw: "not json" });
  });
});

describe("InterruptionWatcher", () => {
  it("fires once when the notice file appears, including in a directory created later", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ff-int-"));
    const file = path.join(root, "run", "interruption");
    const seen: InterruptionNotice[] = [];
    const w = new InterruptionWatcher({ file, pollMs: 50, onNotice: (n) => seen.push(n) });
    w.start();
    await new Promise((r) => setTimeout(r, 120));
    expect(seen).toHaveLength(0);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"action":"terminate","time":"2026-11-26T14:00:00Z"}');
    await waitFor("the notice", async () => seen.length > 0, 3000, 20);
    fs.writeFileSync(file, '{"action":"stop"}');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.action).toBe("terminate");
    w.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("reads the path from FRAMEFLEET_INTERRUPTION_FILE", () => {
    const before = process.env.FRAMEFLEET_INTERRUPTION_FILE;
    process.env.FRAMEFLEET_INTERRUPTION_FILE = "/tmp/somewhere/notice";
    try {
      expect(new InterruptionWatcher({ onNotice: () => {} }).file).toBe("/tmp/somewhere/notice");
    } finally {
      if (before === undefined) delete process.env.FRAMEFLEET_INTERRUPTION_FILE;
      else process.env.FRAMEFLEET_INTERRUPTION_FILE = before;
    }
  });
});

describe("a spot notice on a real region", () => {
  let region: TestRegion;
  let coordinator: Coordinator | undefined;
  let dir: string;
  beforeAll(async () => {
    // no local fleet: this test runs its own coordinator, whose "worker" only sleeps, so its task stays held
    region = await startTestRegion({ fleet: false, heartbeatTimeoutMs: 60_000 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-spot-"));
  });
  afterAll(async () => {
    await coordinator?.stop();
    await region?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("drains the host and requeues its task at once, not after the heartbeat timeout", async () => {
    const db = region.manager.db;
    const tok = createSecretToken("ffjt");
    await insertJoinToken(db, { id: tok.lookupId, hash: tok.hash, region: "local", expiresAt: new Date(Date.now() + 60_000) });
    const { ffmpegPath, ffprobePath } = await resolveBinaries();
    const noticeFile = path.join(dir, "interruption");
    coordinator = new Coordinator({
      managerAddress: region.manager.urls.grpc,
      joinAddress: region.manager.urls.join,
      stateDir: path.join(dir, "state"),
      joinToken: tok.token,
      bootstrapTrustPem: fs.readFileSync(region.trustFile, "utf8"),
      capacity: { cpuMillis: 4000, memoryMb: 4096 },
      capacityType: "spot",
      instanceType: "c7i.4xlarge",
      workRoot: path.join(dir, "work"),
      ffmpegPath,
      ffprobePath,
      worker: { command: process.execPath, args: ["-e", "process.stdin.resume(); setTimeout(() => {}, 600000)"] },
    });
    await coordinator.start();
    await coordinator.ready;
    const watcher = new InterruptionWatcher({ file: noticeFile, pollMs: 50, onNotice: (n) => coordinator!.beginDrain(n.raw) });
    watcher.start();

    const key = await region.key("acme");
    const submitted = await region.api("/v1/jobs", {
      method: "POST",
      key,
      json: {
        composition: {
          apiVersion: "framefleet/v1",
          engine: { name: "ffmpeg", version: "5.1" },
          input: { uri: "store://local/inputs/none.mp4" },
          output: { uri: "store://local/outputs/none/" },
          video: {
            renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }],
          },
          packaging: { mp4: {} },
        },
      },
    });
    expect(submitted.status).toBe(201);
    const jobId = submitted.body.id as string;
    const held = await waitFor(
      "the probe to be leased to the spot coordinator",
      async () => {
        const r = await db.query<{ id: string; attempt: number; capacity_type: string | null }>(
          "SELECT t.id, t.attempt, a.capacity_type FROM tasks t JOIN attempts a ON a.task_id = t.id AND a.attempt = t.attempt WHERE t.job_id = $1 AND t.kind = 'probe' AND t.state IN ('leased', 'running')",
          [jobId],
        );
        return r.rows[0];
      },
      20_000,
      50,
    );
    // the attempt recorded the host's capacity type at lease time
    expect(held.capacity_type).toBe("spot");

    const t0 = Date.now();
    fs.writeFileSync(noticeFile, '{"action":"terminate","time":"2026-11-26T14:02:00Z"}');
    const lost = await waitFor(
      "the attempt to be requeued",
      async () => {
        const r = await db.query<{ state: string; error: string }>(
          "SELECT state, error FROM attempts WHERE task_id = $1 AND attempt = $2",
          [held.id, held.attempt],
        );
        return r.rows[0]?.state === "lost" ? r.rows[0] : undefined;
      },
      10_000,
      25,
    );
    const elapsed = Date.now() - t0;
    expect(lost.error).toMatch(/spot interruption/);
    expect(elapsed).toBeLessThan(5000); // the heartbeat timeout is 60 s
    const task = await db.query<{ state: string; coordinator_id: string | null }>("SELECT state, coordinator_id FROM tasks WHERE id = $1", [
      held.id,
    ]);
    expect(task.rows[0]!.state).toBe("ready");
    const c = await db.query<{ state: string; interrupted_at: Date | null; interruption_notice: string }>(
      "SELECT state, interrupted_at, interruption_notice FROM coordinators WHERE id = $1",
      [coordinator.id],
    );
    expect(c.rows[0]).toMatchObject({ state: "draining" });
    expect(c.rows[0]!.interrupted_at).toBeInstanceOf(Date);
    expect(c.rows[0]!.interruption_notice).toContain("terminate");
    // a draining host gets no more work: the task stays ready with nowhere to go
    await new Promise((r) => setTimeout(r, 1500));
    const again = await db.query<{ state: string }>("SELECT state FROM tasks WHERE id = $1", [held.id]);
    expect(again.rows[0]!.state).toBe("ready");
    watcher.stop();
  });
});
