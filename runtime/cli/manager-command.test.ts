// `framefleet manager` as the manager container runs it: a real child process
// on a real PostgreSQL database, with a TLS directory laid out like the
// Deployment's Secret, and coordinators enrolling over the real join port with
// the coordinator's own join client.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase } from "../../test/support/db.js";
import { createIntermediateCA, createRootCA, createSecretToken, issueKeyAndCertificate, identityOf } from "../pki/index.js";
import { onDemandTaskPools } from "../manager/autoscaler/policy.js";
import { createDb, insertJob, insertJoinToken, registerBootstrapJoinToken, revokeJoinToken, type Db } from "../manager/store/index.js";
import { FakeAwsAutoScaling } from "../manager/fleet/fakes.js";
import { join } from "../coordinator/credentials.js";
import { ManagerSetupError, parseManagerSettings, readTlsDir } from "./manager-command.js";

const run = promisify(execFile);
const CLI = path.join(__dirname, "..", "..", "bin", "framefleet.js");
const REGION = "eu-test";

/** The Deployment's TLS Secret: intermediate CA + its key + chain to the root, the manager's server cert + key. */
function writeTlsDir(dir: string, region = REGION) {
  const root = createRootCA({ commonName: "test root" });
  const intermediate = createIntermediateCA(root, { region });
  const server = issueKeyAndCertificate(intermediate, {
    identity: { kind: "manager", region },
    validitySeconds: 3600,
    server: { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] },
  });
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    "ca.crt": intermediate.certPem,
    "ca.key": intermediate.keyPem,
    "ca-chain.crt": intermediate.chainPem,
    "tls.crt": server.chainPem,
    "tls.key": server.keyPem,
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data, { mode: 0o400 });
  return { root, intermediate, server };
}

/** What components/region.ts writes into the ConfigMap. */
function managerJson(over: Record<string, unknown> = {}) {
  return {
    installation: "acme",
    cloud: "aws",
    region: REGION,
    pools: [
      { pool: "cpu", kind: "cpu", cloud: "aws", gpu: false, maxSize: 4, onDemandBase: 0, onDemandPercentageAboveBase: 0, groups: {} },
    ],
    buckets: { input: "acme-in", intermediate: "acme-mid", output: "acme-out" },
    mirror: "123.dkr.ecr.eu-west-1.amazonaws.com/framefleet",
    upstreamRegistry: "ghcr.io",
    images: { coordinator: "ghcr.io/acme/coordinator@sha256:" + "a".repeat(64), engineCpu: "x", engineGpu: "y" },
    ...over,
  };
}

async function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } as NodeJS.ProcessEnv, timeout: 60_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stderr: e.stderr ?? "" };
  }
}

