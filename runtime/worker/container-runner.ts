// The container runner: the engine code stays in the worker on the host and builds
// every argv as it always does, but each ffmpeg/ffprobe invocation runs inside the
// task's engine image, pinned by digest, in a container held to the task's memory and
// CPU, with no network, no capabilities, a read-only root filesystem and a non-root
// user. Only the attempt's scratch directory is writable, mounted at the same path
// as on the host so argv paths need no rewriting.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PermanentTaskError, type EngineExec, type ExecEngine, type Json, type TaskContext, type TaskOutcome } from "../engine/types.js";
import { runProcess, type RunResult, type WrappedInvocation } from "../engine/proc.js";
import { parseVersionBanner } from "../engine/discover.js";
import type { StoreDefinitions } from "../storage/definitions.js";
import { BUILTIN_KINDS, runBuiltin } from "./builtin.js";
import { findContainerCli, type ContainerCli } from "./container-cli.js";
import type { WorkerLaunch } from "./launch.js";
import { readImageEngineVersion, writeImageEngineVersion } from "./engine-version-cache.js";
import type { Runner } from "./runner.js";

// registry[:port]/path/name@sha256:<64 hex>, lower case as the distribution spec requires
const DIGEST_REF = /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)@(sha256:[a-f0-9]{64})$/;

/** Splits `repo@sha256:<hex>`; anything else (a tag, a bare name, a short digest) is refused. */
export function parseImageRef(ref: string): { repository: string; digest: string } {
  if (!ref) {
    throw new PermanentTaskError(
      "engineImage is empty: the task's engine has no registered image, so the container runner cannot run it (register the engine with its image, or run this host with the process runner)",
    );
  }
  const m = DIGEST_REF.exec(ref);
  if (!m) {
    throw new PermanentTaskError(
      `engineImage ${JSON.stringify(ref)} is not pinned by digest: the container runner runs only <repository>@sha256:<64 hex digits>, since a tag can be moved to other bytes`,
    );
  }
  return { repository: m[1]!, digest: m[2]! };
}

export interface ContainerSpec {
  cli: ContainerCli["kind"];
  name: string;
  image: string;
  /** numeric uid[:gid] or a user name: never root */
  user: string;
  memoryMb: number;
  /** CPU quota in cores; absent: no quota */
  cpus?: number;
  /** GPUs (index or UUID) to expose; empty: none */
  gpuDevices: string[];
  network: boolean;
  /** the attempt's scratch, the one writable mount */
  workDir: string;
  /** host paths the engine reads (fs store roots), mounted read-only at the same path */
  readOnly: string[];
  cwd?: string;
  labels: Record<string, string>;
}

/** The `run` argv for one invocation of `bin args` in the engine image (no shell anywhere). */
export function containerRunArgs(spec: ContainerSpec, bin: string, args: string[]): string[] {
  if (!(spec.memoryMb > 0)) throw new Error(`container memory limit must be a positive number of MiB, got ${spec.memoryMb}`);
  if (isRootUser(spec.user)) throw new Error(`container user must not be root, got ${JSON.stringify(spec.user)}`);
  const out = [
    "run",
    "--name",
    spec.name,
    // no --rm: the runner removes each container itself, in the background after a normal
    // end and before it reports a cancellation, and sweeps by label at the end of the task
    "--pull=never",
    "--read-only",
    "--cap-drop=all",
    "--security-opt",
    "no-new-privileges",
    "--user",
    spec.user,
    // equal memory and memory+swap: the limit is real, not a slow spill to swap
    "--memory",
    `${Math.ceil(spec.memoryMb)}m`,
    "--memory-swap",
    `${Math.ceil(spec.memoryMb)}m`,
    "--pids-limit",
    "1024",
    // ffmpeg's output reaches the worker through the attached pipes; a log file would only fill the disk
    "--log-driver",
    "none",
    `--network=${spec.network ? "bridge" : "none"}`,
    // the image's HEALTHCHECK is for long-running use; here it would only schedule timers per invocation
    "--no-healthcheck",
  ];
  if (spec.cpus !== undefined) out.push("--cpus", spec.cpus.toFixed(3).replace(/\.?0+$/, ""));
  if (spec.gpuDevices.length > 0) {
    if (spec.cli === "docker") out.push("--gpus", `"device=${spec.gpuDevices.join(",")}"`);
    // podman reaches NVIDIA GPUs through CDI (nvidia-ctk cdi generate, done by the host bootstrap)
    else for (const d of spec.gpuDevices) out.push("--device", `nvidia.com/gpu=${d}`);
    out.push("--env", "NVIDIA_DRIVER_CAPABILITIES=compute,video,utility");
  }
  for (const [k, v] of Object.entries(spec.labels)) out.push("--label", `${k}=${v}`);
  out.push("-v", `${spec.workDir}:${spec.workDir}:rw`);
  for (const p of spec.readOnly) {
    if (p === spec.workDir) continue;
    out.push("-v", `${p}:${p}:ro`);
  }
  if (spec.cwd) out.push("--workdir", spec.cwd);
  out.push("--entrypoint", bin, spec.image, ...args);
  return out;
}

