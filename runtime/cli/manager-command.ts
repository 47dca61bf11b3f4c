// `framefleet manager`: one manager replica as it runs in its container on
// Kubernetes (components/manager/deployment.ts). Unlike `framefleet start` it
// makes nothing: the database is DATABASE_URL, the region's intermediate CA and
// the manager's server certificate are mounted files, and the hosts are cloud
// instances that join with the pool's bootstrap token; there is no local fleet
// and no host ffmpeg. Everything it is given is checked before anything starts,
// and a problem names the file, field or variable.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { startManager, type Manager, type ManagerConfig } from "../manager/manager.js";
import { registerBootstrapJoinToken, registerEngine, EngineInputError, type NewEngine } from "../manager/store/index.js";
import { formatIdentity, hashSecretToken, identityOf, parseSecretToken, verifyChain, type CertificateAuthority } from "../pki/index.js";
import { parseFleetSettings, FleetConfigError, type FleetSettings } from "../manager/fleet/select.js";
import { INSTANCE_PRICES, type InstancePrice } from "../manager/autoscaler/pricing.js";
import { onDemandTaskPools, type HostGroupSpec, type PolicyConfig, type WorkerPoolSpec } from "../manager/autoscaler/policy.js";
import { registry } from "../manager/metrics.js";
import type { StoreDefinitions } from "../storage/definitions.js";
import { engineHooks } from "./region.js";

/** A problem with what the manager was given; the message names the file, field or variable. */
export class ManagerSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManagerSetupError";
  }
}

/** The TLS directory's files (the Deployment's `framefleet-manager-tls` Secret). */
export const TLS_FILES = {
  /** the region's intermediate CA certificate */
  caCert: "ca.crt",
  /** its key: the manager signs coordinator and task certificates with it */
  caKey: "ca.key",
  /** the intermediate then the installation's root (the root is what peers trust) */
  caChain: "ca-chain.crt",
  /** the manager's server certificate, then its issuers */
  serverCert: "tls.crt",
  serverKey: "tls.key",
} as const;

/** The bootstrap token's label in join_tokens: a rotated secret revokes the token it replaced. */
export const BOOTSTRAP_TOKEN_LABEL = "bootstrap";

export interface ManagerSettings {
  installation?: string;
  cloud?: "aws" | "gcp" | "azure";
  region: string;
  /** the region's buckets by role, served as stores of the same names */
  stores: StoreDefinitions;
  /** engines registered at start (images by digest) */
  engines: NewEngine[];
  /** the region's `fleet` settings: with them, the autoscaler drives the pools' groups */
  fleet?: FleetSettings;
  /** the autoscaler's host groups and pools, from manager.json's `pools` (present with `fleet`) */
  autoscaler?: {
    groups: HostGroupSpec[];
    pools: WorkerPoolSpec[];
    policy: Partial<PolicyConfig>;
    intervalMs?: number;
    /** task pools only spot (or mixed) groups serve, for which long tasks stay on spot (see autoscalerSettings) */
    spotOnlyTaskPools: string[];
  };
}

const CLOUDS = ["aws", "gcp", "azure"] as const;
const BUCKET_KIND = { aws: "s3", gcp: "gcs", azure: "azure" } as const;
// keys components/region.ts writes that the manager process has no use for
const PASSIVE_KEYS = ["installation", "cloud", "mirror", "upstreamRegistry", "images"];
const KNOWN_KEYS = new Set([...PASSIVE_KEYS, "region", "buckets", "engines", "pools", "fleet", "autoscaler"]);

