// The embedded default: a whole region on one machine with no set-up. Embedded
// PostgreSQL unless DATABASE_URL is given, a CA made on first run, the fs store
// under the data directory, the manager, and a local fleet of coordinators
// that exists only while there is work.
import fs from "node:fs";
import path from "node:path";
import { startManager, type Manager, type ManagerConfig } from "../manager/manager.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../manager/store/embedded.js";
import { loadOrCreateRegionPki } from "../pki/index.js";
import { discoverEngines, resolveBinaries } from "../engine/discover.js";
import { registerEngine } from "../manager/store/index.js";
import { CompositionSchema, validateComposition, type Composition } from "../engine/composition.js";
import { planJob } from "../engine/plan.js";
import { commitOutputs } from "../engine/commit.js";
import type { CompositionLike } from "../manager/api/types.js";
import type { StoreDefinitions } from "../storage/definitions.js";

export interface RegionOptions {
  dataDir: string;
  region?: string;
  databaseUrl?: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number;
  joinPort?: number;
  maxCoordinators?: number;
  idleTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** capacity each local coordinator reports (tests use small slices) */
  coordinatorCpuMillis?: number;
  coordinatorMemoryMb?: number;
  coordinatorEnv?: Record<string, string>;
  /** how the local coordinators' workers run the engine: the host's ffmpeg (default) or each task's engine image */
  runner?: "process" | "container";
  /** false: no local fleet; coordinators are started by someone else */
  fleet?: boolean;
  /**
   * a fleet the autoscaler scales instead (with fleet: false): its groups and pools, and
   * `fleet`, the region's provider settings ({ provider: "aws" | "gcp" | "azure" | "simulated", … })
   */
  autoscaler?: import("../manager/manager.js").ManagerConfig["autoscaler"];
  /** webhook delivery settings (tests allow loopback receivers with allowPrivateAddresses) */
  webhooks?: import("../manager/webhooks/worker.js").WebhookSettings;
  /** which SNS certificate/subscribe URLs the manager may fetch (tests: a local stand-in for SNS) */
  snsUrlAllowed?(url: string): boolean;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface Region {
  /** the current manager (replaced by restartManager) */
  readonly manager: Manager;
  /** stops the manager alone (coordinators and the database stay up) and starts a new one on the same ports */
  restartManager(opts?: { downtimeMs?: number }): Promise<Manager>;
  database?: EmbeddedDatabase;
  databaseUrl: string;
  dataDir: string;
  storeRoot: string;
  trustFile: string;
  stop(): Promise<void>;
}

export interface RegionInfo {
  pid: number;
  region: string;
  databaseUrl: string;
  http: string;
  grpc: string;
  join: string;
  trustFile: string;
}

/** The engine's validate/plan/commit, as every manager (embedded or `framefleet manager`) is given them. */
export const engineHooks: ManagerConfig["engine"] = {
  validateComposition: validateComposition as unknown as (
    input: unknown,
  ) => { ok: true; value: CompositionLike } | { ok: false; errors: { field: string; reason: string }[] },
  planJob: (c, o) => planJob(c as unknown as Composition, o),
  commit: (args) => commitOutputs({ ...args, composition: args.composition as unknown as Composition }),
  compositionSchema: CompositionSchema,
};

export const regionInfoPath = (dataDir: string) => path.join(dataDir, "region.json");

export async function startRegion(opts: RegionOptions): Promise<Region> {
  const dataDir = path.resolve(opts.dataDir);
  const region = opts.region ?? "local";
  // 0755, not 0700: as root, the embedded PostgreSQL runs as its own user, which
  // must be able to traverse every directory down to its data (secrets below
  // are kept 0700/0600 by their owners: pki/, coordinators/, region.json)
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  // fail early and clearly if the engine is missing, before starting anything
  // (the container runner takes its ffmpeg from the engine image instead)
  if (opts.runner !== "container") await resolveBinaries();
  // the process runner's engine is this host's ffmpeg: probe it (seconds: GPU encoders are tried) while the
  // database and manager start, to register it below; a container-runner fleet runs registered images instead
  const hostEngines = opts.runner === "container" ? Promise.resolve([]) : discoverEngines();
  hostEngines.catch(() => {});

  let database: EmbeddedDatabase | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl) {
    fs.chmodSync(dataDir, 0o755);
    const blocked = untraversableAncestor(dataDir);
    if (blocked) {
      throw new Error(
        `the embedded PostgreSQL runs as its own user and cannot reach ${dataDir}: ${blocked} is not searchable by others (chmod o+x it, choose another --data-dir, or set DATABASE_URL)`,
      );
    }
    database = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "postgres"), database: "framefleet" });
    databaseUrl = database.url;
  }
  const pki = loadOrCreateRegionPki(path.join(dataDir, "pki"), region);
  const trustFile = path.join(dataDir, "pki", "trust.crt");
  fs.writeFileSync(trustFile, pki.trustPem, { mode: 0o644 });
  const storeRoot = path.join(dataDir, "store");
  fs.mkdirSync(storeRoot, { recursive: true });
  const stores: StoreDefinitions = { local: { kind: "fs", root: storeRoot } };

  const managerConfig = (ports: { http: number; grpc: number; join: number }): Parameters<typeof startManager>[0] => ({
    databaseUrl: databaseUrl!,
    region,
    pki: { intermediate: pki.intermediate, trustPem: pki.trustPem, serverKeyPem: pki.manager.keyPem, serverChainPem: pki.manager.chainPem },
    host: opts.host ?? "127.0.0.1",
    httpPort: ports.http,
    grpcPort: ports.grpc,
    joinPort: ports.join,
    stores,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    engine: engineHooks,
    fleet:
      opts.fleet === false
        ? undefined
        : {
            stateRoot: path.join(dataDir, "coordinators"),
            maxCoordinators: opts.maxCoordinators ?? 1,
            idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
            cpuMillis: opts.coordinatorCpuMillis,
            memoryMb: opts.coordinatorMemoryMb,
            env: opts.runner ? { ...opts.coordinatorEnv, FRAMEFLEET_RUNNER: opts.runner } : opts.coordinatorEnv,
          },
    autoscaler: opts.autoscaler,
    webhooks: opts.webhooks,
    snsUrlAllowed: opts.snsUrlAllowed,
    log: opts.log,
  });

  let manager: Manager;
  try {
    manager = await startManager(
      managerConfig({ http: opts.httpPort ?? 8080, grpc: opts.grpcPort ?? 50051, join: opts.joinPort ?? 50052 }),
    );
  } catch (err) {
    await database?.stop();
    throw err;
  }
  // registered without an image (host binaries), so compositions pinning the local ffmpeg resolve;
  // idempotent, so a restart on the same database only refreshes it
  try {
    for (const e of await hostEngines) {
      await registerEngine(manager.db, {
        name: e.name,
        version: e.version,
        image: null,
        encoders: e.encoders,
        hwaccels: e.hwaccels,
        hardware: e.gpuEncoders.length > 0 ? "any" : "cpu",
        registeredBy: `region ${region} (host binaries ${e.ffmpegPath})`,
      });
    }
  } catch (err) {
    await manager.stop();
    await database?.stop();
    throw new Error(`cannot register this host's ffmpeg in the engine registry: ${(err as Error).message}`);
  }
  const info: RegionInfo = {
    pid: process.pid,
    region,
    databaseUrl,
    http: manager.urls.http,
    grpc: manager.urls.grpc,
    join: manager.urls.join,
    trustFile,
  };
  fs.writeFileSync(regionInfoPath(dataDir), JSON.stringify(info, null, 2), { mode: 0o600 });
  return {
    get manager() {
      return manager;
    },
    async restartManager(o: { downtimeMs?: number } = {}) {
      const ports = {
        http: Number(new URL(manager.urls.http).port),
        grpc: Number(manager.urls.grpc.split(":").pop()),
        join: Number(manager.urls.join.split(":").pop()),
      };
      await manager.stop();
      if (o.downtimeMs) await new Promise((r) => setTimeout(r, o.downtimeMs));
      manager = await startManager(managerConfig(ports));
      return manager;
    },
    database,
    databaseUrl,
    dataDir,
    storeRoot,
    trustFile,
    async stop() {
      await manager.stop();
      await database?.stop();
      fs.rmSync(regionInfoPath(dataDir), { force: true });
    },
  };
}

/** As root the embedded PostgreSQL runs as another user: the first ancestor it could not enter, if any. */
function untraversableAncestor(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return undefined;
  }
}

export function readRegionInfo(dataDir: string): RegionInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(regionInfoPath(dataDir), "utf8")) as RegionInfo;
  } catch {
    return undefined;
  }
}
