// The container runner: its flags as argv (no container needed), then real runs in
// the CPU engine image with podman: an encode, the memory limit, cancellation.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEngineImage, type BuiltImage } from "../../test/support/images.js";
import { makeEnv, ctxFor, composition, type Env } from "../engine/e2e-helpers.js";
import { planJob } from "../engine/plan.js";
import { runProcess } from "../engine/proc.js";
import { PermanentTaskError, type DependencyResults, type Json } from "../engine/types.js";
import { findContainerCli, type ContainerCli } from "./container-cli.js";
import {
  ContainerExec,
  ContainerRunner,
  containerName,
  containerRunArgs,
  containerTaskFromLaunch,
  parseImageRef,
  type ContainerSpec,
  type ContainerTask,
} from "./container-runner.js";
import type { WorkerLaunch } from "./launch.js";

const DIGEST = "sha256:" + "ab".repeat(32);

const spec = (o: Partial<ContainerSpec> = {}): ContainerSpec => ({
  cli: "podman",
  name: "ff-t1-a1-1",
  image: `localhost/framefleet/engine-ffmpeg@${DIGEST}`,
  user: "10001",
  memoryMb: 512,
  cpus: 1.5,
  gpuDevices: [],
  network: false,
  workDir: "/var/lib/framefleet/work/t1-1",
  readOnly: ["/srv/store"],
  labels: { "io.framefleet.task": "t1" },
  ...o,
});

/** value of a flag given as `--flag value` */
const flag = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];

describe("container flags", () => {
  it("locks the engine down by default: read-only root, no capabilities, no privileges, no network, non-root, memory and CPU limits", () => {
    const argv = containerRunArgs(spec(), "ffmpeg", ["-i", "in.mp4", "out.mp4"]);
    expect(argv[0]).toBe("run");
    expect(argv).toContain("--read-only");
    expect(argv).toContain("--cap-drop=all");
    expect(flag(argv, "--security-opt")).toBe("no-new-privileges");
    expect(argv).toContain("--network=none");
    expect(flag(argv, "--user")).toBe("10001");
    expect(flag(argv, "--memory")).toBe("512m");
    expect(flag(argv, "--memory-swap")).toBe("512m");
    expect(flag(argv, "--cpus")).toBe("1.5");
    expect(flag(argv, "--name")).toBe("ff-t1-a1-1");
    expect(argv).not.toContain("--rm");
    expect(argv).not.toContain("--gpus");
    expect(argv).not.toContain("--device");
    expect(argv).not.toContain("--privileged");
    // scratch read-write at the same path, the store read-only
    expect(argv).toContain("/var/lib/framefleet/work/t1-1:/var/lib/framefleet/work/t1-1:rw");
    expect(argv).toContain("/srv/store:/srv/store:ro");
    // the image by digest, then the engine's own argv untouched
    const at = argv.indexOf(`localhost/framefleet/engine-ffmpeg@${DIGEST}`);
    expect(argv[at - 1]).toBe("ffmpeg");
    expect(argv[at - 2]).toBe("--entrypoint");
    expect(argv.slice(at + 1)).toEqual(["-i", "in.mp4", "out.mp4"]);
  });

  it("passes GPUs only when the task needs them: CDI devices for podman, --gpus for docker", () => {
    const podman = containerRunArgs(spec({ gpuDevices: ["0", "GPU-4f3c"] }), "ffmpeg", []);
    expect(podman.filter((a, i) => podman[i - 1] === "--device")).toEqual(["nvidia.com/gpu=0", "nvidia.com/gpu=GPU-4f3c"]);
    expect(podman).not.toContain("--gpus");
    const docker = containerRunArgs(spec({ cli: "docker", gpuDevices: ["1"] }), "ffmpeg", []);
    expect(flag(docker, "--gpus")).toBe('"device=1"');
    expect(docker).not.toContain("--device");
  });

  it("opens the network only when told the store needs it, and sets the working directory when asked", () => {
    const argv = containerRunArgs(spec({ network: true, cwd: "/var/lib/framefleet/work/t1-1/pkg" }), "ffprobe", []);
    expect(argv).toContain("--network=bridge");
    expect(argv).not.toContain("--network=none");
    expect(flag(argv, "--workdir")).toBe("/var/lib/framefleet/work/t1-1/pkg");
    expect(containerRunArgs(spec({ cpus: undefined }), "ffmpeg", [])).not.toContain("--cpus");
  });

  it("refuses a root user and a missing memory limit", () => {
    for (const user of ["", "0", "root", "0:0", "root:wheel"]) {
      expect(() => containerRunArgs(spec({ user }), "ffmpeg", [])).toThrow(/must not be root/);
    }
    expect(() => containerRunArgs(spec({ memoryMb: 0 }), "ffmpeg", [])).toThrow(/memory limit must be a positive number/);
  });

  it("names containers from task, attempt and sequence, in the characters a runtime accepts", () => {
    expect(containerName("0b6c1f2e-AAAA-4c1e", 3, 7)).toBe("ff-0b6c1f2e-aaaa-4c1e-a3-7");
    expect(containerName("x/y z", 1, 1)).toMatch(/^ff-x-y-z-a1-1$/);
  });
});

