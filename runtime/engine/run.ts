// The worker's entry into the engine: one task attempt, dispatched by kind.
// Errors: PermanentTaskError for problems no retry can fix (bad input); anything else
// is retryable. Cancellation: ctx.signal kills the running ffmpeg (SIGTERM, then SIGKILL).

import type { Json, TaskContext, TaskOutcome } from "./types.js";
import { runAudioEncode, runChunkEncode, runProbe, runSplit, runStitch, runVideoEncode } from "./tasks.js";
import { runPackage } from "./package.js";
import { runVerify } from "./verify.js";
import type { AudioEncodeSpec, PackageSpec, ProbeSpec, SplitSpec, StitchSpec, VerifySpec, VideoEncodeSpec } from "./specs.js";

export const TASK_KINDS = ["probe", "encode", "encode-audio", "split", "encode-chunk", "stitch", "package", "verify"] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export async function runTask(kind: string, spec: Json, ctx: TaskContext): Promise<TaskOutcome> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new Error(`task ${ctx.taskKey}: spec must be an object`);
  if (ctx.signal.aborted) throw Object.assign(new Error("cancelled before start"), { name: "AbortError" });
  const s = spec as unknown;
  switch (kind as TaskKind) {
    case "probe":
      return runProbe(s as ProbeSpec, ctx);
    case "encode":
      return runVideoEncode(s as VideoEncodeSpec, ctx);
    case "encode-audio":
      return runAudioEncode(s as AudioEncodeSpec, ctx);
    case "split":
      return runSplit(s as SplitSpec, ctx);
    case "encode-chunk":
      return runChunkEncode(s as VideoEncodeSpec, ctx);
    case "stitch":
      return runStitch(s as StitchSpec, ctx);
    case "package":
      return runPackage(s as PackageSpec, ctx);
    case "verify":
      return runVerify(s as VerifySpec, ctx);
    default:
      throw new Error(`unknown task kind '${kind}'`);
  }
}
