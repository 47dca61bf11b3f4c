// The manager's gRPC server on loopback with real mutual TLS and a real
// database, and the clients' side of it, for the tests of its services
// (runtime/manager/rpc): one harness instead of one per test file.
import * as grpc from "@grpc/grpc-js";
import { createTestDatabase } from "./db.js";
import { testRegionPki } from "./pki.js";
import { loadProto } from "../../runtime/proto/index.js";
import type { CoordinatorClient, WorkerClient } from "../../runtime/proto/index.js";
import { createSecretToken, generateKeyAndCsr, issueKeyAndCertificate, type Identity } from "../../runtime/pki/index.js";
import {
  createDb,
  insertJob,
  insertJoinToken,
  leaseTasks,
  listJobTasks,
  markConnected,
  type Db,
} from "../../runtime/manager/store/index.js";
import type { PlannedTask } from "../../runtime/engine/types.js";
import { RpcServer, type RpcDeps } from "../../runtime/manager/rpc/server.js";

const proto = loadProto().framefleet.v1;

export interface TestRpc {
  region: string;
  pki: ReturnType<typeof testRegionPki>["pki"];
  db: Db;
  rpc: RpcServer;
  /** a client certificate for `identity`, issued by the region's intermediate (or another CA) */
  credsFor(
    identity: Identity,
    opts?: { notBefore?: Date; validitySeconds?: number; ca?: ReturnType<typeof testRegionPki>["pki"]["intermediate"]; trust?: string },
  ): grpc.ChannelCredentials;
  coordinatorClient(creds: grpc.ChannelCredentials, port?: number): CoordinatorClient;
  workerClient(creds: grpc.ChannelCredentials): WorkerClient;
  /** a fresh single-use join token in the database */
  newToken(expiresInMs?: number): Promise<string>;
  /** Coordinator.Join over the join port (server-authenticated TLS only) */
  joinWith(token: string): Promise<{ coordinatorId: string; chainPem: string }>;
  /** a joined, connected coordinator holding the lease of a one-task job's task */
  leasedTask(
    task?: Partial<PlannedTask>,
  ): Promise<{ jobId: string; coordinatorId: string; lease: Awaited<ReturnType<typeof leaseTasks>>[number] }>;
  stop(): Promise<void>;
}

export async function startTestRpc(
  label: string,
  deps: Partial<Omit<RpcDeps, "db" | "region" | "pki">> = {},
  region = "local",
): Promise<TestRpc> {
  const { pki, rpcPki } = testRegionPki(region);
  const t = await createTestDatabase(label);
  const db = createDb(t.url);
  const rpc = new RpcServer({
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
    ...deps,
  });
  await rpc.start({ host: "127.0.0.1", mtlsPort: 0, joinPort: 0 });

  const coordinatorClient = (creds: grpc.ChannelCredentials, port = rpc.ports.mtls) =>
    new proto.Coordinator(`127.0.0.1:${port}`, creds) as unknown as CoordinatorClient;
  const newToken = async (expiresInMs = 60_000) => {
    const tok = createSecretToken("ffjt");
    await insertJoinToken(db, { id: tok.lookupId, hash: tok.hash, region, expiresAt: new Date(Date.now() + expiresInMs) });
    return tok.token;
  };
  const joinWith = async (token: string) => {
    const { csrPem } = generateKeyAndCsr({ commonName: "host" });
    const client = coordinatorClient(grpc.credentials.createSsl(Buffer.from(pki.trustPem)), rpc.ports.join);
    try {
      return await new Promise<{ coordinatorId: string; chainPem: string }>((resolve, reject) =>
        client.Join({ token, csrPem, hostname: "host" }, (err, r) => (err ? reject(err) : resolve(r!))),
      );
    } finally {
      client.close();
    }
  };
  return {
    region,
    pki,
    db,
    rpc,
    credsFor(identity, opts = {}) {
      const leaf = issueKeyAndCertificate(opts.ca ?? pki.intermediate, {
        identity,
        validitySeconds: opts.validitySeconds ?? 600,
        notBefore: opts.notBefore,
      });
      return grpc.credentials.createSsl(Buffer.from(opts.trust ?? pki.trustPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.chainPem));
    },
    coordinatorClient,
    workerClient: (creds) => new proto.Worker(`127.0.0.1:${rpc.ports.mtls}`, creds) as unknown as WorkerClient,
    newToken,
    joinWith,
    async leasedTask(task = {}) {
      const { coordinatorId } = await joinWith(await newToken());
      const { job } = await insertJob(db, {
        tenant: "acme",
        priority: 50,
        composition: {},
        engine: { name: "ffmpeg", version: "5.1" },
        tasks: [
          {
            key: "t",
            kind: "noop",
            pool: "encode",
            requirements: { cpuMillis: 100, memoryMb: 10, gpus: 0 },
            dependsOn: [],
            maxAttempts: 2,
            spec: { ms: 0 },
            ...task,
          },
        ],
      });
      const mine = (await listJobTasks(db, job.id))[0]!;
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
      const [lease] = await leaseTasks(db, [{ taskId: mine.id, coordinatorId }]);
      return { jobId: job.id, coordinatorId, lease: lease! };
    },
    async stop() {
      await rpc.stop();
      await db.end();
      await t.drop();
    },
  };
}
