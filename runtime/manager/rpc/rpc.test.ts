// The gRPC server over real TLS on loopback, with certificates from the real CA.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { startTestRpc, type TestRpc } from "../../../test/support/rpc.js";
import type { ManagerMessage__Output } from "../../proto/index.js";
import { createRootCA, createIntermediateCA, createSecretToken, generateKeyAndCsr } from "../../pki/index.js";
import { listJobTasks, type Db } from "../store/index.js";

const region = "local";
const settled: string[] = [];
let h: TestRpc;
let db: Db;

beforeAll(async () => {
  h = await startTestRpc("rpc", { onJobSettled: (id) => settled.push(id) }, region);
  db = h.db;
});
afterAll(async () => {
  await h?.stop();
});

const credsFor: TestRpc["credsFor"] = (identity, opts) => h.credsFor(identity, opts);
const coordinatorClient: TestRpc["coordinatorClient"] = (creds, port) => h.coordinatorClient(creds, port);
const workerClient: TestRpc["workerClient"] = (creds) => h.workerClient(creds);
const joinWith: TestRpc["joinWith"] = (token) => h.joinWith(token);
const newToken: TestRpc["newToken"] = (ms) => h.newToken(ms);

/** Opens a coordinator stream, sends hello, and resolves with the first message or the error that ended it. */
function openStream(creds: grpc.ChannelCredentials): Promise<{ msg?: ManagerMessage__Output; err?: grpc.ServiceError; close: () => void }> {
  const client = coordinatorClient(creds);
  const stream = client.Connect();
  return new Promise((resolve) => {
    const close = () => {
      stream.cancel();
      client.close();
    };
    stream.on("data", (msg: ManagerMessage__Output) => resolve({ msg, close }));
    stream.on("error", (err: grpc.ServiceError) => resolve({ err, close }));
    stream.write({
      hello: {
        hostname: "h",
        capacity: { cpuMillis: 2000, memoryMb: "2048", gpus: 0, engines: [{ name: "ffmpeg", version: "5.1.9" }] },
        running: [],
      },
    });
  });
}

describe("join tokens", () => {
  it("admits a host once with a fresh token and issues a coordinator certificate for its CSR", async () => {
    const token = await newToken();
    const r = await joinWith(token);
    expect(r.coordinatorId).toMatch(/^c-[0-9a-f]{12}$/);
    expect(r.chainPem).toContain("BEGIN CERTIFICATE");
    await expect(joinWith(token)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringMatching(/already used/),
    });
  });

  it("refuses an expired token, an unknown one and a malformed one", async () => {
    const expired = await newToken(-1000);
    await expect(joinWith(expired)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/expired/) });
    await expect(joinWith(createSecretToken("ffjt").token)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringMatching(/not valid/),
    });
    await expect(joinWith("hello")).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringMatching(/malformed/),
    });
  });
});

describe("mutual TLS on the coordinator stream", () => {
  it("accepts a coordinator certificate from this region's CA", async () => {
    const { coordinatorId } = await joinWith(await newToken());
    const r = await openStream(credsFor({ kind: "coordinator", region, id: coordinatorId }));
    expect(r.err).toBeUndefined();
    expect(r.msg?.welcome?.coordinatorId).toBe(coordinatorId);
    r.close();
  });

  it("refuses a client with no certificate", async () => {
    const r = await openStream(grpc.credentials.createSsl(Buffer.from(h.pki.trustPem)));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    r.close();
  });

  it("refuses a certificate signed by another CA", async () => {
    const otherRoot = createRootCA({ commonName: "evil root" });
    const otherInt = createIntermediateCA(otherRoot, { region });
    const r = await openStream(credsFor({ kind: "coordinator", region, id: "c-000000000001" }, { ca: otherInt }));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    r.close();
  });

  it("refuses an expired certificate", async () => {
    const r = await openStream(
      credsFor({ kind: "coordinator", region, id: "c-000000000002" }, { notBefore: new Date(Date.now() - 7200_000), validitySeconds: 60 }),
    );
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    r.close();
  });

  it("refuses a task certificate on the coordinator stream", async () => {
    const r = await openStream(credsFor({ kind: "task", region, taskId: "00000000-0000-0000-0000-000000000000", attempt: 1 }));
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    r.close();
  });

  it("refuses a coordinator stream on the join port (no client certificate there)", async () => {
    const client = coordinatorClient(grpc.credentials.createSsl(Buffer.from(h.pki.trustPem)), h.rpc.ports.join);
    const stream = client.Connect();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on("error", resolve);
      stream.on("data", () => {});
      stream.write({ hello: {} });
    });
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    client.close();
  });
});

