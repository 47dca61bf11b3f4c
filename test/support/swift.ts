// A real S3-compatible server on loopback for the storage tests: OpenStack Swift
// (Debian's packages) with its `s3api` middleware, which checks SigV4 signatures and
// implements multipart upload (with `slo`), ranged GETs, presigned URLs and ListObjectsV2.
// Why Swift: MinIO and Ceph's gateway do not install here; Swift does, from apt
// (`swift swift-proxy swift-object swift-container swift-account memcached`).
//
// Every run gets its own temporary directory (configs, rings, data) and its own free
// loopback ports; the processes started here are stopped by their ids. When the
// binaries are absent the tests that need it fail and say which packages to install (`swiftSkipReason`).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { canConnect, freePort } from "./net.js";

export const SWIFT_APT_PACKAGES = ["swift", "swift-proxy", "swift-object", "swift-container", "swift-account", "memcached"];
const BINARIES = [
  "swift-proxy-server",
  "swift-object-server",
  "swift-container-server",
  "swift-account-server",
  "swift-ring-builder",
  "memcached",
];

export interface SwiftServer {
  /** S3 endpoint, e.g. http://127.0.0.1:34567 */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"])) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** undefined when Swift can run here; else the reason the S3 tests skip. */
export function swiftSkipReason(): string | undefined {
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length === 0) return undefined;
  return `OpenStack Swift is not installed (missing ${missing.join(", ")}); install the Debian packages: apt-get install -y ${SWIFT_APT_PACKAGES.join(" ")}`;
}

const serverConf = (kind: string, dir: string, devices: string, port: number, extra = "") => `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${os.userInfo().username}
swift_dir = ${dir}
devices = ${devices}
mount_check = false
log_name = ${kind}
log_facility = LOG_LOCAL0
log_level = WARNING
disable_fallocate = true
${extra}
[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;

/**
 * `versioning`: Swift's object versioning (versioned_writes with allow_object_versioning,
 * and the symlink middleware it needs) in the proxy pipeline, which is what s3api's
 * PutBucketVersioning and ListObjectVersions are built on. Off by default, as in a plain
 * Swift proxy.
 */
export async function startSwift(opts: { keepLogs?: boolean; versioning?: boolean } = {}): Promise<SwiftServer> {
  const reason = swiftSkipReason();
  if (reason) throw new Error(reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-swift-"));
  const devices = path.join(dir, "srv");
  fs.mkdirSync(path.join(devices, "d1"), { recursive: true });
  const [objPort, contPort, acctPort, proxyPort, memPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];

  fs.writeFileSync(
    path.join(dir, "swift.conf"),
    `[swift-hash]
swift_hash_path_suffix = framefleet-test-${process.pid}
swift_hash_path_prefix = framefleet-test

[storage-policy:0]
name = Policy-0
default = yes
`,
  );
  for (const [kind, port] of [
    ["object", objPort],
    ["container", contPort],
    ["account", acctPort],
  ] as const) {
    const b = path.join(dir, `${kind}.builder`);
    execFileSync("swift-ring-builder", [b, "create", "10", "1", "1"], { stdio: "ignore" });
    execFileSync("swift-ring-builder", [b, "add", `r1z1-127.0.0.1:${port}/d1`, "1"], { stdio: "ignore" });
    // rebalance exits 1 on warnings (e.g. "balance is not perfect"); the ring is written all the same
    try {
      execFileSync("swift-ring-builder", [b, "rebalance"], { stdio: "ignore" });
    } catch {
      /* checked below */
    }
    if (!fs.existsSync(path.join(dir, `${kind}.ring.gz`))) throw new Error(`swift-ring-builder did not write ${kind}.ring.gz`);
  }
  fs.writeFileSync(path.join(dir, "object-server.conf"), serverConf("object", dir, devices, objPort));
  fs.writeFileSync(path.join(dir, "container-server.conf"), serverConf("container", dir, devices, contPort));
  fs.writeFileSync(path.join(dir, "account-server.conf"), serverConf("account", dir, devices, acctPort));
  fs.writeFileSync(
    path.join(dir, "proxy-server.conf"),
    `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${proxyPort}
