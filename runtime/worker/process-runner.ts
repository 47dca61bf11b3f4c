import type { Json, TaskContext, TaskOutcome } from "../engine/types.js";
import type { Runner } from "./runner.js";
import { BUILTIN_KINDS, runBuiltin } from "./builtin.js";

/** Runs the engine directly on this host, with the host's ffmpeg. */
export class ProcessRunner implements Runner {
  readonly name = "process";

  async run(kind: string, spec: Json, ctx: TaskContext): Promise<TaskOutcome> {
    if (BUILTIN_KINDS.has(kind)) return runBuiltin(kind, spec, ctx);
    const { runTask } = await import("../engine/run.js");
    return runTask(kind, spec, ctx);
  }
}