describe("worker reports", () => {
  const leasedTask = () => h.leasedTask();

  function report(creds: grpc.ChannelCredentials, messages: object[]): Promise<{ err: grpc.ServiceError | null; accepted?: boolean }> {
    const client = workerClient(creds);
    return new Promise((resolve) => {
      const call = client.Report((err, ack) => {
        client.close();
        resolve({ err, accepted: ack?.accepted });
      });
      call.on("error", () => {});
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  it("accepts the task's own worker and settles the job", async () => {
    const { jobId, lease } = await leasedTask();
    const creds = credsFor({ kind: "task", region, taskId: lease.id, attempt: lease.attempt });
    const r = await report(creds, [
      { attach: { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) } },
      { progress: { fraction: 0.5 } },
      { audit: { kind: "ffmpeg.argv", dataJson: JSON.stringify(["ffmpeg", "-i", "x"]) } },
      { result: { outcome: "SUCCEEDED", resultJson: "{}" } },
    ]);
    expect(r.err).toBeNull();
    expect(r.accepted).toBe(true);
    expect((await listJobTasks(db, jobId))[0]!.state).toBe("succeeded");
    expect(settled).toContain(jobId);
  });

  it("writes a burst of audit records in the order sent, and none once the lease has moved on", async () => {
    const { jobId, lease } = await leasedTask();
    const creds = credsFor({ kind: "task", region, taskId: lease.id, attempt: lease.attempt });
    const attach = { attach: { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) } };
    const burst = Array.from({ length: 12 }, (_, i) => ({ audit: { kind: "output.sha256", dataJson: JSON.stringify({ n: i }) } }));
    const r = await report(creds, [attach, ...burst, { result: { outcome: "SUCCEEDED", resultJson: "{}" } }]);
    expect(r.err).toBeNull();
    const rows = await db.query<{ kind: string; n: number; attempt: number }>(
      "SELECT kind, (data->>'n')::int AS n, attempt FROM audit WHERE job_id = $1 AND kind = 'output.sha256' ORDER BY id",
      [jobId],
    );
    expect(rows.rows.map((x) => x.n)).toEqual(burst.map((_, i) => i));
    expect(rows.rows.every((x) => x.attempt === lease.attempt)).toBe(true);

    // the same worker, after its lease was taken away (its host was declared lost)
    const other = await leasedTask();
    const otherCreds = credsFor({ kind: "task", region, taskId: other.lease.id, attempt: other.lease.attempt });
    const otherAttach = { attach: { taskId: other.lease.id, attempt: other.lease.attempt, epoch: String(other.lease.epoch) } };
    const client = workerClient(otherCreds);
    const refused = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.Report((err) => {
        client.close();
        resolve(err);
      });
      call.on("error", () => {});
      call.write(otherAttach);
      call.write({ progress: { fraction: 0.1 } });
      // the attach is written once the progress is: move the lease on, then send the records
      void waitForStarted(other.lease.id).then(async () => {
        await db.query("UPDATE tasks SET state = 'ready', epoch = epoch + 1, coordinator_id = NULL WHERE id = $1", [other.lease.id]);
        for (const m of burst) call.write(m);
        call.end();
      });
    });
    expect(refused?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused?.details).toMatch(/stale lease epoch/);
    const none = await db.query("SELECT 1 FROM audit WHERE task_id = $1 AND kind = 'output.sha256'", [other.lease.id]);
    expect(none.rowCount).toBe(0);
  });

  it("refuses a coordinator's certificate reporting on a task", async () => {
    const { lease, coordinatorId } = await leasedTask();
    const r = await report(credsFor({ kind: "coordinator", region, id: coordinatorId }), [
      { attach: { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) } },
      { result: { outcome: "SUCCEEDED", resultJson: "{}" } },
    ]);
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await currentState(lease.id)).toBe("leased");
  });

  it("refuses a worker reporting on another task than its certificate names", async () => {
    const a = await leasedTask();
    const b = await leasedTask();
    const r = await report(credsFor({ kind: "task", region, taskId: a.lease.id, attempt: a.lease.attempt }), [
      { attach: { taskId: b.lease.id, attempt: b.lease.attempt, epoch: String(b.lease.epoch) } },
      { result: { outcome: "SUCCEEDED", resultJson: "{}" } },
    ]);
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await currentState(b.lease.id)).toBe("leased");
  });

  it("refuses a report carrying a stale lease epoch", async () => {
    const { lease } = await leasedTask();
    const r = await report(credsFor({ kind: "task", region, taskId: lease.id, attempt: lease.attempt }), [
      { attach: { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch - 1) } },
      { result: { outcome: "SUCCEEDED", resultJson: "{}" } },
    ]);
    expect(r.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.err?.details).toMatch(/stale lease epoch/);
    expect(await currentState(lease.id)).toBe("leased");
  });

  it("signs a task certificate only for the coordinator holding the lease", async () => {
    const { lease, coordinatorId } = await leasedTask();
    const other = await joinWith(await newToken());
    const ask = async (id: string) => {
      const client = coordinatorClient(credsFor({ kind: "coordinator", region, id }));
      const stream = client.Connect();
      const { csrPem } = generateKeyAndCsr({ commonName: "w" });
      const cert = await new Promise<ManagerMessage__Output["certificate"]>((resolve) => {
        stream.on("data", (m: ManagerMessage__Output) => {
          if (m.welcome)
            stream.write({
              certificateRequest: { task: { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) }, csrPem },
            });
          if (m.certificate) resolve(m.certificate);
        });
        stream.on("error", () => {});
        stream.write({ hello: { hostname: "h", capacity: { cpuMillis: 1000, memoryMb: "1000", gpus: 0, engines: [] }, running: [] } });
      });
      stream.cancel();
      client.close();
      return cert;
    };
    const good = await ask(coordinatorId);
    expect(good?.error).toBe("");
    expect(good?.certPem).toContain("BEGIN CERTIFICATE");
    const bad = await ask(other.coordinatorId);
    expect(bad?.error).toMatch(/no current lease/);
  });
});

async function currentState(taskId: string): Promise<string> {
  const r = await db.query<{ state: string }>("SELECT state FROM tasks WHERE id = $1", [taskId]);
  return r.rows[0]!.state;
}

async function waitForStarted(taskId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await currentState(taskId)) === "running") return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`task ${taskId} never started`);
}
