// Helpers shared by the task implementations: reaching the stores, staging outputs,
// running ffmpeg with progress and audit, checking the engine pin.

import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Store } from "../storage/store.js";
import { parseStoreRef } from "../storage/keys.js";
import { downloadTo, uploadFrom } from "../storage/fs.js";
import { PermanentTaskError, type ExecEngine, type Json, type TaskContext } from "./types.js";
import { discoverEngines, engineMatches, type DiscoveredEngine } from "./discover.js";
import { runChecked, runProcess, sha256File, type RunResult } from "./proc.js";
import { stagingPrefix } from "./layout.js";
import { isUrl, redactUrl } from "./argv.js";

export function outputStore(ctx: TaskContext, outputUri: string): { store: Store; prefix: string } {
  const ref = parseStoreRef(outputUri, { prefix: true });
  return { store: ctx.resolveStore(ref.store), prefix: ref.key };
}

/** Checks the pinned engine against this host's ffmpeg and audits which one runs. */
export async function checkEngine(ctx: TaskContext): Promise<DiscoveredEngine | ExecEngine> {
  if (ctx.exec) {
    const e = await ctx.exec.describe();
    if (!engineMatches(ctx.engine, e)) {
      throw new Error(
        `engine pin ${ctx.engine.name} ${ctx.engine.version} does not match ${e.name} ${e.version} in the task's engine image`,
      );
    }
    ctx.audit({ kind: "engine", data: { name: e.name, version: e.version, fullVersion: e.fullVersion, ...e.audit } });
    return e;
  }
  const [e] = await discoverEngines({ ffmpegPath: ctx.ffmpegPath, ffprobePath: ctx.ffprobePath });
  if (!e) throw new Error("no engine found on this host");
  if (!engineMatches(ctx.engine, e)) {
    // a placement problem, not the input's: another host may have the pinned engine
    throw new Error(`engine pin ${ctx.engine.name} ${ctx.engine.version} does not match ${e.name} ${e.version} on this host`);
  }
  ctx.audit({
    kind: "engine",
    data: {
      name: e.name,
      version: e.version,
      fullVersion: e.fullVersion,
      binarySha256: e.binarySha256,
      ffmpegPath: e.ffmpegPath,
      ffprobePath: e.ffprobePath,
    },
  });
  return e;
}

export interface LocalInput {
  /** what ffmpeg opens: a local path, or the store's signed read URL */
  file: string;
  store: Store;
  key: string;
  size: number;
  modified: string;
  /** true when the file was copied into scratch */
  copied: boolean;
  /** true when `file` is a signed URL (never audit or log it with its query) */
  url: boolean;
}

/**
 * What ffmpeg reads: the store's own path when it has one, else its signed read URL
 * (ranged HTTP reads: a large master is streamed, not copied), else a scratch copy.
 */
export async function localInput(
  ctx: TaskContext,
  uri: string,
  field = "/input/uri",
  opts: { allowUrl?: boolean } = {},
): Promise<LocalInput> {
  const ref = parseStoreRef(uri);
  const store = ctx.resolveStore(ref.store);
  const info = await store.stat(ref.key);
  if (!info) throw new PermanentTaskError(`input ${uri} does not exist`, field);
  if (info.size === 0) throw new PermanentTaskError(`input ${uri} is empty`, field);
  const base = { store, key: ref.key, size: info.size, modified: info.modified.toISOString() };
  const lp = store.localPath(ref.key);
  if (lp) {
    try {
      if (path.isAbsolute(lp) && (await stat(lp)).isFile()) return { ...base, file: lp, copied: false, url: false };
    } catch {
      /* fall through */
    }
  }
  if (opts.allowUrl !== false) {
    const url = store.readUrl?.(ref.key);
    if (url && isUrl(url)) return { ...base, file: url, copied: false, url: true };
  }
  const file = path.join(ctx.workDir, "input", path.basename(ref.key) || "input");
  await downloadTo(store, ref.key, file);
  return { ...base, file, copied: true, url: false };
}

