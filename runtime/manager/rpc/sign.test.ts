// Worker.Sign over real mutual TLS on loopback: only the attempt's own certificate,
// only under its current lease, only within the scope its spec and dependencies give it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { createTestDatabase } from "../../../test/support/db.js";
import { testRegionPki } from "../../../test/support/pki.js";
import { loadProto } from "../../proto/index.js";
import type { WorkerClient } from "../../proto/index.js";
import { createSecretToken, generateKeyAndCsr, issueKeyAndCertificate, type Identity } from "../../pki/index.js";
import { createDb, insertJob, insertJoinToken, leaseTasks, markConnected, listJobTasks, type Db } from "../store/index.js";
import { signForTask, taskScope } from "../../storage/grants.js";
import type { UrlSigner } from "../../storage/signing.js";
import type { ObjectInfo, Store } from "../../storage/store.js";
import { RpcServer } from "./server.js";

const region = "local";
const { pki, rpcPki } = testRegionPki(region);
const proto = loadProto().framefleet.v1;
let db: Db;
let drop: () => Promise<void>;
let rpc: RpcServer;

/** a signing store that only makes URLs (what a cloud store signs is tested against the servers) */
const signing: Store & UrlSigner = {
  name: "media",
  localPath: () => undefined,
  stat: async () => undefined,
  read: async () => {
    throw new Error("no");
  },
  write: async (key: string) => ({ key, size: 0, modified: new Date() }) as ObjectInfo,
  list: async () => [],
  copyPrefix: async () => 0,
  deletePrefix: async () => 0,
  signGet: async (key, s) => ({
    method: "GET",
    url: `https://bucket.example/${key}?sig=get`,
    expires: new Date(Date.now() + s * 1000).toISOString(),
  }),
  signPut: async (key, s) => ({
    method: "PUT",
    url: `https://bucket.example/${key}?sig=put`,
    expires: new Date(Date.now() + s * 1000).toISOString(),
  }),
  createMultipart: async () => "upload-1",
  signPart: async (key, id, n, s) => ({
    method: "PUT",
    url: `https://bucket.example/${key}?uploadId=${id}&partNumber=${n}`,
    expires: new Date(Date.now() + s * 1000).toISOString(),
  }),
  completeMultipart: async () => {},
  abortMultipart: async () => {},
};

beforeAll(async () => {
  const t = await createTestDatabase("sign");
  drop = t.drop;
  db = createDb(t.url);
  rpc = new RpcServer({
    db,
    region,
    replicaId: "r1",
    pki: rpcPki,
    heartbeatIntervalMs: 1000,
    coordinatorCertSeconds: 3600,
    taskCertSeconds: 600,
    storesFor: () => ({}),
    onJobSettled: () => {},
    wakeScheduler: () => {},
    sign: (task, req) => signForTask(signing, taskScope(task), req, 600),
  });
  await rpc.start({ host: "127.0.0.1", mtlsPort: 0, joinPort: 0 });
});
afterAll(async () => {
  await rpc.stop();
  await db.end();
  await drop();
});

function credsFor(identity: Identity) {
  const leaf = issueKeyAndCertificate(pki.intermediate, { identity, validitySeconds: 600 });
  return grpc.credentials.createSsl(Buffer.from(pki.trustPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.chainPem));
}

async function leased() {
  const t = createSecretToken("ffjt");
  await insertJoinToken(db, { id: t.lookupId, hash: t.hash, region, expiresAt: new Date(Date.now() + 60_000) });
  const client = new proto.Coordinator(
    `127.0.0.1:${rpc.ports.join}`,
    grpc.credentials.createSsl(Buffer.from(pki.trustPem)),
  ) as unknown as import("../../proto/index.js").CoordinatorClient;
  const { coordinatorId } = await new Promise<{ coordinatorId: string }>((resolve, reject) =>
    client.Join({ token: t.token, csrPem: generateKeyAndCsr({ commonName: "h" }).csrPem, hostname: "h" }, (err, r) =>
      err ? reject(err) : resolve(r!),
    ),
  );
  client.close();
  const { job } = await insertJob(db, {
    tenant: "acme",
    priority: 50,
    composition: {},
    engine: { name: "ffmpeg", version: "5.1" },
    tasks: [
      {
        key: "encode:720p",
        kind: "encode",
        pool: "encode",
        requirements: { cpuMillis: 100, memoryMb: 10, gpus: 0 },
        dependsOn: [],
        maxAttempts: 2,
        spec: { input: "store://media/in/master.mov", output: "store://media/out/show/" },
      },
    ],
  });
  const task = (await listJobTasks(db, job.id))[0]!;
  // leases go only to coordinators that are connected
  await markConnected(db, coordinatorId, "r1", "h", {
    cpuMillis: 2000,
    memoryMb: 2048,
    gpus: 0,
    engines: [],
    pools: [],
    capacityType: "local",
    instanceType: "",
    detail: {},
  });
  const [lease] = await leaseTasks(db, [{ taskId: task.id, coordinatorId }]);
  return { jobId: job.id, coordinatorId, lease: lease! };
}