describe("engine image references", () => {
  it("accepts repo@sha256 with and without a registry host and port", () => {
    expect(parseImageRef(`localhost/framefleet/engine-ffmpeg@${DIGEST}`)).toEqual({
      repository: "localhost/framefleet/engine-ffmpeg",
      digest: DIGEST,
    });
    expect(parseImageRef(`mirror.eu-west-1.example.com:5000/ff/engine@${DIGEST}`).repository).toBe(
      "mirror.eu-west-1.example.com:5000/ff/engine",
    );
  });

  it("refuses a tag, a bare name, a short or upper-case digest and an empty reference, saying why", () => {
    for (const bad of [
      "localhost/framefleet/engine-ffmpeg:5.1.9",
      "engine-ffmpeg",
      "localhost/engine@sha256:abc",
      `localhost/engine@sha256:${"AB".repeat(32)}`,
      `localhost/engine:5.1@${DIGEST}`,
    ]) {
      const fn = () => parseImageRef(bad);
      expect(fn, bad).toThrow(PermanentTaskError);
      expect(fn, bad).toThrow(/engineImage .* is not pinned by digest: .*@sha256:<64 hex digits>/);
    }
    expect(() => parseImageRef("")).toThrow(/engineImage is empty/);
  });
});

describe("the launch a container runner reads", () => {
  const launch = (o: Partial<WorkerLaunch> = {}): WorkerLaunch => ({
    managerAddress: "127.0.0.1:1",
    tls: { keyPem: "", certChainPem: "", trustPem: "" },
    task: {
      taskId: "t1",
      attempt: 2,
      epoch: "9",
      jobId: "j",
      taskKey: "encode:240p",
      kind: "encode",
      spec: null,
      deps: {},
      engine: { name: "ffmpeg", version: "5.1" },
      engineImage: `localhost/e@${DIGEST}`,
    },
    stores: { local: { kind: "fs", root: "/srv/store" } },
    workDir: "/w/t1-2",
    ffmpegPath: "ffmpeg",
    ffprobePath: "ffprobe",
    runner: "container",
    requirements: { cpuMillis: 2000, memoryMb: 1024, gpus: 0 },
    memoryLimitMb: 6000,
    ...o,
  });

  it("takes the limits from the task's requirements and mounts fs stores read-only, with no network", () => {
    expect(containerTaskFromLaunch(launch())).toEqual({
      image: `localhost/e@${DIGEST}`,
      taskId: "t1",
      attempt: 2,
      memoryMb: 1024,
      cpuMillis: 2000,
      gpuDevices: [],
      workDir: "/w/t1-2",
      readOnlyPaths: ["/srv/store"],
      network: false,
    });
    expect(containerTaskFromLaunch(launch({ engineVersionCacheDir: "/state/engine-versions" })).versionCacheDir).toBe(
      "/state/engine-versions",
    );
  });

  it("falls back to the coordinator's limit, opens the network for presigned stores, and refuses a GPU task without GPUs", () => {
    const t = containerTaskFromLaunch(
      launch({
        requirements: undefined,
        stores: { local: { kind: "fs", root: "/srv/store" }, media: { kind: "presigned", reads: {} } as unknown as Json },
      }),
    );
    expect(t.memoryMb).toBe(6000);
    expect(t.network).toBe(true);
    expect(() => containerTaskFromLaunch(launch({ requirements: { cpuMillis: 1000, memoryMb: 512, gpus: 1 }, gpuDevices: [] }))).toThrow(
      /task needs 1 GPU\(s\) but the launch names 0/,
    );
    expect(
      containerTaskFromLaunch(launch({ requirements: { cpuMillis: 1000, memoryMb: 512, gpus: 1 }, gpuDevices: ["GPU-1", "GPU-2"] }))
        .gpuDevices,
    ).toEqual(["GPU-1"]);
  });
});

