// Worker.Sign over real mutual TLS on loopback: only the attempt's own certificate,
// only under its current lease, only within the scope its spec and dependencies give it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { startTestRpc, type TestRpc } from "../../../test/support/rpc.js";
import type { Identity } from "../../pki/index.js";
import { signForTask, taskScope } from "../../storage/grants.js";
import type { UrlSigner } from "../../storage/signing.js";
import type { ObjectInfo, Store } from "../../storage/store.js";

const region = "local";
let h: TestRpc;

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
  h = await startTestRpc("sign", { sign: (task, req) => signForTask(signing, taskScope(task), req, 600) }, region);
});
afterAll(async () => {
  await h?.stop();
});

const credsFor = (identity: Identity) => h.credsFor(identity);

/** a joined coordinator holding the lease of an encode task whose input is in/master.mov */
const leased = () =>
  h.leasedTask({
    key: "encode:720p",
    kind: "encode",
    spec: { input: "store://media/in/master.mov", output: "store://media/out/show/" },
  });

function sign(creds: grpc.ChannelCredentials, req: object): Promise<{ err: grpc.ServiceError | null; requestJson?: string }> {
  const client = h.workerClient(creds);
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
