// `framefleet demo`: on a fresh machine, start the embedded region, make a
// 1080p test source with audio (unless given one), submit the example ABR
// ladder, show progress, and say where the master playlist is.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRegion } from "./region.js";
import { createApiKey } from "./apikeys.js";
import { ApiClient } from "./client.js";
import { watchJob, type JobView } from "./watch.js";
import { makeTestSource, testSourceArgs } from "../engine/testsrc.js";
import { runChecked } from "../engine/proc.js";
import { registerEngine, type EngineHardware } from "../manager/store/engines.js";
import { ContainerExec } from "../worker/container-runner.js";
import { findContainerCli } from "../worker/container-cli.js";

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface EngineImage {
  /** repo@sha256:<hex> */
  pinned: string;
  labels: Record<string, string>;
}

/** The CPU engine image `npm run images:build` recorded in .framefleet/images.json. */
export function demoEngineImage(
  file = path.resolve(REPO_ROOT, process.env.FRAMEFLEET_IMAGES_MANIFEST || path.join(".framefleet", "images.json")),
): EngineImage {
  let manifest: { images?: Record<string, { pinned?: string; labels?: Record<string, string> }> };
  try {
    manifest = JSON.parse(fs.readFileSync(file, "utf8")) as typeof manifest;
  } catch (err) {
    throw new Error(
      `--runner container needs the engine image, and ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): build the images first with: npm run images:build`,
    );
  }
  const img = manifest.images?.["engine-ffmpeg"];
  if (!img?.pinned) throw new Error(`${file} lists no engine-ffmpeg image: build it with: npm run images:build`);
  return { pinned: img.pinned, labels: img.labels ?? {} };
}

/** The demo's test source, made by ffmpeg inside the engine image: the container runner needs no host ffmpeg. */
async function makeTestSourceInImage(image: string, file: string, seconds: number): Promise<void> {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const exec = new ContainerExec(await findContainerCli(), {
    image,
    taskId: "demo-source",
    attempt: 1,
    memoryMb: 1024,
    cpuMillis: 0,
    gpuDevices: [],
    workDir: dir,
    readOnlyPaths: [],
    network: false,
  });
  try {
    await runChecked("ffmpeg", testSourceArgs(file, { seconds, width: 1920, height: 1080, fps: 25, audio: true }), { exec });
  } finally {
    await exec.removeAll();
  }
}

export const LADDER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "examples",
  "compositions",
  "hls-dash-ladder.json",
);

export interface DemoOptions {
  dataDir: string;
  input?: string;
  seconds: number;
  composition?: string;
  json: boolean;
  /** "container": run the engine inside the engine image that `npm run images:build` made */
  runner?: "process" | "container";
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface DemoResult {
  jobId: string;
  state: string;
  outputs: { committed: string[]; masterPlaylist?: string; dashManifest?: string; missing: unknown[] };
  stages: Record<string, { seconds: number; attempts: number; state: string }>;
  wallSeconds: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const say = (s: string) => {
    if (!o.json) process.stderr.write(s + "\n");
  };
  // before anything starts: without the image there is nothing to run
  const image = o.runner === "container" ? demoEngineImage() : undefined;
  say("starting an embedded region (PostgreSQL, manager, local fleet) ...");
  const region = await startRegion({
    dataDir: o.dataDir,
    httpPort: 0,
    grpcPort: 0,
    joinPort: 0,
    idleTimeoutMs: 5000,
    runner: o.runner,
    log: o.log,
  });
  try {
    if (image) {
      const l = (k: string) => image.labels[`io.framefleet.engine.${k}`] ?? "";
      const list = (k: string) =>
        l(k)
          .split(/[,\s]+/)
          .filter(Boolean);
      await registerEngine(region.manager.db, {
        name: l("name") || "ffmpeg",
        version: l("version"),
        image: image.pinned,
        encoders: list("encoders"),
        hwaccels: list("hwaccels"),
        hardware: (l("hardware") || "cpu") as EngineHardware,
        registeredBy: "demo",
      });
      say(`engine image ${image.pinned} registered; workers run the engine inside it`);
    }
    const source = path.join(region.storeRoot, "inputs", "demo-source.mp4");
    if (o.input) {
      fs.mkdirSync(path.dirname(source), { recursive: true });
      fs.copyFileSync(o.input, source);
    } else if (!fs.existsSync(source) || process.env.FRAMEFLEET_DEMO_FRESH_SOURCE) {
      say(`making a ${o.seconds}-second 1080p test source with audio ...`);
      if (image) await makeTestSourceInImage(image.pinned, source, o.seconds);
      else await makeTestSource(source, { seconds: o.seconds, width: 1920, height: 1080, fps: 25, audio: true });
    }
    const composition = JSON.parse(fs.readFileSync(o.composition ?? LADDER, "utf8")) as Record<string, unknown>;
    const runId = new Date().toISOString().replace(/[:.]/g, "-");
    composition.input = { ...(composition.input as object), uri: "store://local/inputs/demo-source.mp4" };
    composition.output = { uri: `store://local/outputs/demo-${runId}/` };
    const { key } = await createApiKey(region.manager.db, { tenant: "demo", role: "submitter", name: "demo" });
    const client = new ApiClient(region.manager.urls.http, key);
    const job = await client.request<{ id: string }>("POST", "/v1/jobs", { composition });
    say(`submitted job ${job.id}`);
    const done: JobView & {
      outputs?: { committed?: string[]; missing?: unknown[] };
      tasks: (JobView["tasks"][number] & { startedAt?: string; finishedAt?: string })[];
    } = (await watchJob(client, job.id, { quiet: o.json })) as never;
    const committed = done.outputs?.committed ?? [];
    const toPath = (ref: string) => path.join(region.storeRoot, ref.replace(/^store:\/\/local\//, ""));
    const master = committed.find((c) => /master\.m3u8$/.test(c)) ?? committed.find((c) => c.endsWith(".m3u8"));
    const mpd = committed.find((c) => c.endsWith(".mpd"));
    const stages: DemoResult["stages"] = {};
    for (const t of done.tasks) {
      const secs = t.startedAt && t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : 0;
      stages[t.key] = { seconds: Math.round(secs * 100) / 100, attempts: t.attempts, state: t.state };
    }
    const result: DemoResult = {
      jobId: job.id,
      state: done.state,
      outputs: {
        committed: committed.map(toPath),
        masterPlaylist: master ? toPath(master) : undefined,
        dashManifest: mpd ? toPath(mpd) : undefined,
        missing: done.outputs?.missing ?? [],
      },
      stages,
      wallSeconds: Math.round((performance.now() - t0) / 10) / 100,
    };
    if (!o.json) {
      say(`job ${done.state}`);
      if (result.outputs.masterPlaylist) say(`HLS master playlist: ${result.outputs.masterPlaylist}`);
      if (result.outputs.dashManifest) say(`DASH manifest:       ${result.outputs.dashManifest}`);
    }
    return result;
  } finally {
    await region.stop();
  }
}