function sign(creds: grpc.ChannelCredentials, req: object): Promise<{ err: grpc.ServiceError | null; requestJson?: string }> {
  const client = new proto.Worker(`127.0.0.1:${rpc.ports.mtls}`, creds) as unknown as WorkerClient;
  return new Promise((resolve) =>
    client.Sign(req, (err, r) => {
      client.close();
      resolve({ err, requestJson: r?.requestJson });
    }),
  );
}

describe("Worker.Sign", () => {
  it("signs a write under the attempt's staging prefix and a read of its input, for its own certificate", async () => {
    const { jobId, lease } = await leased();
    const creds = credsFor({ kind: "task", region, taskId: lease.id, attempt: lease.attempt });
    const task = { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) };
    const put = await sign(creds, {
      task,
      store: "media",
      op: "put",
      key: `.framefleet-staging/${jobId}/encode:720p/${lease.attempt}/video.mp4`,
    });
    expect(put.err).toBeNull();
    expect(JSON.parse(put.requestJson!)).toMatchObject({ method: "PUT" });
    const get = await sign(creds, { task, store: "media", op: "get", key: "in/master.mov" });
    expect(get.err).toBeNull();
  });

  it("refuses keys outside the scope: other objects, final outputs, other attempts, traversal", async () => {
    const { jobId, lease } = await leased();
    const creds = credsFor({ kind: "task", region, taskId: lease.id, attempt: lease.attempt });
    const task = { taskId: lease.id, attempt: lease.attempt, epoch: String(lease.epoch) };
    for (const [op, key] of [
      ["get", "in/other.mov"],
      ["put", "out/show/master.m3u8"],
      ["put", "in/master.mov"],
      ["put", `.framefleet-staging/${jobId}/encode:720p/${lease.attempt + 1}/video.mp4`],
      ["put", `.framefleet-staging/${jobId}/encode:720p/${lease.attempt}/../../package/1/x`],
      ["put", `/.framefleet-staging/${jobId}/encode:720p/${lease.attempt}/x`],
      ["delete", `.framefleet-staging/${jobId}/encode:720p/${lease.attempt}/x`],
    ] as const) {
      const r = await sign(creds, { task, store: "media", op, key });
      expect(r.err?.code, `${op} ${key}`).toBe(grpc.status.PERMISSION_DENIED);
    }
  });

  it("refuses another task's attempt, a coordinator's certificate and a stale epoch", async () => {
    const a = await leased();
    const b = await leased();
    const key = `.framefleet-staging/${b.jobId}/encode:720p/${b.lease.attempt}/video.mp4`;
    const other = await sign(credsFor({ kind: "task", region, taskId: a.lease.id, attempt: a.lease.attempt }), {
      task: { taskId: b.lease.id, attempt: b.lease.attempt, epoch: String(b.lease.epoch) },
      store: "media",
      op: "put",
      key,
    });
    expect(other.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    const coord = await sign(credsFor({ kind: "coordinator", region, id: b.coordinatorId }), {
      task: { taskId: b.lease.id, attempt: b.lease.attempt, epoch: String(b.lease.epoch) },
      store: "media",
      op: "put",
      key,
    });
    expect(coord.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    const stale = await sign(credsFor({ kind: "task", region, taskId: b.lease.id, attempt: b.lease.attempt }), {
      task: { taskId: b.lease.id, attempt: b.lease.attempt, epoch: String(b.lease.epoch - 1) },
      store: "media",
      op: "put",
      key,
    });
    expect(stale.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
  });
});