describe("finding the container CLI", () => {
  it("names both podman and docker when neither is on PATH, and names FRAMEFLEET_CONTAINER_CLI when it is wrong", async () => {
    await expect(findContainerCli({ PATH: "/nonexistent" })).rejects.toThrow(/needs podman or docker, and neither is on PATH/);
    await expect(findContainerCli({ PATH: "/nonexistent", FRAMEFLEET_CONTAINER_CLI: "/no/such/podman" })).rejects.toThrow(
      /FRAMEFLEET_CONTAINER_CLI: "\/no\/such\/podman" is not an executable/,
    );
  });

  it("prefers podman, and takes docker when it is the only one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-cli-"));
    try {
      fs.writeFileSync(path.join(dir, "docker"), "#!/bin/sh\n", { mode: 0o755 });
      expect(await findContainerCli({ PATH: dir })).toEqual({ path: path.join(dir, "docker"), kind: "docker" });
      fs.writeFileSync(path.join(dir, "podman"), "#!/bin/sh\n", { mode: 0o755 });
      expect((await findContainerCli({ PATH: dir })).kind).toBe("podman");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- real containers

let image: BuiltImage;
let cli: ContainerCli;
let env: Env;

beforeAll(async () => {
  cli = await findContainerCli(); // fails with the install line when neither podman nor docker is installed
  image = await ensureEngineImage();
  env = await makeEnv("media");
}, 30 * 60_000);
afterAll(async () => {
  await env?.cleanup();
});

function containersOf(taskId: string): string[] {
  return execFileSync(cli.path, ["ps", "-a", "--format", "{{.Names}}", "--filter", `label=io.framefleet.task=${taskId}`])
    .toString()
    .split("\n")
    .filter(Boolean);
}

function taskFor(taskId: string, workDir: string, o: Partial<ContainerTask> = {}): ContainerTask {
  return {
    image: image.pinned,
    taskId,
    attempt: 1,
    memoryMb: 1024,
    cpuMillis: 2000,
    gpuDevices: [],
    workDir,
    readOnlyPaths: [env.store.root],
    network: false,
    ...o,
  };
}

/** The planned tasks of a one-rendition job, and a probe run through `runner`. */
async function probed(runner: ContainerRunner, taskId: string, source: string) {
  const comp = composition({
    apiVersion: "framefleet/v1",
    engine: { name: "ffmpeg", version: "5.1" },
    input: { uri: source },
    output: { uri: "store://media/out/" },
    video: { renditions: [{ name: "360p", height: 360, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 600, maxrateKbps: 800 } }] },
    packaging: { mp4: {} },
  });
  const plan = planJob(comp, { jobId: "job-direct" });
  const probeTask = plan.find((t) => t.kind === "probe")!;
  const { ctx, audit } = ctxFor(env, { taskKey: "probe", engineVersion: "5.1", workDir: path.join(env.dir, "work", `${taskId}-probe`) });
  const probe = await runner.run("probe", probeTask.spec, { ...ctx, taskId: `${taskId}-probe` });
  return { plan, probe, audit };
}

describe("running in the engine image", () => {
  it("probes and encodes inside the image by digest, audits the digest, and leaves no container behind", async () => {
    const source = await env.source("in/clip.mp4", { seconds: 2, width: 640, height: 360 });
    const workDir = path.join(env.dir, "work", "enc");
    const runner = new ContainerRunner({ task: taskFor("ct-enc", workDir), cli });
    const {
      plan,
      probe,
      audit: probeAudit,
    } = await probed(
      new ContainerRunner({ task: taskFor("ct-enc-probe", path.join(env.dir, "work", "ct-enc-probe")), cli }),
      "ct-enc",
      source,
    );
    expect(probe.state).toBe("succeeded");
    const engine = probeAudit.find((a) => a.kind === "engine")!.data as Record<string, Json>;
    expect(engine).toMatchObject({
      runner: "container",
      image: image.pinned,
      imageDigest: image.digest,
      containerCli: cli.kind,
      network: false,
    });
    expect(engine.version).toMatch(/^5\.1\./);
    expect(engine.version).toBe(image.labels["io.framefleet.engine.version"]);
    expect((engine.labels as Record<string, Json>)["io.framefleet.engine.name"]).toBe("ffmpeg");

    const enc = plan.find((t) => t.kind === "encode")!;
    const deps: DependencyResults = { probe: { state: "succeeded", result: probe.result } };
    const { ctx, audit } = ctxFor(env, { taskKey: enc.key, deps, engineVersion: "5.1", workDir });
    fs.mkdirSync(workDir, { recursive: true });
    const out = await runner.run("encode", enc.spec, { ...ctx, taskId: "ct-enc" });
    expect(out.state).toBe("succeeded");
    // the encode's argv is the engine's own, run as the image's ffmpeg
    const argv = audit.find((a) => a.kind === "ffmpeg.argv")!.data as { argv: string[] };
    expect(argv.argv[0]).toBe("ffmpeg");
    expect((audit.find((a) => a.kind === "engine")!.data as Record<string, Json>).imageDigest).toBe(image.digest);
    // the staged output decodes, at the asked height
    const staged = audit.filter((a) => a.kind === "output.sha256").map((a) => (a.data as { key: string }).key);
    expect(staged.length).toBeGreaterThan(0);
    const file = path.join(
      env.store.root,
      staged.find((k) => k.endsWith(".mp4"))!,
    );
    const probeOut = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-show_streams", "-of", "json", file]).toString());
    expect(probeOut.streams[0].height).toBe(360);
    expect(containersOf("ct-enc")).toEqual([]);
    expect(containersOf("ct-enc-probe")).toEqual([]);
  }, 180_000);

  it("ends an engine over its memory limit with a clear reason, and removes its container", async () => {
    const source = await env.source("in/big.mp4", { seconds: 2, width: 1280, height: 720, fps: 25 });
    const { plan, probe } = await probed(
      new ContainerRunner({ task: taskFor("ct-oom-probe", path.join(env.dir, "work", "ct-oom-probe")), cli }),
      "ct-oom",
      source,
    );
    const enc = plan.find((t) => t.kind === "encode")!;
    const workDir = path.join(env.dir, "work", "oom");
    fs.mkdirSync(workDir, { recursive: true });
    const { ctx } = ctxFor(env, {
      taskKey: enc.key,
      deps: { probe: { state: "succeeded", result: probe.result } },
      engineVersion: "5.1",
      workDir,
    });
    // enough for `ffmpeg -version`, far too little to decode 720p and run x264
    const runner = new ContainerRunner({ task: taskFor("ct-oom", workDir, { memoryMb: 40 }), cli });
    const cwdBefore = fs.readdirSync(process.cwd()).sort();
    await expect(runner.run("encode", enc.spec, { ...ctx, taskId: "ct-oom" })).rejects.toThrow(
      "engine exceeded its memory limit of 40 MiB",
    );
    expect(containersOf("ct-oom")).toEqual([]);
    // the runtime's marker of the kill (conmon writes `oom` where it runs) stays in the scratch
    expect(fs.readdirSync(process.cwd()).sort()).toEqual(cwdBefore);
  }, 180_000);

  it("stops and removes the container when the task is cancelled, and its scratch can be removed", async () => {
    const source = await env.source("in/long.mp4", { seconds: 30, width: 1280, height: 720, fps: 25 });
    const { plan, probe } = await probed(
      new ContainerRunner({ task: taskFor("ct-cancel-probe", path.join(env.dir, "work", "ct-cancel-probe")), cli }),
      "ct-cancel",
      source,
    );
    const enc = plan.find((t) => t.kind === "encode")!;
    const workDir = path.join(env.dir, "work", "cancel");
    fs.mkdirSync(workDir, { recursive: true });
    const ac = new AbortController();
    const { ctx } = ctxFor(env, {
      taskKey: enc.key,
      deps: { probe: { state: "succeeded", result: probe.result } },
      engineVersion: "5.1",
      workDir,
      signal: ac.signal,
    });
    const runner = new ContainerRunner({ task: taskFor("ct-cancel", workDir), cli });
    const running = runner.run("encode", enc.spec, { ...ctx, taskId: "ct-cancel" });
    const settled = running.then(
      () => "resolved",
      (e: Error) => e.message,
    );
    // wait until the encode's own container runs (the first is `ffmpeg -version`)
    const t0 = Date.now();
    while (!containersOf("ct-cancel").some((n) => /-a1-[2-9]$/.test(n))) {
      if (Date.now() - t0 > 60_000) throw new Error("the encode container never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort(new Error("cancelled by test"));
    expect(await settled).toMatch(/cancel/);
    expect(containersOf("ct-cancel")).toEqual([]);
    // the worker removes the scratch after every attempt; files the container's user wrote included
    fs.rmSync(workDir, { recursive: true, force: true });
    expect(fs.existsSync(workDir)).toBe(false);
  }, 180_000);

  it("refuses a launch whose image is not pinned by digest before starting any container", async () => {
    const workDir = path.join(env.dir, "work", "tagged");
    const runner = new ContainerRunner({ task: taskFor("ct-tag", workDir, { image: image.ref }), cli });
    const { ctx } = ctxFor(env, { taskKey: "probe", workDir });
    await expect(runner.run("probe", { input: "store://media/in/clip.mp4" }, ctx)).rejects.toThrow(/is not pinned by digest/);
    expect(containersOf("ct-tag")).toEqual([]);
  });

  it("asks the image for its ffmpeg version once per host and digest, and reads it from the host after that", async () => {
    const workDir = path.join(env.dir, "work", "version-cache");
    fs.mkdirSync(workDir, { recursive: true });
    const versionCacheDir = path.join(env.dir, "engine-versions");
    const first = await new ContainerExec(cli, taskFor("ct-vc-1", workDir, { versionCacheDir })).describe();
    expect(first.version).toBe(image.labels["io.framefleet.engine.version"]);
    expect(first.audit.versionFrom).toBe("ffmpeg -version in the image");
    const entry = path.join(versionCacheDir, `${image.digest.slice("sha256:".length)}.json`);
    expect(JSON.parse(fs.readFileSync(entry, "utf8"))).toEqual({ version: first.version, fullVersion: first.fullVersion });

    // a later task reads the entry (marked here, to tell it from a new run) and starts no container to ask
    fs.writeFileSync(entry, JSON.stringify({ version: first.version, fullVersion: `${first.fullVersion}+cached` }));
    const second = await new ContainerExec(cli, taskFor("ct-vc-2", workDir, { versionCacheDir })).describe();
    expect(second.fullVersion).toBe(`${first.fullVersion}+cached`);
    expect(second.audit.versionFrom).toBe("host cache by image digest");
    expect(second.audit.imageDigest).toBe(image.digest);

    // a damaged entry is a miss, not an error: the image is asked again and the entry rewritten
    fs.writeFileSync(entry, "{not json");
    const third = await new ContainerExec(cli, taskFor("ct-vc-3", workDir, { versionCacheDir })).describe();
    expect(third.fullVersion).toBe(first.fullVersion);
    expect(third.audit.versionFrom).toBe("ffmpeg -version in the image");
    expect(JSON.parse(fs.readFileSync(entry, "utf8")).fullVersion).toBe(first.fullVersion);
  }, 120_000);

  it("costs little per invocation: container start-up measured against the host's ffmpeg", async () => {
    const workDir = path.join(env.dir, "work", "overhead");
    fs.mkdirSync(workDir, { recursive: true });
    const exec = new ContainerExec(cli, taskFor("ct-overhead", workDir));
    await exec.describe(); // image inspected once per task, as in a real run
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      for (let i = 0; i < 5; i++) await fn();
      return (performance.now() - t) / 5;
    };
    const args = ["-hide_banner", "-version"];
    const host = await time(() => runProcess("ffmpeg", args));
    const container = await time(() => runProcess("ffmpeg", args, { exec }));
    process.stderr.write(
      `container runner overhead: ffmpeg -version ${container.toFixed(0)} ms in a container vs ${host.toFixed(0)} ms on the host (+${(container - host).toFixed(0)} ms per invocation)\n`,
    );
    // a start that took seconds would dominate short tasks such as probes
    expect(container - host).toBeLessThan(2000);
    await exec.removeAll();
    expect(containersOf("ct-overhead")).toEqual([]);
  }, 120_000);
});