interface Started {
  child: ChildProcess;
  urls: { http: string; grpc: string; join: string; metrics?: string };
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startManagerProcess(args: string[], env: Record<string, string | undefined>): Promise<Started> {
  const child = spawn(process.execPath, [CLI, "manager", ...args], {
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stdout!.on("data", () => {});
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  for (let i = 0; i < 600; i++) {
    const up = err
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; http: string; grpc: string; join: string; metrics?: string })
      .find((l) => l.msg === "manager is up");
    if (up) return { child, urls: { http: up.http, grpc: up.grpc, join: up.join, metrics: up.metrics }, stderr: () => err, exit };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`manager did not start:\n${err}`);
}

describe("framefleet manager: a replica in its container", () => {
  let work: string;
  let tlsDir: string;
  let config: string;
  let db: { url: string; drop: () => Promise<void> };
  let store: Db;
  let trustPem: string;
  let m: Started | undefined;
  const bootstrap = createSecretToken("ffjt");

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-manager-"));
    tlsDir = path.join(work, "tls");
    trustPem = writeTlsDir(tlsDir).root.certPem;
    config = path.join(work, "manager.json");
    fs.writeFileSync(config, JSON.stringify(managerJson()));
    db = await createTestDatabase("mgrcmd");
    store = createDb(db.url);
  });
  afterAll(async () => {
    if (m && m.child.exitCode === null) m.child.kill("SIGKILL");
    await store?.end();
    await db?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("starts, enrolls many hosts with the pool's bootstrap token, a single-use token once, and stops on SIGTERM with 0", async () => {
    m = await startManagerProcess(
      ["--config", config, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--join-port", "0", "--metrics-port", "0"],
      { DATABASE_URL: db.url, FRAMEFLEET_TLS_DIR: tlsDir, FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: bootstrap.token },
    );
    const health = await fetch(`${m.urls.http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", region: REGION });
    expect((await fetch(`${m.urls.http}/readyz`)).status).toBe(200);
    const metrics = await fetch(m.urls.metrics!);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);

    // two hosts of one pool, the same token from the secret store: two coordinator identities
    const hosts = await Promise.all(
      [1, 2].map((i) => join({ joinAddress: m!.urls.join, token: bootstrap.token, trustPem, stateDir: path.join(work, `host${i}`) })),
    );
    expect(hosts[0]!.coordinatorId).not.toBe(hosts[1]!.coordinatorId);
    for (const h of hosts) expect(identityOf(h.certChainPem)).toEqual({ kind: "coordinator", region: REGION, id: h.coordinatorId });
    const row = await store.query<{ reusable: boolean; uses: number; label: string }>(
      "SELECT reusable, uses, label FROM join_tokens WHERE id = $1",
      [bootstrap.lookupId],
    );
    expect(row.rows[0]).toEqual({ reusable: true, uses: 2, label: "bootstrap" });
    const coordinators = await store.query<{ id: string }>("SELECT id FROM coordinators ORDER BY id");
    expect(coordinators.rows.map((r) => r.id)).toEqual(hosts.map((h) => h.coordinatorId).sort());

    // a single-use token keeps its behaviour beside the reusable one
    const once = createSecretToken("ffjt");
    await insertJoinToken(store, { id: once.lookupId, hash: once.hash, region: REGION, expiresAt: new Date(Date.now() + 60_000) });
    await join({ joinAddress: m.urls.join, token: once.token, trustPem, stateDir: path.join(work, "host3") });
    await expect(join({ joinAddress: m.urls.join, token: once.token, trustPem, stateDir: path.join(work, "host4") })).rejects.toThrow(
      /join refused: join token was already used/,
    );

    // a rotated secret: registering the next bootstrap token revokes the one it replaces
    const next = createSecretToken("ffjt");
    const reg = await registerBootstrapJoinToken(store, { id: next.lookupId, hash: next.hash, region: REGION, label: "bootstrap" });
    expect(reg).toEqual({ status: "created", superseded: 1 });
    await expect(join({ joinAddress: m.urls.join, token: bootstrap.token, trustPem, stateDir: path.join(work, "host5") })).rejects.toThrow(
      /join token was revoked/,
    );
    await join({ joinAddress: m.urls.join, token: next.token, trustPem, stateDir: path.join(work, "host6") });

    m.child.kill("SIGTERM");
    expect(await m.exit).toEqual({ code: 0, signal: null });
    expect(m.stderr()).toMatch(/"msg":"stopping","signal":"SIGTERM"/);
  });

  it("registers the bootstrap token idempotently at each start and leaves an operator's revocation alone", async () => {
    const again = await startManagerProcess(
      ["--config", config, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--join-port", "0", "--metrics-port", "0"],
      {
        DATABASE_URL: db.url,
        FRAMEFLEET_TLS_DIR: tlsDir,
        FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: bootstrap.token,
      },
    );
    try {
      // the first test's rotation revoked this token: a restart with it does not bring it back
      expect(again.stderr()).toMatch(/the bootstrap join token was revoked/);
      await expect(
        join({ joinAddress: again.urls.join, token: bootstrap.token, trustPem, stateDir: path.join(work, "host7") }),
      ).rejects.toThrow(/revoked/);
    } finally {
      again.child.kill("SIGTERM");
      expect((await again.exit).code).toBe(0);
    }
    const fresh = createSecretToken("ffjt");
    const t = { id: fresh.lookupId, hash: fresh.hash, region: REGION, label: "bootstrap" };
    expect((await registerBootstrapJoinToken(store, t)).status).toBe("created");
    expect(await registerBootstrapJoinToken(store, t)).toEqual({ status: "refreshed", superseded: 0 });
    expect(await revokeJoinToken(store, fresh.lookupId)).toBe(true);
    expect((await registerBootstrapJoinToken(store, t)).status).toBe("revoked");
    await expect(registerBootstrapJoinToken(store, { ...t, hash: "0".repeat(64) })).rejects.toThrow(/already exists for another token/);
  });

  it("names what is missing and exits 1: DATABASE_URL, a TLS file, the region, a bad bootstrap token", async () => {
    const base = { DATABASE_URL: db.url, FRAMEFLEET_TLS_DIR: tlsDir, FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: "" };
    const args = ["manager", "--config", config, "--http-port", "0", "--grpc-port", "0", "--join-port", "0", "--metrics-port", "0"];

    const noDb = await cli(args, { ...base, DATABASE_URL: "" });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toMatch(/framefleet: DATABASE_URL: missing/);

    const partial = path.join(work, "tls-partial");
    fs.cpSync(tlsDir, partial, { recursive: true });
    fs.rmSync(path.join(partial, "tls.key"));
    const noKey = await cli(args, { ...base, FRAMEFLEET_TLS_DIR: partial });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain(`framefleet: TLS directory ${partial}: tls.key: missing`);

    const noRegion = path.join(work, "no-region.json");
    const { region: _, ...rest } = managerJson();
    fs.writeFileSync(noRegion, JSON.stringify(rest));
    const r = await cli(["manager", "--config", noRegion], base);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/framefleet: no-region\.json: region: missing/);

    const badToken = await cli(args, { ...base, FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: "c2VjcmV0" });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: not a join token/);
  });
});

describe("the manager's inputs, checked before anything starts", () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-manager-tls-"));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it("loads a consistent TLS directory as the manager's PKI", () => {
    const dir = path.join(work, "good");
    const { root, intermediate, server } = writeTlsDir(dir);
    const pki = readTlsDir(dir, REGION);
    expect(pki.trustPem.trim()).toBe(root.certPem.trim());
    expect(pki.intermediate.certPem.trim()).toBe(intermediate.certPem.trim());
    expect(pki.intermediate.keyPem).toBe(intermediate.keyPem);
    expect(pki.serverChainPem).toBe(server.chainPem);
  });

  it("refuses mismatched files, naming the file", () => {
    const a = path.join(work, "a");
    const b = path.join(work, "b");
    writeTlsDir(a);
    writeTlsDir(b);
    const mixed = (name: string, from: string) => {
      const d = path.join(work, `mixed-${name}`);
      fs.cpSync(a, d, { recursive: true });
      fs.chmodSync(path.join(d, name), 0o600);
      fs.copyFileSync(path.join(from, name), path.join(d, name));
      return d;
    };
    expect(() => readTlsDir(mixed("ca.key", b), REGION)).toThrow(/ca\.key: is not the key of ca\.crt/);
    expect(() => readTlsDir(mixed("tls.key", b), REGION)).toThrow(/tls\.key: is not the key of tls\.crt/);
    expect(() => readTlsDir(mixed("tls.crt", b), REGION)).toThrow(/tls\.crt: not issued by the CA in ca\.crt/);
    expect(() => readTlsDir(mixed("ca-chain.crt", b), REGION)).toThrow(/ca-chain\.crt: must start with the certificate in ca\.crt/);
    expect(() => readTlsDir(a, "other-region")).toThrow(/ca\.crt: not the intermediate CA of region "other-region"/);
    const empty = path.join(work, "mixed-empty");
    fs.cpSync(a, empty, { recursive: true });
    fs.chmodSync(path.join(empty, "ca.crt"), 0o600);
    fs.writeFileSync(path.join(empty, "ca.crt"), "not a certificate");
    expect(() => readTlsDir(empty, REGION)).toThrow(ManagerSetupError);
    expect(() => readTlsDir(empty, REGION)).toThrow(/ca\.crt: no PEM certificate in it/);
  });

  it("turns manager.json's buckets into stores and checks each field", () => {
    const s = parseManagerSettings(managerJson());
    expect(s.region).toBe(REGION);
    expect(s.stores.output).toEqual({ kind: "s3", bucket: "acme-out", region: REGION, credentials: { source: "default" } });
    const az = parseManagerSettings(
      managerJson({
        cloud: "azure",
        buckets: {
          input:
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acmeinput/blobServices/default/containers/input",
        },
      }),
    );
    expect(az.stores.input).toEqual({
      kind: "azure",
      bucket: "input",
      endpoint: "https://acmeinput.blob.core.windows.net",
      credentials: { source: "default" },
    });
    expect(() => parseManagerSettings(managerJson({ cloud: "azure", buckets: { input: "acme-in" } }))).toThrow(
      /manager\.json: buckets\.input: an Azure container resource id/,
    );
    expect(() => parseManagerSettings(managerJson({ region: 7 }))).toThrow(/manager\.json: region: must be a string/);
    expect(() => parseManagerSettings(managerJson({ regoin: "x" }))).toThrow(/manager\.json: regoin: not a manager setting/);
    expect(() => parseManagerSettings(managerJson({ fleet: { provider: "aws" } }))).toThrow(/manager\.json: fleet\.region: missing/);
    expect(() => parseManagerSettings(managerJson({ engines: [{ name: "ffmpeg", version: "5.1.9" }] }))).toThrow(
      /manager\.json: engines\[0\]\.image: missing/,
    );
  });

  it("registers engines from manager.json by digest, refusing a tag with the field named", async () => {
    const { url, drop } = await createTestDatabase("mgrengines");
    const dir = path.join(work, "engines-tls");
    writeTlsDir(dir);
    const image = "ghcr.io/acme/engine-ffmpeg@sha256:" + "b".repeat(64);
    const good = path.join(work, "engines.json");
    fs.writeFileSync(good, JSON.stringify(managerJson({ engines: [{ name: "ffmpeg", version: "5.1.9", image, encoders: ["libx264"] }] })));
    const bad = path.join(work, "engines-bad.json");
    fs.writeFileSync(
      bad,
      JSON.stringify(managerJson({ engines: [{ name: "ffmpeg", version: "5.1.9", image: "ghcr.io/acme/engine-ffmpeg:5.1.9" }] })),
    );
    const env = { DATABASE_URL: url, FRAMEFLEET_TLS_DIR: dir, FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: "" };
    const ports = ["--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--join-port", "0", "--metrics-port", "0"];
    try {
      const refused = await cli(["manager", "--config", bad, ...ports], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/engines-bad\.json: engines\[0\]\.image: engine images are pinned by digest/);
      const m = await startManagerProcess(["--config", good, ...ports], env);
      try {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        const rows = await c.query<{ name: string; version: string; image: string; encoders: string[] }>(
          "SELECT name, version, image, encoders FROM engines",
        );
        await c.end();
        expect(rows.rows).toEqual([{ name: "ffmpeg", version: "5.1.9", image, encoders: ["libx264"] }]);
      } finally {
        m.child.kill("SIGTERM");
        expect((await m.exit).code).toBe(0);
      }
    } finally {
      await drop();
    }
  });
});

/** A pool as components/region.ts writes it for an AWS region (one mixed-instances ASG). */
function awsPool(over: Record<string, unknown> = {}, group: Record<string, unknown> = {}) {
  return {
    pool: "encode-cpu",
    kind: "encode",
    cloud: "aws",
    gpu: false,
    maxSize: 6,
    onDemandBase: 0,
    onDemandPercentageAboveBase: 0,
    groups: { asg: "acme-encode-cpu-asg-1a2b" },
    hostGroups: [
      { name: "acme-encode-cpu-asg-1a2b", capacityType: "spot", instanceTypes: [{ type: "c7i.2xlarge", weight: 1 }], maxSize: 6, ...group },
    ],
    ...over,
  };
}

describe("the autoscaler from manager.json", () => {
  it("maps each pool's host groups to shapes and list prices by instance type", () => {
    const s = parseManagerSettings(
      managerJson({
        fleet: { provider: "aws", region: "eu-west-1" },
        autoscaler: { budgetPerHour: 20, intervalMs: 2000 },
        pools: [
          awsPool(),
          // a mixed ASG over two sizes: the smaller shape, at the dearer on-demand price, modelled as spot
          awsPool(
            { pool: "probe", kind: "probe", onDemandBase: 1, onDemandPercentageAboveBase: 20 },
            {
              name: "acme-probe-asg",
              capacityType: "mixed",
              instanceTypes: [
                { type: "c7i.2xlarge", weight: 1 },
                { type: "c7i.xlarge", weight: 1 },
              ],
            },
          ),
        ],
      }),
    );
    expect(s.fleet).toEqual({ provider: "aws", region: "eu-west-1" });
    expect(s.autoscaler!.policy).toEqual({ budgetPerHour: 20 });
    expect(s.autoscaler!.intervalMs).toBe(2000);
    expect(s.autoscaler!.groups).toEqual([
      {
        name: "acme-encode-cpu-asg-1a2b",
        pool: "encode-cpu",
        capacityType: "spot",
        instanceType: "c7i.2xlarge",
        taskPools: ["encode"],
        cpuMillis: 8000,
        memoryMb: 16_384,
        gpus: 0,
        pricePerHour: 0.135,
        maxSize: 6,
      },
      {
        name: "acme-probe-asg",
        pool: "probe",
        capacityType: "spot",
        instanceType: "c7i.2xlarge+c7i.xlarge",
        taskPools: ["probe"],
        cpuMillis: 4000,
        memoryMb: 8192,
        gpus: 0,
        pricePerHour: 0.357,
        maxSize: 6,
      },
    ]);
    // the cloud keeps a mixed group's on-demand base; the policy has no on-demand group to keep it with
    expect(s.autoscaler!.pools).toEqual([
      { name: "encode-cpu", maxSize: 6, onDemandBase: 0 },
      { name: "probe", maxSize: 6, onDemandBase: 0 },
    ]);

    // GCP: a STANDARD and a SPOT MIG per pool; the on-demand base is the policy's to keep
    const gcp = parseManagerSettings(
      managerJson({
        cloud: "gcp",
        buckets: {},
        fleet: { provider: "simulated" },
        pools: [
          {
            pool: "gpu",
            kind: "encode",
            maxSize: 4,
            onDemandBase: 1,
            hostGroups: [
              { name: "ff-gpu-d", capacityType: "on-demand", instanceTypes: [{ type: "g2-standard-8", weight: 1 }], maxSize: 2 },
              { name: "ff-gpu-s", capacityType: "spot", instanceTypes: [{ type: "g2-standard-8", weight: 1 }], maxSize: 2 },
            ],
          },
        ],
      }),
    );
    expect(gcp.autoscaler!.groups.map((g) => [g.name, g.capacityType, g.gpus, g.pricePerHour])).toEqual([
      ["ff-gpu-d", "on-demand", 1, 0.854],
      ["ff-gpu-s", "spot", 1, 0.34],
    ]);
    expect(gcp.autoscaler!.pools).toEqual([{ name: "gpu", maxSize: 4, onDemandBase: 1 }]);
    // a type the price table does not know, with the shape and prices given in the pool's configuration
    const shaped = parseManagerSettings(
      managerJson({
        fleet: { provider: "aws", region: "eu-west-1" },
        pools: [
          awsPool(
            {},
            {
              capacityType: "on-demand",
              instanceTypes: [
                {
                  type: "m7i.xlarge",
                  weight: 1,
                  shape: { cpuMillis: 4000, memoryMb: 16_384, gpus: 0, onDemandPerHour: 0.2016, spotPerHour: 0.08 },
                },
              ],
            },
          ),
        ],
      }),
    );
    expect(shaped.autoscaler!.groups[0]).toMatchObject({
      instanceType: "m7i.xlarge",
      capacityType: "on-demand",
      cpuMillis: 4000,
      memoryMb: 16_384,
      pricePerHour: 0.2016,
    });
    // an on-demand package pool beside a spot-only encode pool: long encode tasks must not wait for an
    // on-demand host no encode group can give (placement holds long tasks off spot only in the pools
    // onDemandTaskPools names), while long package tasks still wait for on-demand room
    const both = parseManagerSettings(
      managerJson({
        fleet: { provider: "aws", region: "eu-west-1" },
        pools: [awsPool(), awsPool({ pool: "package", kind: "package" }, { name: "acme-package-asg", capacityType: "on-demand" })],
      }),
    );
    expect(both.autoscaler!.spotOnlyTaskPools).toEqual(["encode"]);
    expect(both.autoscaler!.policy.spotMaxPredictedSeconds).toBeUndefined();
    expect(onDemandTaskPools(both.autoscaler!.groups)).toEqual(new Set(["package"]));
    expect(s.autoscaler!.policy.spotMaxPredictedSeconds).toBeUndefined();
    // without fleet, pools are not the manager's business
    expect(parseManagerSettings(managerJson()).autoscaler).toBeUndefined();
  });

  it("refuses what it cannot model, naming the field", () => {
    const withPool = (pool: unknown, extra: Record<string, unknown> = {}) =>
      parseManagerSettings(managerJson({ fleet: { provider: "aws", region: "eu-west-1" }, pools: [pool], ...extra }));
    expect(() => withPool(awsPool({}, { instanceTypes: [{ type: "c9z.large", weight: 1 }] }))).toThrow(
      /manager\.json: pools\[0\]\.hostGroups\[0\]\.instanceTypes\[0\]\.type: "c9z\.large" has no known shape and list price/,
    );
    expect(() =>
      withPool(
        awsPool(
          {},
          {
            instanceTypes: [{ type: "m7i.xlarge", weight: 1, shape: { cpuMillis: 4000, memoryMb: 0, onDemandPerHour: 1, spotPerHour: 1 } }],
          },
        ),
      ),
    ).toThrow(/pools\[0\]\.hostGroups\[0\]\.instanceTypes\[0\]\.shape\.memoryMb: must be a positive number, got 0/);
    expect(() => withPool(awsPool({}, { instanceTypes: [{ type: "c3-standard-8", weight: 1 }] }))).toThrow(
      /instanceTypes\[0\]\.type: "c3-standard-8" is an gcp instance type, and the region is on aws/,
    );
    expect(() => withPool(awsPool({}, { instanceTypes: [{ type: "c7i.4xlarge", weight: 2 }] }))).toThrow(
      /pools\[0\]\.hostGroups\[0\]\.instanceTypes\[0\]\.weight: 2: the autoscaler counts hosts/,
    );
    expect(() => withPool(awsPool({}, { capacityType: "reserved" }))).toThrow(
      /pools\[0\]\.hostGroups\[0\]\.capacityType: "reserved" is not one of spot, on-demand, mixed/,
    );
    const { hostGroups: _, ...old } = awsPool();
    expect(() => withPool(old)).toThrow(/pools\[0\]\.hostGroups: missing: written by components\/region\.ts/);
    expect(() => withPool(awsPool(), { autoscaler: { budget: 5 } })).toThrow(
      /manager\.json: autoscaler\.budget: not an autoscaler setting/,
    );
    expect(() => withPool(awsPool(), { autoscaler: { highOccupancy: 2 } })).toThrow(
      /autoscaler\.highOccupancy: must be a number from 0 to 1/,
    );
    expect(() => parseManagerSettings(managerJson({ fleet: { provider: "local" } }))).toThrow(/manager\.json: fleet\.provider: "local"/);
    expect(() => parseManagerSettings(managerJson({ autoscaler: {} }))).toThrow(/manager\.json: autoscaler: set without fleet/);
  });

  it("a waiting task makes the manager process grow the pool's Auto Scaling group", async () => {
    const fake = await FakeAwsAutoScaling.start();
    const { url, drop } = await createTestDatabase("mgrautoscale");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-manager-as-"));
    const tls = path.join(work, "tls");
    writeTlsDir(tls);
    const config = path.join(work, "manager.json");
    const asg = "acme-encode-cpu-asg-1a2b";
    fake.groups.set(asg, { desired: 0, min: 0, max: 6, instances: [] });
    fs.writeFileSync(
      config,
      JSON.stringify(
        managerJson({ pools: [awsPool()], fleet: { provider: "aws", region: "eu-west-1", endpoint: fake.url, maxAttempts: 1 } }),
      ),
    );
    const db = createDb(url);
    let m: Started | undefined;
    try {
      m = await startManagerProcess(
        ["--config", config, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--join-port", "0"],
        {
          DATABASE_URL: url,
          FRAMEFLEET_TLS_DIR: tls,
          FRAMEFLEET_BOOTSTRAP_JOIN_TOKEN: "",
          // the SDK's default chain, as the pod identity would give it
          AWS_ACCESS_KEY_ID: "AKIDFAKE",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_SESSION_TOKEN: "",
          AWS_PROFILE: "",
        },
      );
      expect(m.stderr()).toMatch(/"msg":"autoscaler on","provider":"aws"/);
      // an encode task no host can take: no coordinator has joined
      await insertJob(db, {
        tenant: "acme",
        priority: 50,
        composition: {},
        engine: { name: "ffmpeg", version: "7.1" },
        tasks: [
          {
            key: "encode",
            kind: "encode",
            pool: "encode",
            requirements: { cpuMillis: 2000, memoryMb: 2048, gpus: 0 },
            dependsOn: [],
            maxAttempts: 3,
            spec: {},
          },
        ],
      });
      const deadline = Date.now() + 30_000;
      while (!fake.calls.some((c) => c.op === "SetDesiredCapacity") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const set = fake.calls.find((c) => c.op === "SetDesiredCapacity");
      expect(set, m.stderr()).toBeDefined();
      expect(set!.params).toMatchObject({ AutoScalingGroupName: asg, DesiredCapacity: "1", HonorCooldown: "false" });
      // signed with the credentials from the environment, for the fleet's region
      expect(set!.authorization).toMatch(/Credential=AKIDFAKE\/\d{8}\/eu-west-1\/autoscaling\/aws4_request/);
      expect(fake.groups.get(asg)!.desired).toBe(1);
      const decisions = await db.query<{ action: string; host_group: string; reason: string }>(
        "SELECT action, host_group, reason FROM autoscaler_decisions WHERE action = 'launch'",
      );
      expect(decisions.rows[0]).toMatchObject({ action: "launch", host_group: asg });
      expect(decisions.rows[0]!.reason).toMatch(/waiting encode task fits no running host/);
      m.child.kill("SIGTERM");
      expect((await m.exit).code).toBe(0);
    } finally {
      if (m && m.child.exitCode === null) m.child.kill("SIGKILL");
      await db.end();
      await drop();
      await fake.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
