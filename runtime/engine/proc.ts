// Running ffmpeg/ffprobe: argv arrays through child_process.spawn, never a shell.
// Cancellation (AbortSignal) sends SIGTERM, then SIGKILL after a grace period.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export interface RunOptions {
  signal?: AbortSignal;
  cwd?: string;
  /** called with each complete stdout line (e.g. `-progress pipe:1` key=value lines) */
  onStdoutLine?: (line: string) => void;
  /** keep at most this many bytes of stderr (the tail is what explains a failure) */
  stderrLimit?: number;
  /** collect stdout (default true unless onStdoutLine is set) */
  collectStdout?: boolean;
  killGraceMs?: number;
  /** run the invocation through this wrapper (the container runner) instead of directly on this host */
  exec?: ProcessExec;
}

/**
 * Runs an ffmpeg/ffprobe invocation somewhere other than this host's own binaries
 * (the container runner: inside the task's engine image). The engine still builds
 * the argv; the wrapper only decides what is spawned to run it.
 */
export interface ProcessExec {
  wrap(bin: string, args: string[], o: { cwd?: string }): Promise<WrappedInvocation>;
}

export interface WrappedInvocation {
  bin: string;
  args: string[];
  /** the working directory of the wrapper's own client on the host (default: the caller's) */
  hostCwd?: string;
  /** a cancelled run: stop what the wrapper started (signalling its client may not reach it) */
  stop(): Promise<void>;
  /** after the spawned client ended, by any path: remove what it left, and say why it failed if the result alone cannot */
  finish(r: RunResult | undefined, cancelled: boolean): Promise<Error | undefined>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ProcessError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
    readonly argv: string[],
  ) {
    super(message);
    this.name = "ProcessError";
  }
}

export class CancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "AbortError";
  }
}

export function runProcess(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return opts.exec ? runWrapped(opts.exec, bin, args, opts) : spawnRun(bin, args, opts);
}

async function runWrapped(exec: ProcessExec, bin: string, args: string[], opts: RunOptions): Promise<RunResult> {
  if (opts.signal?.aborted) throw new CancelledError();
  const w = await exec.wrap(bin, args, { cwd: opts.cwd });
  let r: RunResult;
  try {
    r = await spawnRun(w.bin, w.args, { ...opts, cwd: w.hostCwd ?? opts.cwd, onAbort: () => void w.stop() });
  } catch (err) {
    await w.finish(undefined, err instanceof CancelledError || !!opts.signal?.aborted);
    throw err instanceof CancelledError ? new CancelledError(`cancelled: ${bin} was stopped`) : err;
  }
  const why = await w.finish(r, false);
  if (why) throw why;
  return r;
}

function spawnRun(bin: string, args: string[], opts: RunOptions & { onAbort?: () => void }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new CancelledError());
    const child = spawn(bin, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], shell: false });
    const limit = opts.stderrLimit ?? 64 * 1024;
    const collect = opts.collectStdout ?? !opts.onStdoutLine;
    const out: Buffer[] = [];
    let err = "";
    let pending = "";
    child.stdout.on("data", (d: Buffer) => {
      if (collect) out.push(d);
      if (opts.onStdoutLine) {
        pending += d.toString("utf8");
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl).trimEnd();
          pending = pending.slice(nl + 1);
          try {
            opts.onStdoutLine(line);
          } catch {
            /* a progress callback must not kill the encode */
          }
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString("utf8");
      if (err.length > limit * 2) err = err.slice(-limit);
    });
    let killTimer: NodeJS.Timeout | undefined;
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      opts.onAbort?.();
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), opts.killGraceMs ?? 2000);
      killTimer.unref();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(e);
    });
    child.on("close", (code, signal) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (aborted) return reject(new CancelledError(`cancelled: ${bin} was stopped`));
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: err.slice(-limit) });
    });
  });
}

/** Runs and throws ProcessError (with the stderr tail) on a non-zero exit. */
export async function runChecked(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runProcess(bin, args, opts);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split("\n").slice(-8).join("\n");
    throw new ProcessError(`${bin} exited with ${r.code ?? r.signal}: ${tail}`, r, [bin, ...args]);
  }
  return r;
}

export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest("hex"), size };
}
