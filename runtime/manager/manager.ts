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
import { Autoscaler, type AutoscalerOptions } from "./autoscaler/autoscaler.js";
import { onDemandTaskPools } from "./autoscaler/policy.js";
import {
  checkConnection,
  createDb,
  Listener,
  migrate,
  notifyAssigned,
  queueDepth as queueDepthQuery,
  type Db,
  type LeasedTask,
} from "./store/index.js";
import * as metrics from "./metrics.js";
import { storeFromDefinition, storeResolver, type StoreDefinitions } from "../storage/definitions.js";
import { applyBucketRole } from "../storage/roles.js";
import type { S3Store } from "../storage/s3.js";
import { TenantStores } from "./tenant-stores.js";
import { cleanupOrphanedStaging, pollWatchFolders } from "./storage-sweep.js";
import { EventBus } from "./events/bus.js";
import { WebhookWorker, type WebhookSettings } from "./webhooks/worker.js";
import { registerEventRoutes } from "./api/events.js";
import { registerWebhookRoutes } from "./api/webhooks.js";
import { registerConsoleRoutes } from "./api/console.js";
import { RetentionPruner, type RetentionSettings } from "./events/retention.js";
import { FleetCostMeter } from "./autoscaler/metrics.js";
import { fleetProviderFromConfig } from "./fleet/select.js";
import type { FleetProvider } from "./fleet/provider.js";

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
  /** how long a task's presigned store requests stay valid (default: the task certificate's lifetime, at most 7 days) */
  storeGrantSeconds?: number;
  /** watch-folder polling and orphaned-staging cleanup period (default 15 s; 0 disables) */
  storageSweepMs?: number;
  /** SNS notifications: which certificate and subscribe URLs may be fetched (default: https://sns.<region>.amazonaws.com only) */
  snsUrlAllowed?(url: string): boolean;
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
  /** a cloud fleet (aws | gcp | azure | simulated provider) scaled by the autoscaler on the scheduling leader */
  autoscaler?: Omit<AutoscalerOptions, "db" | "drain" | "log" | "provider"> & {
    provider?: FleetProvider;
    /** the region's `fleet` settings (manager.json), from which the provider is built when none is given */
    fleet?: unknown;
  };
  /** the event bus's safety poll, for a lost notification (default 1 s); retention of events and the webhook delivery log */
  events?: { pollMs?: number; retention?: RetentionSettings };
  /** webhook delivery; `allowPrivateAddresses` is the operator's allowance for receivers on private networks */
  webhooks?: WebhookSettings;
  /** the built console served at / (default console/dist) */
  consoleDir?: string;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface Manager {
  db: Db;
  /** every tenant's stores (shared + registered) and their task grants */
  stores: TenantStores;
  /** runs the watch-folder poll and the orphaned-staging cleanup now */
  storageSweep(): Promise<void>;
  api: FastifyInstance;
  rpc: RpcServer;
  scheduler: Scheduler;
  fleet?: LocalFleet;
  bus: EventBus;
  webhooks: WebhookWorker;
  /** outbox and delivery-log retention (runs on the scheduling leader) */
  pruner: RetentionPruner;
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
  const tenantStores = new TenantStores(db, cfg.stores, {
    grantSeconds: cfg.storeGrantSeconds ?? Math.min(cfg.taskCertSeconds ?? 24 * 3600, 7 * 24 * 3600),
  });
  let fleet: LocalFleet | undefined;
  let autoscaler: Autoscaler | undefined;
  let autoscalerProvider: FleetProvider | undefined;

  const finalizer = new Finalizer({
    db,
    resolveStore,
    resolverFor: (tenant) => tenantStores.resolver(tenant),
    commit: cfg.engine.commit,
    log,
  });
  const rpc = new RpcServer({
    db,
    region: cfg.region,
    replicaId,
    pki: cfg.pki,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs ?? 5000,
    coordinatorCertSeconds: cfg.coordinatorCertSeconds ?? 7 * 24 * 3600,
    taskCertSeconds: cfg.taskCertSeconds ?? 24 * 3600,
    storesFor: (tenant, a) =>
      a
        ? tenantStores.forAssignment(tenant, { jobId: a.jobId, key: a.key, attempt: a.attempt, spec: a.spec, deps: a.deps })
        : (cfg.stores as unknown as Json),
    sign: (task, req) => tenantStores.sign(task.tenant, task, req),
    onJobSettled: (jobId) => void finalizer.finalize(jobId),
    wakeScheduler: () => scheduler.wake(),
    log,
  });
  const ports = await rpc.start({ host: cfg.host, mtlsPort: cfg.grpcPort, joinPort: cfg.joinPort });
  const advertisedHost = cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host;
  const grpcAddr = cfg.advertiseGrpc ?? `${advertisedHost}:${ports.mtls}`;
  const joinAddr = cfg.advertiseJoin ?? `${advertisedHost}:${ports.join}`;

  const deliver = async (leased: LeasedTask[]) => {
    metrics.tasksPlaced.inc({ pool: "all" }, leased.length);
    const elsewhere = await rpc.deliver(leased);
    if (elsewhere.length > 0) {
      const coordinators = [...new Set(elsewhere.map((l) => l.coordinatorId))];
      await notifyAssigned(db, replicaId, coordinators);
    }
  };

  const scheduler: Scheduler = new Scheduler({
    db,
    dbUrl: cfg.databaseUrl,
    deliver,
    finalizeJob: (jobId) => finalizer.finalize(jobId),
    onRequeued: (outs) => {
      for (const o of outs) if (o.cancelled?.length) rpc.cancel(o.cancelled, "job failed");
    },
    onPass: (stats) => {
      metrics.schedulerPassSeconds.observe(stats.durationMs / 1000);
      metrics.coordinatorsConnected.set(stats.hosts.length);
      if (fleet) void fleet.onPass(stats).catch((err) => log("local fleet failed", { error: String(err) }));
      autoscaler?.onPass(stats);
    },
    heartbeatTimeoutMs: cfg.heartbeatTimeoutMs ?? 15_000,
    longTaskSeconds: cfg.autoscaler?.policy?.spotMaxPredictedSeconds,
    // the autoscaler launches on-demand hosts for long tasks: they wait the boot for one rather than risk hours on spot
    longTasksOnDemandOnly: onDemandTaskPools(cfg.autoscaler?.groups ?? []),
    log,
  });

  const listener = new Listener(
    cfg.databaseUrl,
    ["ff_ready", "ff_assign", "ff_cancel"],
    (channel, payload) => {
      if (channel === "ff_ready") scheduler.wake();
      else if (channel === "ff_assign") {
        try {
          const p = JSON.parse(payload) as { from: string; coordinators: string[] };
          if (p.from !== replicaId) for (const c of p.coordinators) void rpc.deliverPending(c);
        } catch {
          /* malformed payload: ignore */
        }
      } else if (channel === "ff_cancel") {
        try {
          rpc.cancel(JSON.parse(payload) as { taskId: string; attempt: number; epoch: number; coordinatorId: string }[], "cancelled");
        } catch {
          /* ignore */
        }
      }
    },
    () => scheduler.wake(),
  );
  await listener.start();
  const bus = new EventBus({ db, databaseUrl: cfg.databaseUrl, pollMs: cfg.events?.pollMs, log });
  await bus.start();
  const webhooks = new WebhookWorker({ ...cfg.webhooks, db, bus, log });

  const api = await buildApi({
    db,
    region: cfg.region,
    validateComposition: cfg.engine.validateComposition,
    planJob: cfg.engine.planJob,
    storesFor: (tenant) => tenantStores.names(tenant),
    storeRegistry: {
      builtinStores: () => Object.fromEntries(Object.entries(cfg.stores).map(([n, d]) => [n, { kind: d.kind }])),
      applyRole: async (name, def, role) => {
        const store = storeFromDefinition(name, def) as S3Store;
        try {
          return await applyBucketRole(store, role);
        } finally {
          store.destroy();
        }
      },
      validateTemplate: (template, input, output) => {
        const r = cfg.engine.validateComposition({
          ...(template as object),
          input: { ...((template as { input?: object })?.input ?? {}), uri: input },
          output: { uri: output },
        });
        return r.ok ? [] : r.errors;
      },
    },
    watchNotify: {
      definitionsFor: (tenant) => tenantStores.definitions(tenant),
      resolverFor: (tenant) => tenantStores.resolver(tenant),
      storesFor: (t) => tenantStores.names(t),
      validateComposition: cfg.engine.validateComposition,
      planJob: cfg.engine.planJob,
      onJobSubmitted: () => scheduler.wake(),
      sns: { urlAllowed: cfg.snsUrlAllowed },
      log,
    },
    onJobSubmitted: () => scheduler.wake(),
    isReady: async () => true,
    compositionSchema: cfg.engine.compositionSchema,
  });
  await registerEventRoutes(api, { db, bus });
  registerWebhookRoutes(api, { db, worker: webhooks, allowPrivateAddresses: webhooks.settings.allowPrivateAddresses });
  await registerConsoleRoutes(api, { db, resolverFor: (tenant) => tenantStores.resolver(tenant), consoleDir: cfg.consoleDir });
  try {
    await api.listen({ host: cfg.host, port: cfg.httpPort });
  } catch (err) {
    await rpc.stop();
    await bus.stop();
    await listener.stop();
    await db.end();
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new Error(`REST port ${cfg.host}:${cfg.httpPort} is already in use; choose another with --http-port`);
    throw err;
  }
  const httpPort = (api.server.address() as { port: number }).port;

  if (cfg.autoscaler) {
    const provider = cfg.autoscaler.provider ?? fleetProviderFromConfig(cfg.autoscaler.fleet, { groups: cfg.autoscaler.groups });
    autoscalerProvider = provider;
    autoscaler = new Autoscaler({ ...cfg.autoscaler, provider, db, drain: (id, reason) => rpc.drain(id, reason), log });
  }
  if (cfg.fleet) {
    fleet = new LocalFleet({
      ...cfg.fleet,
      db,
      region: cfg.region,
      managerAddress: grpcAddr,
      joinAddress: joinAddr,
      trustPem: cfg.pki.trustPem,
      log,
    });
  }
  const depthTimer = setInterval(() => {
    void queueDepthQuery(db)
      .then((rows) => {
        for (const r of rows) metrics.queueDepth.set({ pool: r.pool }, r.ready);
      })
      .catch(() => {});
  }, 5000);
  depthTimer.unref();
  // storage duties (any replica may run them; both are idempotent): watch folders, orphaned staging
  let sweeping = false;
  const storageSweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const resolverFor = (tenant: string) => tenantStores.resolver(tenant);
      await pollWatchFolders({
        db,
        resolverFor,
        storesFor: (t) => tenantStores.names(t),
        validateComposition: cfg.engine.validateComposition,
        planJob: cfg.engine.planJob,
        onJobSubmitted: () => scheduler.wake(),
        log,
      });
      await cleanupOrphanedStaging({ db, resolverFor, log });
    } catch (err) {
      log("storage sweep failed", { error: String(err) });
    } finally {
      sweeping = false;
    }
  };
  const sweepMs = cfg.storageSweepMs ?? 15_000;
  const sweepTimer = sweepMs > 0 ? setInterval(() => void storageSweep(), sweepMs) : undefined;
  sweepTimer?.unref();
  scheduler.start();
  webhooks.start();
  const pruner = new RetentionPruner({ ...cfg.events?.retention, db, isLeader: () => scheduler.isLeader, log });
  pruner.start();
  const costMeter = new FleetCostMeter({
    db,
    isLeader: () => scheduler.isLeader,
    prices: new Map((cfg.autoscaler?.groups ?? []).map((g) => [`${g.instanceType}/${g.capacityType}`, g.pricePerHour])),
    log,
  });
  costMeter.start();

  return {
    db,
    api,
    rpc,
    scheduler,
    fleet,
    bus,
    webhooks,
    pruner,
    stores: tenantStores,
    storageSweep,
    urls: { http: `http://${advertisedHost}:${httpPort}`, grpc: grpcAddr, join: joinAddr },
    async stop() {
      clearInterval(depthTimer);
      if (sweepTimer) clearInterval(sweepTimer);
      while (sweeping) await new Promise((r) => setTimeout(r, 50));
      costMeter.stop();
      await pruner.stop();
      await webhooks.stop();
      await scheduler.stop();
      await fleet?.stop();
      await autoscalerProvider?.close?.();
      await api.close();
      await rpc.stop();
      await bus.stop();
      await listener.stop();
      await db.end();
    },
  };
}