export function isRootUser(user: string): boolean {
  const u = user.split(":")[0]!.trim();
  return u === "" || u === "0" || u === "root";
}

/** `ff-<task>-a<attempt>-<seq>`: cancel and clean-up find the container by name and by label. */
export function containerName(taskId: string, attempt: number, seq: number): string {
  const id = taskId
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, "-")
    .slice(0, 64);
  return `ff-${id}-a${attempt}-${seq}`;
}

export class EngineMemoryError extends Error {
  constructor(readonly limitMb: number) {
    super(`engine exceeded its memory limit of ${limitMb} MiB`);
    this.name = "EngineMemoryError";
  }
}

export interface ContainerTask {
  /** repo@sha256:<hex> */
  image: string;
  taskId: string;
  attempt: number;
  memoryMb: number;
  cpuMillis: number;
  gpuDevices: string[];
  workDir: string;
  readOnlyPaths: string[];
  network: boolean;
  /** where this host keeps each engine image's ffmpeg version, per digest (engine-version-cache.ts) */
  versionCacheDir?: string;
}

const LABEL_RUN = "io.framefleet.run";

async function cliRun(cli: ContainerCli, args: string[]): Promise<RunResult> {
  return runProcess(cli.path, args, { stderrLimit: 8 * 1024 });
}

/**
 * The EngineExec of one task attempt: wraps each invocation in `<cli> run ... image`,
 * explains how it ended, and removes every container it made.
 */
export class ContainerExec implements EngineExec {
  private seq = 0;
  private readonly removing = new Set<Promise<void>>();
  private readonly runId = randomBytes(6).toString("hex");
  private image: Promise<{ user: string; uid?: number; gid?: number; labels: Record<string, string> }> | undefined;
  private engine: Promise<ExecEngine> | undefined;
  readonly digest: string;
  private readonly cpus: number | undefined;

  constructor(
    readonly cli: ContainerCli,
    readonly task: ContainerTask,
    hostCpus = os.availableParallelism(),
  ) {
    this.digest = parseImageRef(task.image).digest;
    // CPU may be oversubscribed by placement (a 4-core encode on a 2-core host); the runtime refuses a quota above the host
    this.cpus = task.cpuMillis > 0 ? Math.min(task.cpuMillis, hostCpus * 1000) / 1000 : undefined;
  }

  /** The image's declared user (refused if root) and labels; pulled first when this host lacks it. */
  private inspectImage() {
    this.image ??= (async () => {
      const fmt = ["image", "inspect", "--format", "{{json .Config.User}} {{json .Config.Labels}}", this.task.image];
      let r = await cliRun(this.cli, fmt);
      if (r.code !== 0) {
        const pulled = await cliRun(this.cli, ["pull", "--quiet", this.task.image]);
        if (pulled.code !== 0) {
          throw new Error(
            `engine image ${this.task.image} is not on this host and could not be pulled: ${tail(pulled.stderr || r.stderr)}`,
          );
        }
        r = await cliRun(this.cli, fmt);
        if (r.code !== 0) throw new Error(`${this.cli.kind} cannot inspect engine image ${this.task.image}: ${tail(r.stderr)}`);
      }
      const sp = r.stdout.trim().indexOf(" ");
      const user = JSON.parse(r.stdout.trim().slice(0, sp)) as string;
      const labels = (JSON.parse(r.stdout.trim().slice(sp + 1)) as Record<string, string> | null) ?? {};
      if (isRootUser(user)) {
        throw new PermanentTaskError(
          `engine image ${this.task.image} declares ${user ? `USER ${user}` : "no USER"}: engine images must run as a non-root user`,
        );
      }
      const [u, g] = user.split(":");
      const uid = /^\d+$/.test(u ?? "") ? Number(u) : undefined;
      const gid = /^\d+$/.test(g ?? "") ? Number(g) : undefined;
      return { user, uid, gid, labels };
    })();
    return this.image;
  }

