// Task kinds the platform runs itself, without an engine: `noop` holds a slot
// for a given time. The scheduler benchmark and the fault tests use it, so
// platform behaviour can be measured apart from ffmpeg.
import type { Json, TaskContext, TaskOutcome } from "../engine/types.js";

export const BUILTIN_KINDS = new Set(["noop"]);

export async function runBuiltin(kind: string, spec: Json, ctx: TaskContext): Promise<TaskOutcome> {
  if (kind !== "noop") throw new Error(`unknown builtin task kind ${kind}`);
  const ms = typeof spec === "object" && spec && !Array.isArray(spec) && typeof spec.ms === "number" ? spec.ms : 0;
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (ctx.signal.aborted) throw new Error("cancelled");
    ctx.onProgress((Date.now() - started) / ms);
    await new Promise((r) => setTimeout(r, Math.min(100, ms - (Date.now() - started))));
  }
  ctx.audit({ kind: "noop", data: { ms } });
  return { state: "succeeded", result: { sleptMs: ms } };
}