/** A staged object (another task's output) as a local file. */
export async function localStaged(ctx: TaskContext, store: Store, key: string, name: string): Promise<string> {
  const lp = store.localPath(key);
  if (lp) {
    try {
      if ((await stat(lp)).isFile()) return lp;
    } catch {
      /* copy below */
    }
  }
  const file = path.join(ctx.workDir, "staged", name);
  await downloadTo(store, key, file);
  return file;
}

export function myStaging(ctx: TaskContext): string {
  return stagingPrefix(ctx.jobId, ctx.taskKey, ctx.attempt);
}

export interface StagedFile {
  [key: string]: Json;
  path: string;
  key: string;
  size: number;
  sha256: string;
}

/** Uploads a scratch file under this attempt's staging prefix and audits its hash. */
export async function stageFile(ctx: TaskContext, store: Store, rel: string, file: string): Promise<StagedFile> {
  const key = myStaging(ctx) + rel;
  const { sha256, size } = await sha256File(file);
  await uploadFrom(store, key, file);
  const st = await store.stat(key);
  if (!st || st.size !== size) throw new Error(`staged ${key} has size ${st?.size ?? "none"}, expected ${size}`);
  ctx.audit({ kind: "output.sha256", data: { key, path: rel, sha256, size } });
  return { path: rel, key, size, sha256 };
}

export interface FfmpegRun {
  /** expected output duration (seconds) for progress; omit for no progress */
  duration?: number;
  /** map this run's [0,1] into [base, base+span] of the task's progress */
  base?: number;
  span?: number;
  cwd?: string;
  label?: string;
}

/** Runs ffmpeg with `args` (argv, no shell), auditing the exact argv and reporting progress. */
export async function runFfmpeg(ctx: TaskContext, args: string[], o: FfmpegRun = {}): Promise<RunResult> {
  ctx.audit({
    kind: "ffmpeg.argv",
    data: { argv: [ctx.ffmpegPath, ...args.map(redactUrl)], ...(o.cwd ? { cwd: o.cwd } : {}), ...(o.label ? { label: o.label } : {}) },
  });
  const base = o.base ?? 0;
  const span = o.span ?? 1;
  const started = new Date();
  const total = o.duration && o.duration > 0 ? o.duration * 1e6 : undefined;
  const r = await runChecked(ctx.ffmpegPath, args, {
    signal: ctx.signal,
    exec: ctx.exec,
    cwd: o.cwd,
    onStdoutLine: total
      ? (line) => {
          const m = /^out_time_us=(\d+)/.exec(line);
          if (m) ctx.onProgress(base + span * Math.min(1, Number(m[1]) / total), o.label);
          else if (line === "progress=end") ctx.onProgress(base + span, o.label);
        }
      : undefined,
  });
  ctx.audit({ kind: "stage", data: { stage: o.label ?? "ffmpeg", startedAt: started.toISOString(), endedAt: new Date().toISOString() } });
  return r;
}

export async function runFfprobe(ctx: TaskContext, args: string[]): Promise<RunResult> {
  return runChecked(ctx.ffprobePath, args, { signal: ctx.signal, exec: ctx.exec, stderrLimit: 16 * 1024 });
}

export async function runFfprobeRaw(ctx: TaskContext, args: string[]): Promise<RunResult> {
  return runProcess(ctx.ffprobePath, args, { signal: ctx.signal, exec: ctx.exec, stderrLimit: 16 * 1024 });
}

export async function scratch(ctx: TaskContext, ...parts: string[]): Promise<string> {
  const dir = path.join(ctx.workDir, ...parts);
  await mkdir(dir, { recursive: true });
  return dir;
}

export function depResult<T>(ctx: TaskContext, key: string): T {
  const d = ctx.deps[key];
  if (!d) throw new Error(`dependency '${key}' was not handed to task ${ctx.taskKey}`);
  if (d.state !== "succeeded") throw new Error(`dependency '${key}' is ${d.state}`);
  return d.result as unknown as T;
}