  async wrap(bin: string, args: string[], o: { cwd?: string }): Promise<WrappedInvocation> {
    const img = await this.inspectImage();
    // the engine made these directories as the worker's user; the container's user must write in them
    await openScratch(this.task.workDir, img.uid, img.gid);
    const name = containerName(this.task.taskId, this.task.attempt, ++this.seq);
    const argv = containerRunArgs(
      {
        cli: this.cli.kind,
        name,
        image: this.task.image,
        user: img.user,
        memoryMb: this.task.memoryMb,
        cpus: this.cpus,
        gpuDevices: this.task.gpuDevices,
        network: this.task.network,
        workDir: this.task.workDir,
        // a store root that does not exist holds nothing to read, and a mount of it would fail
        readOnly: this.task.readOnlyPaths.filter((p) => existsSync(p)),
        cwd: o.cwd,
        labels: { [LABEL_RUN]: this.runId, "io.framefleet.task": this.task.taskId, "io.framefleet.attempt": String(this.task.attempt) },
      },
      bin,
      args,
    );
    return {
      bin: this.cli.path,
      args: argv,
      // the runtime's helpers write beside themselves (conmon leaves an `oom` marker in its working
      // directory when the kernel kills the engine): in the attempt's scratch, that goes with it
      hostCwd: this.task.workDir,
      stop: async () => {
        await cliRun(this.cli, ["kill", name]).catch(() => undefined);
      },
      finish: (r, cancelled) => this.finish(name, r, cancelled),
    };
  }

  private async finish(name: string, r: RunResult | undefined, cancelled: boolean): Promise<Error | undefined> {
    const removed = cliRun(this.cli, ["rm", "-f", name]).then(
      () => undefined,
      () => undefined,
    );
    if (cancelled || !r) {
      // a cancelled task's container must be gone before the cancellation is reported
      await removed;
      return undefined;
    }
    // removal of an ended container overlaps the engine's next step; removeAll waits for it
    this.removing.add(removed);
    void removed.then(() => this.removing.delete(removed));
    // 137 is SIGKILL. Inside a container this runner did not stop, only the kernel's
    // OOM killer sends it; the runtime's OOMKilled flag is not set on every cgroup
    // set-up (never under this machine's cgroup v1), so the exit status is what counts.
    if (r.code === 137) return new EngineMemoryError(this.task.memoryMb);
    if (r.code === 125) return new Error(`${this.cli.kind} could not run engine image ${this.task.image}: ${tail(r.stderr)}`);
    if (r.code === 126 || r.code === 127) {
      return new Error(`engine image ${this.task.image} cannot run its engine binary: ${tail(r.stderr)}`);
    }
    return undefined;
  }

  describe(): Promise<ExecEngine> {
    this.engine ??= (async () => {
      const img = await this.inspectImage();
      const dir = this.task.versionCacheDir;
      let v = dir ? readImageEngineVersion(dir, this.digest) : undefined;
      const versionFrom = v ? "host cache by image digest" : "ffmpeg -version in the image";
      if (!v) {
        const r = await runProcess("ffmpeg", ["-hide_banner", "-version"], { exec: this });
        if (r.code !== 0) throw new Error(`ffmpeg -version failed in engine image ${this.task.image}: ${tail(r.stderr)}`);
        v = parseVersionBanner(r.stdout);
        if (dir) writeImageEngineVersion(dir, this.digest, v);
      }
      const engineLabels: Record<string, Json> = {};
      for (const [k, val] of Object.entries(img.labels)) if (k.startsWith("io.framefleet.engine.")) engineLabels[k] = val;
      return {
        name: "ffmpeg",
        version: v.version,
        fullVersion: v.fullVersion,
        audit: {
          runner: "container",
          image: this.task.image,
          imageDigest: this.digest,
          containerCli: this.cli.kind,
          versionFrom,
          user: img.user,
          ffmpegPath: "ffmpeg",
          ffprobePath: "ffprobe",
          limits: { memoryMb: this.task.memoryMb, cpus: this.cpus ?? null, gpus: this.task.gpuDevices.length },
          network: this.task.network,
          labels: engineLabels,
        },
      };
    })();
    return this.engine;
  }