workers = 0
user = ${os.userInfo().username}
swift_dir = ${dir}
log_name = proxy
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache s3api tempauth ${opts.versioning ? "copy slo dlo versioned_writes symlink" : "slo dlo"} proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memPort}

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
check_bucket_owner = false
allow_multipart_uploads = true
min_segment_size = 5242880

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:copy]
use = egg:swift#copy

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_object_versioning = true

[filter:symlink]
use = egg:swift#symlink
`,
  );

  const procs: ChildProcess[] = [];
  const logFile = path.join(dir, "swift.log");
  const log = fs.openSync(logFile, "a");
  const start = (cmd: string, args: string[]) => {
    // Swift's servers call setsid() (each leads its own process group, as memcached does
    // here with detached): a group is stopped by signalling -pid
    const p = spawn(cmd, args, { stdio: ["ignore", log, log], detached: true, env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    procs.push(p);
    return p;
  };
  const killGroup = (p: ChildProcess, sig: NodeJS.Signals) => {
    if (!p.pid) return;
    try {
      process.kill(-p.pid, sig);
    } catch {
      try {
        process.kill(p.pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  // If this process dies without stop() (a test worker killed on a timeout runs no exit
  // handlers), a detached watchdog stops the servers it was told about.
  let watchdog: ChildProcess | undefined;
  const armWatchdog = () => {
    const groups = procs.map((p) => p.pid).filter((x): x is number => !!x);
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; for g in ${groups.join(" ")}; do kill -TERM -$g 2>/dev/null; done; sleep 3; for g in ${groups.join(" ")}; do kill -KILL -$g 2>/dev/null; done; rm -rf '${dir}'`;
    watchdog = spawn("bash", ["-c", script], { stdio: "ignore", detached: true });
    watchdog.unref();
  };
  const onExit = () => {
    for (const p of procs) killGroup(p, "SIGKILL");
  };
  process.once("exit", onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", onExit);
    if (watchdog?.pid) killGroup(watchdog, "SIGKILL");
    for (const p of [...procs].reverse()) {
      if (p.exitCode === null && p.signalCode === null && p.pid) {
        const exited = new Promise<void>((r) => p.once("exit", () => r()));
        killGroup(p, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
      killGroup(p, "SIGKILL"); // forked workers that outlived their parent
    }
    fs.closeSync(log);
    if (!opts.keepLogs) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    start("memcached", [
      "-l",
      "127.0.0.1",
      "-p",
      String(memPort),
      "-U",
      "0",
      "-m",
      "32",
      ...(process.getuid?.() === 0 ? ["-u", "root"] : []),
    ]);
    start("swift-account-server", [path.join(dir, "account-server.conf"), "-v"]);
    start("swift-container-server", [path.join(dir, "container-server.conf"), "-v"]);
    start("swift-object-server", [path.join(dir, "object-server.conf"), "-v"]);
    start("swift-proxy-server", [path.join(dir, "proxy-server.conf"), "-v"]);
    armWatchdog();
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const dead = procs.find((p) => p.exitCode !== null);
      if (dead) throw new Error(`a Swift process exited early (code ${dead.exitCode}): ${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
      try {
        // the proxy answers /info before the backends listen: wait for every port
        const backends = await Promise.all([objPort, contPort, acctPort, memPort].map(canConnect));
        const r = await fetch(`${endpoint}/info`);
        if (r.status === 200 && backends.every(Boolean)) break;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline)
        throw new Error(`Swift did not answer /info within 120 s: ${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { endpoint, region: "us-east-1", accessKeyId: "test:tester", secretAccessKey: "testing", stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
