// Faults on a real region: a coordinator killed with SIGKILL mid-task, and a
// manager restarted mid-job. Real PostgreSQL, ffmpeg, certificates, processes.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { createSecretToken } from "../runtime/pki/index.js";
import { insertJoinToken } from "../runtime/manager/store/index.js";
import { tsEntry } from "../runtime/ts-entry.js";

// long enough to be caught mid-encode on two cores
const composition = (out: string) => ({
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/long.mp4" },
  output: { uri: `store://local/outputs/${out}/` },
  video: {
    renditions: [
      { name: "hq", height: 720, codec: "h264", preset: "slow", rateControl: { mode: "vbr", bitrateKbps: 3000, maxrateKbps: 4500 } },
    ],
  },
  packaging: { mp4: {} },
});

async function encodeRunning(region: TestRegion, key: string, id: string): Promise<boolean> {
  const r = await region.api(`/v1/jobs/${id}`, { key });
  const enc = r.body.tasks?.find((t: { key: string }) => t.key.startsWith("encode"));
  return enc?.state === "running" && enc.progress > 0.05;
}

async function finished(region: TestRegion, key: string, id: string, timeoutMs = 180_000) {
  return waitFor(
    "the job to finish",
    async () => {
      const r = await region.api(`/v1/jobs/${id}`, { key });
      return ["succeeded", "failed", "partial", "cancelled"].includes(r.body.state) ? r.body : undefined;
    },
    timeoutMs,
    300,
  );
}

async function attemptsOf(region: TestRegion, jobId: string, keyPrefix: string) {
  const r = await region.manager.db.query<{ attempt: number; state: string; coordinator_id: string }>(
    `SELECT a.attempt, a.state, a.coordinator_id FROM attempts a JOIN tasks t ON t.id = a.task_id
     WHERE t.job_id = $1 AND t.key LIKE $2 ORDER BY a.attempt`,
    [jobId, `${keyPrefix}%`],
  );
  return r.rows;
}

describe("a coordinator killed with SIGKILL mid-task", () => {
  let region: TestRegion;
  beforeAll(async () => {
    region = await startTestRegion({ heartbeatTimeoutMs: 3000, idleTimeoutMs: 30_000 });
    await makeTestSource(path.join(region.storeRoot, "inputs", "long.mp4"), {
      seconds: 8,
      width: 1280,
      height: 720,
      fps: 25,
      audio: false,
    });
  });
  afterAll(async () => region?.cleanup());

  it("requeues the task as a new attempt on another coordinator and completes it exactly once", async () => {
    const key = await region.key("acme");
    const sub = await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("killed") } });
    expect(sub.status).toBe(201);
    const id = sub.body.id as string;
    await waitFor("the encode to be running", () => encodeRunning(region, key, id), 120_000, 100);
    // the coordinator running the encode (the fleet may also hold one that is retiring)
    const held = await region.manager.db.query<{ coordinator_id: string }>(
      "SELECT coordinator_id FROM tasks WHERE job_id = $1 AND key LIKE 'encode%' AND state = 'running'",
      [id],
    );
    const victim = region.manager.fleet!.list().find((m) => m.coordinatorId === held.rows[0]?.coordinator_id);
    expect(victim, `no fleet coordinator runs the encode (held by ${held.rows[0]?.coordinator_id})`).toBeDefined();
    process.kill(victim!.pid!, "SIGKILL");

    const job = await finished(region, key, id);
    expect(job.state, JSON.stringify(job.error)).toBe("succeeded");
    const attempts = await attemptsOf(region, id, "encode");
    expect(attempts.filter((a) => a.state === "succeeded")).toHaveLength(1);
    expect(attempts[0]!.state).toBe("lost");
    expect(attempts[0]!.coordinator_id).toBe(victim!.coordinatorId);
    expect(attempts.at(-1)!.coordinator_id).not.toBe(victim!.coordinatorId);
    // the committed output exists once, and no attempt's staging is left behind
    const out = fs
      .readdirSync(path.join(region.storeRoot, "outputs", "killed"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".mp4"));
    expect(out).toHaveLength(1);
    const audit = await region.api(`/v1/jobs/${id}/audit`, { key });
    const succeededAttempts = audit.body.records.filter(
      (r: { kind: string; taskKey: string; data: { outcome: string } }) =>
        r.kind === "task.attempt" && r.taskKey?.startsWith("encode") && r.data.outcome === "succeeded",
    );
    expect(succeededAttempts).toHaveLength(1);
  });
});

describe("a manager restarted mid-job", () => {
  let region: TestRegion;
  let coordinator: ChildProcess | undefined;
  afterEach(() => {
    coordinator?.kill("SIGKILL");
  });
  afterAll(async () => region?.cleanup());

  it("loses nothing: the coordinator reconnects, the running worker reports to the new manager, the job completes", async () => {
    region = await startTestRegion({ fleet: false, heartbeatTimeoutMs: 20_000 });
    await makeTestSource(path.join(region.storeRoot, "inputs", "long.mp4"), {
      seconds: 8,
      width: 1280,
      height: 720,
      fps: 25,
      audio: false,
    });
    const tok = createSecretToken("ffjt");
    await insertJoinToken(region.manager.db, {
      id: tok.lookupId,
      hash: tok.hash,
      region: "local",
      expiresAt: new Date(Date.now() + 60_000),
    });
    const entry = tsEntry("coordinator/main.ts");
    const stateDir = path.join(region.dataDir, "manual-coordinator");
    coordinator = spawn(entry.command, entry.args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        FRAMEFLEET_MANAGER: region.manager.urls.grpc,
        FRAMEFLEET_JOIN: region.manager.urls.join,
        FRAMEFLEET_JOIN_TOKEN: tok.token,
        FRAMEFLEET_TRUST_FILE: region.trustFile,
        FRAMEFLEET_STATE_DIR: stateDir,
      },
    });
    const key = await region.key("acme");
    const sub = await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("restart") } });
    const id = sub.body.id as string;
    await waitFor("the encode to be running", () => encodeRunning(region, key, id), 120_000, 100);

    // the manager is down for a while as the encode goes on
    await region.restartManager({ downtimeMs: 1500 });

    const job = await finished(region, key, id);
    expect(job.state, JSON.stringify(job.error)).toBe("succeeded");
    const attempts = await attemptsOf(region, id, "encode");
    // the attempt that was running across the restart is the one that finished
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.state).toBe("succeeded");
    const jobs = await region.manager.db.query("SELECT count(*)::int AS n FROM jobs");
    expect(jobs.rows[0].n).toBe(1);
  });
});