  /** Removes every container this attempt made (an interrupted finish may have left one). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.removing]);
    const r = await cliRun(this.cli, ["ps", "-a", "-q", "--filter", `label=${LABEL_RUN}=${this.runId}`]).catch(() => undefined);
    const ids = (r?.stdout ?? "").split("\n").filter(Boolean);
    if (ids.length > 0) await cliRun(this.cli, ["rm", "-f", ...ids]).catch(() => undefined);
  }
}

function tail(s: string): string {
  return s.trim().split("\n").slice(-4).join(" | ") || "(no output)";
}

/** Gives the container's user write access to the scratch tree (the worker made it as its own user). */
async function openScratch(dir: string, uid: number | undefined, gid: number | undefined): Promise<void> {
  // the mount's source must exist; the worker makes it, a direct caller may not have
  await mkdir(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isSymbolicLink()) return;
    if (asRoot && uid !== undefined) {
      if (st.uid !== uid) await chown(p, uid, gid ?? st.gid);
    } else if (st.isDirectory() && (st.mode & 0o777) !== 0o777) {
      // without root, or with a user named rather than numbered, the owner cannot be
      // changed: the scratch is this attempt's alone, so open its directories instead
      await chmod(p, 0o777);
    }
    if (st.isDirectory()) for (const e of await readdir(p)) await walk(path.join(p, e));
  };
  await walk(dir);
}

/** The ContainerTask a launch describes: limits from the task's requirements, mounts from its stores. */
export function containerTaskFromLaunch(launch: WorkerLaunch): ContainerTask {
  const req = launch.requirements;
  const memoryMb = req && req.memoryMb > 0 ? req.memoryMb : launch.memoryLimitMb;
  if (!memoryMb || !(memoryMb > 0)) {
    throw new Error("launch has neither requirements.memoryMb nor memoryLimitMb: the container runner needs a memory limit");
  }
  const gpus = req?.gpus ?? 0;
  const devices = (launch.gpuDevices ?? []).slice(0, gpus);
  if (devices.length < gpus) {
    throw new Error(
      `task needs ${gpus} GPU(s) but the launch names ${devices.length} (gpuDevices: ${JSON.stringify(launch.gpuDevices ?? [])})`,
    );
  }
  const stores = (launch.stores ?? {}) as unknown as StoreDefinitions;
  const readOnlyPaths: string[] = [];
  let network = false;
  for (const def of Object.values(stores)) {
    if (def.kind === "fs") readOnlyPaths.push(path.resolve(def.root));
    // any other store reaches a worker as presigned URLs, which ffmpeg itself opens
    else network = true;
  }
  return {
    image: launch.task.engineImage,
    taskId: launch.task.taskId,
    attempt: launch.task.attempt,
    memoryMb,
    cpuMillis: req?.cpuMillis ?? 0,
    gpuDevices: devices,
    workDir: path.resolve(launch.workDir),
    readOnlyPaths,
    network,
    versionCacheDir: launch.engineVersionCacheDir,
  };
}

export interface ContainerRunnerOptions {
  /** a function is called when the task runs, so a bad launch fails the task with its reason */
  task: ContainerTask | (() => ContainerTask);
  /** default: findContainerCli() */
  cli?: ContainerCli;
  hostCpus?: number;
}

/** Runs the engine with each ffmpeg/ffprobe invocation inside the task's engine image. */
export class ContainerRunner implements Runner {
  readonly name = "container";

  constructor(private readonly o: ContainerRunnerOptions) {}

  async run(kind: string, spec: Json, ctx: TaskContext): Promise<TaskOutcome> {
    if (BUILTIN_KINDS.has(kind)) return runBuiltin(kind, spec, ctx);
    const task = typeof this.o.task === "function" ? this.o.task() : this.o.task;
    parseImageRef(task.image);
    const cli = this.o.cli ?? (await findContainerCli());
    const exec = new ContainerExec(cli, task, this.o.hostCpus);
    const { runTask } = await import("../engine/run.js");
    try {
      return await runTask(kind, spec, { ...ctx, exec, ffmpegPath: "ffmpeg", ffprobePath: "ffprobe" });
    } finally {
      await exec.removeAll();
    }
  }
}