/** Reads and checks manager.json (what components/region.ts writes into the ConfigMap). */
export function readManagerSettings(file: string): ManagerSettings {
  const name = path.basename(file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ManagerSetupError(
      `${file}: cannot read the manager configuration (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManagerSetupError(`${name}: not JSON (${(err as Error).message})`);
  }
  return parseManagerSettings(raw, name);
}

export function parseManagerSettings(raw: unknown, name = "manager.json"): ManagerSettings {
  const fail = (field: string, why: string): never => {
    throw new ManagerSetupError(`${name}: ${field}: ${why}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("(top level)", "must be a JSON object");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN_KEYS.has(k)) fail(k, `not a manager setting (${[...KNOWN_KEYS].join(", ")})`);

  if (o.region === undefined || o.region === "") fail("region", "missing");
  if (typeof o.region !== "string") fail("region", `must be a string, got ${JSON.stringify(o.region)}`);
  const region = o.region as string;
  try {
    formatIdentity({ kind: "ca", region });
  } catch (err) {
    fail("region", (err as Error).message);
  }
  if (o.installation !== undefined && typeof o.installation !== "string") fail("installation", "must be a string");
  if (o.cloud !== undefined && !(CLOUDS as readonly unknown[]).includes(o.cloud))
    fail("cloud", `${JSON.stringify(o.cloud)} is not one of ${CLOUDS.join(", ")}`);
  const cloud = o.cloud as ManagerSettings["cloud"];

  const stores: StoreDefinitions = {};
  if (o.buckets !== undefined) {
    if (typeof o.buckets !== "object" || o.buckets === null || Array.isArray(o.buckets))
      fail("buckets", "must be an object of role: bucket");
    if (!cloud) fail("cloud", "missing: the buckets' cloud decides how they are reached");
    for (const [role, bucket] of Object.entries(o.buckets as Record<string, unknown>)) {
      if (!/^[a-z][a-z0-9-]{0,30}$/.test(role)) fail(`buckets.${role}`, "a store name must be lower-case letters, digits and dashes");
      if (typeof bucket !== "string" || bucket === "") fail(`buckets.${role}`, "must be a bucket name");
      stores[role] = bucketStore(cloud!, bucket as string, region, (why) => fail(`buckets.${role}`, why));
    }
  }

  const engines: NewEngine[] = [];
  if (o.engines !== undefined) {
    if (!Array.isArray(o.engines)) fail("engines", "must be an array of { name, version, image, hardware, encoders, hwaccels }");
    (o.engines as unknown[]).forEach((e, i) => {
      const at = `engines[${i}]`;
      if (typeof e !== "object" || e === null) fail(at, "must be an object");
      const r = e as Record<string, unknown>;
      // the manager host has no engine of its own: only images, pinned by digest, can be registered from here
      if (typeof r.image !== "string") fail(`${at}.image`, "missing: an engine image by digest (repo@sha256:<64 hex>)");
      for (const k of ["encoders", "hwaccels"] as const)
        if (r[k] !== undefined && !(Array.isArray(r[k]) && (r[k] as unknown[]).every((x) => typeof x === "string")))
          fail(`${at}.${k}`, "must be an array of strings");
      engines.push({
        name: String(r.name ?? ""),
        version: String(r.version ?? ""),
        image: r.image as string,
        hardware: (r.hardware ?? "cpu") as NewEngine["hardware"],
        encoders: (r.encoders as string[] | undefined) ?? [],
        hwaccels: (r.hwaccels as string[] | undefined) ?? [],
        registeredBy: `manager.json ${at}`,
      });
    });
  }

  let fleet: FleetSettings | undefined;
  if (o.fleet !== undefined) {
    try {
      fleet = parseFleetSettings(o.fleet, "fleet");
    } catch (err) {
      if (err instanceof FleetConfigError) fail(err.field, err.message.replace(/^invalid configuration "[^"]*": /, ""));
      throw err;
    }
    // the local provider is `framefleet start`'s own coordinator processes; this process has none
    if (fleet!.provider === "local")
      fail("fleet.provider", `"local" is the embedded region's fleet (framefleet start); use aws, gcp, azure or simulated`);
  }
  if (o.autoscaler !== undefined && !fleet)
    fail("autoscaler", "set without fleet: the autoscaler needs the fleet settings to reach the groups");
  const autoscaler = fleet ? autoscalerSettings(o.pools, o.autoscaler, cloud, fail) : undefined;
  return { installation: o.installation as string | undefined, cloud, region, stores, engines, fleet, autoscaler };
}

/** An instance type's capacity and prices given in the pool's configuration (components/workers InstanceShape). */
function explicitShape(at: string, raw: unknown, fail: (field: string, why: string) => never): InstancePrice {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    fail(at, "must be { cpuMillis, memoryMb, gpus, onDemandPerHour, spotPerHour }");
  const o = raw as Record<string, unknown>;
  const positive = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(`${at}.${k}`, `must be a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const gpus = o.gpus ?? 0;
  if (typeof gpus !== "number" || !Number.isInteger(gpus) || gpus < 0)
    fail(`${at}.gpus`, `must be a non-negative integer, got ${JSON.stringify(gpus)}`);
  return {
    // not one of the table's clouds, and not checked against the region's: the operator gave it for this region
    cloud: "local",
    cpuMillis: positive("cpuMillis"),
    memoryMb: positive("memoryMb"),
    gpus: gpus as number,
    onDemandPerHour: positive("onDemandPerHour"),
    spotPerHour: positive("spotPerHour"),
  };
}

const POLICY_KEYS: Record<string, { min: number; max?: number }> = {
  highOccupancy: { min: 0, max: 1 },
  lowOccupancy: { min: 0, max: 1 },
  scaleInCooldownMs: { min: 0 },
  spotMaxPredictedSeconds: { min: 0 },
  budgetPerHour: { min: 0 },
  maxLaunchPerPass: { min: 1 },
  expectedBootMs: { min: 0 },
  idleReserve: { min: 0 },
  intervalMs: { min: 100 },
};

/**
 * The autoscaler's host groups from manager.json's `pools` (components/workers
 * `PoolDistribution.hostGroups`). A group's shape and list price come from
 * INSTANCE_PRICES by instance type; an unknown type is refused, since a group
 * without a shape cannot be packed and without a price cannot be budgeted.
 *
 * A group that may launch several types is modelled by the smallest of them
 * (every task the policy sends there fits whatever the cloud picks) at the
 * dearest price (the budget cap holds whatever it picks). A `mixed` group — an
 * AWS mixed-instances ASG or Azure priority-mix VMSS, where the cloud applies
 * the on-demand base and share and the autoscaler only sets the size — is
 * priced at on-demand but modelled as spot: counted as on-demand, the scheduler
 * would hold long tasks for an on-demand host the group may never give them.
 */
function autoscalerSettings(
  rawPools: unknown,
  rawPolicy: unknown,
  cloud: ManagerSettings["cloud"],
  fail: (field: string, why: string) => never,
): NonNullable<ManagerSettings["autoscaler"]> {
  const policy: Partial<PolicyConfig> = {};
  let intervalMs: number | undefined;
  if (rawPolicy !== undefined) {
    if (typeof rawPolicy !== "object" || rawPolicy === null || Array.isArray(rawPolicy)) fail("autoscaler", "must be an object");
    for (const [k, v] of Object.entries(rawPolicy as Record<string, unknown>)) {
      const range = POLICY_KEYS[k];
      if (!range) fail(`autoscaler.${k}`, `not an autoscaler setting (${Object.keys(POLICY_KEYS).join(", ")})`);
      if (typeof v !== "number" || !Number.isFinite(v) || v < range!.min || (range!.max !== undefined && v > range!.max))
        fail(
          `autoscaler.${k}`,
          `must be a number from ${range!.min}${range!.max !== undefined ? ` to ${range!.max}` : ""}, got ${JSON.stringify(v)}`,
        );
      if (k === "intervalMs") intervalMs = v as number;
      else (policy as Record<string, number>)[k] = v as number;
    }
  }
  if (!Array.isArray(rawPools)) fail("pools", "missing: with fleet set, the autoscaler needs the pools and their host groups");
  const groups: HostGroupSpec[] = [];
  const pools: WorkerPoolSpec[] = [];
  const count = (at: string, v: unknown, min = 0): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(at, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const text = (at: string, v: unknown): string => {
    if (typeof v !== "string" || v === "") fail(at, `missing: a name`);
    return v as string;
  };
  (rawPools as unknown[]).forEach((raw, i) => {
    const at = `pools[${i}]`;
    if (typeof raw !== "object" || raw === null) fail(at, "must be an object");
    const p = raw as Record<string, unknown>;
    const name = text(`${at}.pool`, p.pool);
    if (pools.some((x) => x.name === name)) fail(`${at}.pool`, `"${name}" is the name of an earlier pool`);
    const kind = text(`${at}.kind`, p.kind);
    const maxSize = count(`${at}.maxSize`, p.maxSize);
    const onDemandBase = count(`${at}.onDemandBase`, p.onDemandBase ?? 0);
    if (!Array.isArray(p.hostGroups))
      fail(`${at}.hostGroups`, "missing: written by components/region.ts with each group's instance types; update the region stack");
    const mine: HostGroupSpec[] = [];
    (p.hostGroups as unknown[]).forEach((rg, j) => {
      const gat = `${at}.hostGroups[${j}]`;
      if (typeof rg !== "object" || rg === null) fail(gat, "must be an object");
      const g = rg as Record<string, unknown>;
      const groupName = text(`${gat}.name`, g.name);
      if (groups.some((x) => x.name === groupName) || mine.some((x) => x.name === groupName))
        fail(`${gat}.name`, `"${groupName}" is already a group of another pool`);
      const capacity = g.capacityType;
      if (capacity !== "spot" && capacity !== "on-demand" && capacity !== "mixed")
        fail(`${gat}.capacityType`, `${JSON.stringify(capacity)} is not one of spot, on-demand, mixed`);
      if (!Array.isArray(g.instanceTypes) || g.instanceTypes.length === 0)
        fail(`${gat}.instanceTypes`, "missing: at least one instance type");
      const shapes = (g.instanceTypes as unknown[]).map((rt, k) => {
        const tat = `${gat}.instanceTypes[${k}]`;
        const t = (typeof rt === "object" && rt !== null ? rt : {}) as Record<string, unknown>;
        const type = text(`${tat}.type`, t.type);
        // AWS counts a weighted ASG's desired capacity in units, the autoscaler in hosts
        if (t.weight !== undefined && t.weight !== 1)
          fail(`${tat}.weight`, `${JSON.stringify(t.weight)}: the autoscaler counts hosts, so each instance type must weigh 1`);
        if (t.shape !== undefined) return { type, price: explicitShape(`${tat}.shape`, t.shape, fail) };
        const price: InstancePrice | undefined = Object.hasOwn(INSTANCE_PRICES, type) ? INSTANCE_PRICES[type] : undefined;
        if (!price || price.cloud === "local")
          fail(
            `${tat}.type`,
            `"${type}" has no known shape and list price (runtime/manager/autoscaler/pricing.ts INSTANCE_PRICES): give the pool's instance type a shape { cpuMillis, memoryMb, gpus, onDemandPerHour, spotPerHour }`,
          );
        if (cloud && price!.cloud !== cloud)
          fail(`${tat}.type`, `"${type}" is an ${price!.cloud} instance type, and the region is on ${cloud}`);
        return { type, price: price! };
      });
      const exact = shapes.length === 1 && capacity !== "mixed";
      mine.push({
        name: groupName,
        pool: name,
        capacityType: capacity === "on-demand" ? "on-demand" : "spot",
        // the cost meter prices hosts by this key when it matches; an inexact group's bound must not price real hosts
        instanceType: exact ? shapes[0]!.type : shapes.map((x) => x.type).join("+"),
        taskPools: [kind],
        cpuMillis: Math.min(...shapes.map((x) => x.price.cpuMillis)),
        memoryMb: Math.min(...shapes.map((x) => x.price.memoryMb)),
        gpus: Math.min(...shapes.map((x) => x.price.gpus)),
        pricePerHour: Math.max(...shapes.map((x) => (capacity === "spot" ? x.price.spotPerHour : x.price.onDemandPerHour))),
        maxSize: count(`${gat}.maxSize`, g.maxSize),
      });
    });
    groups.push(...mine);
    // the policy keeps an on-demand base only where it chooses on-demand hosts; a mixed group's cloud keeps it itself
    pools.push({ name, maxSize, onDemandBase: mine.some((g) => g.capacityType === "on-demand") ? onDemandBase : 0 });
  });
  // task pools with spot groups only: their long tasks run on spot (placement's longTasksOnDemandOnly
  // covers only the pools an on-demand group serves); reported at start
  const onDemand = onDemandTaskPools(groups);
  const spotOnlyTaskPools = [...new Set(groups.flatMap((g) => g.taskPools))].filter(
    (k) => onDemand !== true && !(onDemand !== false && onDemand.has(k)),
  );
  return { groups, pools, policy, intervalMs, spotOnlyTaskPools };
}

