// How a worker runs its task: the process runner runs the engine on the host's
// own ffmpeg; a container runner (images issue) runs it in the pinned image.
import type { Json, TaskContext, TaskOutcome } from "../engine/types.js";

export interface Runner {
  readonly name: string;
  run(kind: string, spec: Json, ctx: TaskContext): Promise<TaskOutcome>;
}
