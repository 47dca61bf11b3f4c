// A manager replica: REST API, gRPC server, scheduler (active on one replica at
// a time), finaliser and, in the embedded region, the local fleet. Stateless
// over PostgreSQL: any number of replicas may run against one database.
import type { FastifyInstance } from "fastify";
import type { Json, PlannedTask } from "../engine/types.js";
import type { CompositionLike, CompositionValidator } from "./api/types.js";
import { buildApi } from "./api/server.js";
import { RpcServer, defaultReplicaId, type RpcPki } from "./rpc/server.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { Finalizer, type CommitFn } from "./finalize.js";
import { LocalFleet, type LocalFleetOptions } from "./fleet/local.js";
import { checkConnection, createDb, Listener, migrate, notifyAssigned, queueDepth as queueDepthQuery, type Db, type LeasedTask } from "./store/index.js";
import * as metrics from "./metrics.js";
import { storeResolver, type StoreDefinitions } from "../storage/definitions.js";

export interface ManagerConfig {
  databaseUrl: string;
  region: string;
  pki: RpcPki;
  host: string;
  httpPort: number;
  grpcPort: number;
  joinPort: number;
  /** address coordinators dial, as seen from them (local fleet, join bundles) */
  advertiseGrpc?: string;
  advertiseJoin?: string;
  stores: StoreDefinitions;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  coordinatorCertSeconds?: number;
  taskCertSeconds?: number;
  engine: {
    validateComposition: CompositionValidator<CompositionLike>;
    planJob: (composition: CompositionLike, opts: { jobId: string }) => PlannedTask[];
    commit?: CommitFn;
    compositionSchema?: import("@sinclair/typebox").TSchema;
  };
  fleet?: Omit<LocalFleetOptions, "db" | "region" | "managerAddress" | "joinAddress" | "trustPem" | "log">;
  replicaId?: string;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface Manager {
  db: Db;
  api: FastifyInstance;
  rpc: RpcServer;
  scheduler: Scheduler;
  fleet?: LocalFleet;
  urls: { http: string; grpc: string; join: string };
  stop(): Promise<void>;
}

export async function startManager(cfg: ManagerConfig): Promise<Manager> {
  const log = cfg.log ?? (() => {});
  await migrate(cfg.databaseUrl);
  const db = createDb(cfg.databaseUrl, { max: 20, applicationName: "framefleet-manager" });
  await checkConnection(db, cfg.databaseUrl);
  const replicaId = cfg.replicaId ?? defaultReplicaId();
  const resolveStore = storeResolver(cfg.stores);
  let scheduler!: Scheduler;
  let fleet: LocalFleet | undefined;

  const finalizer = new Finalizer({ db, resolveStore, commit: cfg.engine.commit, log });
  const rpc = new RpcServer({
    db, region: cfg.region, replicaId, pki: cfg.pki,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs ?? 5000,
    coordinatorCertSeconds: cfg.coordinatorCertSeconds ?? 7 * 24 * 3600,
    taskCertSeconds: cfg.taskCertSeconds ?? 24 * 3600,
    storesFor: () => cfg.stores as unknown as Json,
    onJobSettled: (jobId) => void finalizer.finalize(jobId),
    wakeScheduler: () => scheduler.wake(),
    onDelivered: () => {},
    log,
  });
  const ports = await rpc.start({ host: cfg.host, mtlsPort: cfg.grpcPort, joinPort: cfg.joinPort });
  const advertisedHost = cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host;
  const grpcAddr = cfg.advertiseGrpc ?? `${advertisedHost}:${ports.mtls}`;
  const joinAddr = cfg.advertiseJoin ?? `${advertisedHost}:${ports.join}`;

  const deliver = async (leased: LeasedTask[]) => {
    for (const l of leased) metrics.tasksPlaced.inc({ pool: "all" });
    const elsewhere = await rpc.deliver(leased);
    if (elsewhere.length > 0) {
      const coordinators = [...new Set(elsewhere.map((l) => l.coordinatorId))];
      await notifyAssigned(db, replicaId, coordinators);
    }
  };

  scheduler = new Scheduler({
    db, dbUrl: cfg.databaseUrl, deliver,
    finalizeJob: (jobId) => finalizer.finalize(jobId),
    onRequeued: (outs) => { for (const o of outs) if (o.cancelled?.length) rpc.cancel(o.cancelled, "job failed"); },
    onPass: (stats) => {
      metrics.schedulerPassSeconds.observe(stats.durationMs / 1000);
      metrics.coordinatorsConnected.set(stats.hosts.length);
      if (fleet) void fleet.onPass(stats).catch((err) => log("local fleet failed", { error: String(err) }));
    },
    heartbeatTimeoutMs: cfg.heartbeatTimeoutMs ?? 15_000,
    log,
  });

  const listener = new Listener(cfg.databaseUrl, ["ff_ready", "ff_assign", "ff_cancel"], (channel, payload) => {
    if (channel === "ff_ready") scheduler.wake();
    else if (channel === "ff_assign") {
      try {
        const p = JSON.parse(payload) as { from: string; coordinators: string[] };
        if (p.from !== replicaId) for (const c of p.coordinators) void rpc.deliverPending(c);
      } catch { /* malformed payload: ignore */ }
    } else if (channel === "ff_cancel") {
      try {
        rpc.cancel(JSON.parse(payload) as { taskId: string; attempt: number; epoch: number; coordinatorId: string }[], "cancelled");
      } catch { /* ignore */ }
    }
  }, () => scheduler.wake());
  await listener.start();

  const api = await buildApi({
    db, region: cfg.region,
    validateComposition: cfg.engine.validateComposition,
    planJob: cfg.engine.planJob,
    storesFor: () => Object.keys(cfg.stores),
    onJobSubmitted: () => scheduler.wake(),
    isReady: async () => true,
    compositionSchema: cfg.engine.compositionSchema,
  });
  try {
    await api.listen({ host: cfg.host, port: cfg.httpPort });
  } catch (err) {
    await rpc.stop();
    await listener.stop();
    await db.end();
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") throw new Error(`REST port ${cfg.host}:${cfg.httpPort} is already in use; choose another with --http-port`);
    throw err;
  }
  const httpPort = (api.server.address() as { port: number }).port;

  if (cfg.fleet) {
    fleet = new LocalFleet({ ...cfg.fleet, db, region: cfg.region, managerAddress: grpcAddr, joinAddress: joinAddr, trustPem: cfg.pki.trustPem, log });
  }
  const depthTimer = setInterval(() => {
    void queueDepthQuery(db).then((rows) => { for (const r of rows) metrics.queueDepth.set({ pool: r.pool }, r.ready); }).catch(() => {});
  }, 5000);
  depthTimer.unref();
  scheduler.start();

  return {
    db, api, rpc, scheduler, fleet,
    urls: { http: `http://${advertisedHost}:${httpPort}`, grpc: grpcAddr, join: joinAddr },
    async stop() {
      clearInterval(depthTimer);
      await scheduler.stop();
      await fleet?.stop();
      await api.close();
      await rpc.stop();
      await listener.stop();
      await db.end();
    },
  };
}
