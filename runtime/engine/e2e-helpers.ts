// Shared set-up for the engine's end-to-end tests (not a test file itself).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { FsStore } from "../storage/fs.js";
import type { Store } from "../storage/store.js";
import { validateComposition, type Composition } from "./composition.js";
import { makeTestSource, type TestSourceOptions } from "./testsrc.js";
import type { AuditEntry, DependencyResults, TaskContext } from "./types.js";
import { runChecked, runProcess } from "./proc.js";
import { resolveBinaries } from "./discover.js";

/** An arbitrary parsed document (ffprobe JSON, an MPD, a task result) that tests poke into. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary documents
export type Doc = any;

export interface Env {
  dir: string;
  store: FsStore;
  resolveStore(name: string): Store;
  source(key: string, o: Partial<TestSourceOptions>): Promise<string>;
  cleanup(): Promise<void>;
  bins: { ffmpegPath: string; ffprobePath: string };
}

export async function makeEnv(storeName = "media"): Promise<Env> {
  const dir = await mkdtemp(path.join(tmpdir(), "ff-e2e-"));
  const store = new FsStore(storeName, path.join(dir, "store"));
  const bins = await resolveBinaries();
  return {
    bins,
    dir,
    store,
    resolveStore(name: string) {
      if (name !== storeName) throw new Error(`unknown store ${name}`);
      return store;
    },
    async source(key, o) {
      await makeTestSource(path.join(store.root, key), {
        seconds: 4,
        width: 640,
        height: 360,
        fps: 30,
        audio: true,
        ffmpegPath: bins.ffmpegPath,
        ...o,
      });
      return `store://${storeName}/${key}`;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function composition(c: unknown): Composition {
  const r = validateComposition(c);
  if (!r.ok) throw new Error(`invalid test composition: ${JSON.stringify(r.errors)}`);
  return r.value;
}

export function ctxFor(
  env: Env,
  o: { taskKey: string; deps?: DependencyResults; signal?: AbortSignal; engineVersion?: string; workDir?: string },
) {
  const audit: AuditEntry[] = [];
  const progress: number[] = [];
  const ctx: TaskContext = {
    jobId: "job-direct",
    taskId: "t1",
    taskKey: o.taskKey,
    attempt: 1,
    engine: { name: "ffmpeg", version: o.engineVersion ?? "5" },
    resolveStore: env.resolveStore,
    workDir: o.workDir ?? path.join(env.dir, "work", o.taskKey.replace(/:/g, "_")),
    ffmpegPath: env.bins.ffmpegPath,
    ffprobePath: env.bins.ffprobePath,
    signal: o.signal ?? new AbortController().signal,
    deps: o.deps ?? {},
    onProgress: (f) => progress.push(f),
    audit: (e) => audit.push(e),
  };
  return { ctx, audit, progress };
}

export async function ffprobeJson(file: string, extra: string[] = []): Promise<Doc> {
  const r = await runChecked("ffprobe", ["-v", "error", "-show_format", "-show_streams", ...extra, "-of", "json", file]);
  return JSON.parse(r.stdout);
}

export async function decodes(file: string): Promise<boolean> {
  const r = await runProcess("ffmpeg", ["-v", "error", "-xerror", "-i", file, "-map", "0", "-f", "null", "-"]);
  return r.code === 0;
}