function bucketStore(
  cloud: "aws" | "gcp" | "azure",
  bucket: string,
  region: string,
  fail: (why: string) => never,
): StoreDefinitions[string] {
  if (cloud !== "azure")
    return { kind: BUCKET_KIND[cloud], bucket, ...(cloud === "aws" ? { region } : {}), credentials: { source: "default" } };
  // components/buckets/azure.ts hands out each container's resource id
  const m = /\/storageAccounts\/([a-z0-9]{3,24})\/blobServices\/default\/containers\/([a-z0-9-]{3,63})$/.exec(bucket);
  if (!m) fail("an Azure container resource id (…/storageAccounts/<account>/blobServices/default/containers/<name>)");
  return { kind: "azure", bucket: m![2]!, endpoint: `https://${m![1]}.blob.core.windows.net`, credentials: { source: "default" } };
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Loads the TLS directory and checks it hangs together: the CA key is the CA
 * certificate's, the chain starts at that CA and ends at a self-signed root, the
 * server certificate is the region's manager identity, issued by that CA and
 * chaining to the root, and its key matches it.
 */
export function readTlsDir(dir: string, region: string): ManagerConfig["pki"] {
  const read = (file: string): string => {
    const p = path.join(dir, file);
    try {
      return fs.readFileSync(p, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "missing" : code === "EACCES" ? "not readable by this user" : (err as Error).message;
      throw new ManagerSetupError(`TLS directory ${dir}: ${file}: ${why}`);
    }
  };
  const fail = (file: string, why: string): never => {
    throw new ManagerSetupError(`TLS directory ${dir}: ${file}: ${why}`);
  };
  const certs = (file: string, pem: string): X509Certificate[] => {
    const blocks = pem.match(PEM_CERT_RE) ?? [];
    if (blocks.length === 0) fail(file, "no PEM certificate in it");
    return blocks.map((b, i) => {
      try {
        return new X509Certificate(b);
      } catch (err) {
        return fail(file, `certificate #${i + 1} does not parse (${(err as Error).message})`);
      }
    });
  };
  const keyOf = (file: string, pem: string) => {
    try {
      return createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
    } catch (err) {
      return fail(file, `not an unencrypted private key in PEM (${(err as Error).message})`);
    }
  };
  const spki = (c: X509Certificate) => c.publicKey.export({ type: "spki", format: "der" });

  const caCertPem = read(TLS_FILES.caCert);
  const caKeyPem = read(TLS_FILES.caKey);
  const chainPem = read(TLS_FILES.caChain);
  const serverChainPem = read(TLS_FILES.serverCert);
  const serverKeyPem = read(TLS_FILES.serverKey);

  const [ca] = certs(TLS_FILES.caCert, caCertPem);
  if (!ca!.ca) fail(TLS_FILES.caCert, "not a CA certificate");
  if (!keyOf(TLS_FILES.caKey, caKeyPem).equals(spki(ca!))) fail(TLS_FILES.caKey, `is not the key of ${TLS_FILES.caCert}`);
  const caId = safeIdentity(caCertPem);
  if (!caId || caId.kind !== "ca" || caId.region !== region)
    fail(
      TLS_FILES.caCert,
      `not the intermediate CA of region "${region}" (it names ${caId ? formatIdentity(caId) : "no framefleet identity"})`,
    );
  const chain = certs(TLS_FILES.caChain, chainPem);
  if (!chain[0]!.raw.equals(ca!.raw)) fail(TLS_FILES.caChain, `must start with the certificate in ${TLS_FILES.caCert}`);
  const root = chain[chain.length - 1]!;
  if (chain.length < 2 || !root.ca || !root.checkIssued(root) || !root.verify(root.publicKey))
    fail(TLS_FILES.caChain, "must end with the installation's self-signed root certificate");
  const trustPem = root.toString();
  if (!verifyChain(caCertPem, trustPem)) fail(TLS_FILES.caCert, `does not chain to the root in ${TLS_FILES.caChain} (or has expired)`);

  const [leaf] = certs(TLS_FILES.serverCert, serverChainPem);
  const leafId = safeIdentity(serverChainPem);
  if (!leafId || leafId.kind !== "manager" || leafId.region !== region)
    fail(
      TLS_FILES.serverCert,
      `not the manager certificate of region "${region}" (it names ${leafId ? formatIdentity(leafId) : "no framefleet identity"})`,
    );
  if (!leaf!.checkIssued(ca!) || !leaf!.verify(ca!.publicKey)) fail(TLS_FILES.serverCert, `not issued by the CA in ${TLS_FILES.caCert}`);
  if (!verifyChain(serverChainPem, trustPem, caCertPem))
    fail(TLS_FILES.serverCert, `does not chain to the root in ${TLS_FILES.caChain} (or is not yet valid or has expired)`);
  if (!keyOf(TLS_FILES.serverKey, serverKeyPem).equals(spki(leaf!))) fail(TLS_FILES.serverKey, `is not the key of ${TLS_FILES.serverCert}`);

  const intermediate: CertificateAuthority = {
    certPem: ca!.toString(),
    keyPem: caKeyPem,
    chainPem: chain.map((c) => c.toString()).join(""),
  };
  return { intermediate, trustPem, serverKeyPem, serverChainPem };
}

function safeIdentity(pem: string) {
  try {
    return identityOf(pem);
  } catch {
    return undefined;
  }
}

export interface ManagerCommandOptions {
  config: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  joinPort: number;
  /** Prometheus scrape port (the Deployment's `metrics` port); undefined: none */
  metricsPort?: number;
  env: Record<string, string | undefined>;
  log(msg: string, fields?: Record<string, unknown>): void;
}

export interface RunningManager {
  manager: Manager;
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Checks everything it is given, then starts one manager replica. */
export async function runManagerCommand(o: ManagerCommandOptions): Promise<RunningManager> {
  const settings = readManagerSettings(o.config);
  const databaseUrl = o.env.DATABASE_URL;
  if (!databaseUrl)
    throw new ManagerSetupError("DATABASE_URL: missing (the manager image has no embedded PostgreSQL: give it the region's database)");
  const tlsDir = o.env.FRAMEFLEET_TLS_DIR;
  if (!tlsDir)
    throw new ManagerSetupError("FRAMEFLEET_TLS_DIR: missing (the directory holding ca.crt, ca.key, ca-chain.crt, tls.crt, tls.key)");
  const pki = readTlsDir(tlsDir, settings.region);
  const bootstrap = o.env.FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN?.trim();
  const parsedToken = bootstrap ? parseSecretToken(bootstrap, "ffjt") : undefined;
  if (bootstrap && !parsedToken)
    throw new ManagerSetupError("FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: not a join token (expected ffjt_<12 hex>_<43 base64url characters>)");
  const as = settings.autoscaler;
  if (!settings.fleet) o.log("autoscaler off: manager.json has no fleet settings; the pools stay at the size they have");
  else
    o.log("autoscaler on", {
      provider: settings.fleet.provider,
      ...(as!.spotOnlyTaskPools.length > 0
        ? { longTasksOnSpot: `no on-demand group serves ${as!.spotOnlyTaskPools.join(", ")}: their long tasks run on spot hosts` }
        : {}),
      groups: as!.groups.map((g) => ({ name: g.name, pool: g.pool, instanceType: g.instanceType, capacityType: g.capacityType })),
    });

  const manager = await startManager({
    databaseUrl,
    region: settings.region,
    pki,
    host: o.host,
    httpPort: o.httpPort,
    grpcPort: o.grpcPort,
    joinPort: o.joinPort,
    stores: settings.stores,
    engine: engineHooks,
    ...(settings.fleet && as
      ? {
          autoscaler: {
            groups: as.groups,
            pools: as.pools,
            policy: as.policy,
            ...(as.intervalMs !== undefined ? { intervalMs: as.intervalMs } : {}),
            fleet: settings.fleet,
          },
        }
      : {}),
    log: o.log,
  });
  let metrics: http.Server | undefined;
  try {
    if (bootstrap && parsedToken) {
      const r = await registerBootstrapJoinToken(manager.db, {
        id: parsedToken.lookupId,
        hash: hashSecretToken(bootstrap),
        region: settings.region,
        label: BOOTSTRAP_TOKEN_LABEL,
      });
      if (r.status === "revoked")
        o.log("the bootstrap join token was revoked: new hosts cannot join until it is rotated", { token: parsedToken.lookupId });
      else o.log("bootstrap join token registered", { token: parsedToken.lookupId, status: r.status, superseded: r.superseded });
    }
    for (const [i, e] of settings.engines.entries()) {
      try {
        const r = await registerEngine(manager.db, e);
        o.log("engine registered", { name: e.name, version: e.version, image: e.image, created: r.created });
      } catch (err) {
        if (err instanceof EngineInputError)
          throw new ManagerSetupError(`${path.basename(o.config)}: engines[${i}].${err.field}: ${err.reason}`);
        throw err;
      }
    }
    if (o.metricsPort !== undefined) metrics = await serveMetrics(o.host, o.metricsPort);
  } catch (err) {
    await manager.stop();
    throw err;
  }
  const address = metrics?.address();
  return {
    manager,
    metricsUrl: address && typeof address === "object" ? `http://${o.host}:${address.port}/metrics` : undefined,
    async stop() {
      await new Promise<void>((resolve) => (metrics ? metrics.close(() => resolve()) : resolve()));
      await manager.stop();
    },
  };
}

// The Deployment declares a `metrics` container port (9090) that only its cluster-internal Service
// exposes; /metrics on the REST port is public through the load balancer, so scrapers use this one.
function serveMetrics(host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new ManagerSetupError(`--metrics-port ${port}: cannot listen (${err.message})`)));
    server.listen(port, host, () => resolve(server));
  });
}
