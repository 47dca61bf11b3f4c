// Runtime prediction: how long a task will run, from what the probe found (the
// media's duration and resolution, the rendition ladder) and the history of
// finished tasks of the same engine, pool and kind. History is kept as a
// real-time factor — seconds of work per second of media — per (engine, pool,
// kind, resolution tier); until there is history, priors for a 4-core share
// stand in. The prediction decides spot or on-demand (policy.ts).

export interface TaskFeatures {
  engine: string;
  pool: string;
  kind: string;
  /** seconds of media this task handles (a chunk's length, or the whole input) */
  mediaSeconds: number;
  /** the output height it encodes to (0 where it encodes nothing: probe, package) */
  height: number;
  gpus: number;
}

export interface HistorySample extends TaskFeatures {
  runSeconds: number;
}

/** seconds of work per second of media, by height tier, with no history (x264 medium on 4 cores; NVENC) */
const PRIOR_FACTOR_CPU = [0.25, 0.5, 1.0, 3.0, 6.0];
const PRIOR_FACTOR_GPU = [0.05, 0.08, 0.12, 0.35, 0.7];
const FIXED_SECONDS: Record<string, number> = { probe: 5, split: 10, package: 20, verify: 15, stitch: 15 };

export function heightTier(height: number): number {
  return height <= 0 ? 0 : height <= 360 ? 0 : height <= 720 ? 1 : height <= 1080 ? 2 : height <= 2160 ? 3 : 4;
}

function key(f: Pick<TaskFeatures, "engine" | "pool" | "kind" | "height">): string {
  return `${f.engine}|${f.pool}|${f.kind}|${heightTier(f.height)}`;
}

export class RuntimePredictor {
  /** exponentially weighted mean of the real-time factor, and how many samples it has seen */
  private readonly factors = new Map<string, { factor: number; n: number }>();

  constructor(private readonly alpha = 0.2) {}

  observe(s: HistorySample): void {
    if (s.mediaSeconds <= 0 || s.runSeconds <= 0) return;
    const k = key(s);
    const f = s.runSeconds / s.mediaSeconds;
    const cur = this.factors.get(k);
    // the first samples average evenly, later ones move the mean by alpha
    if (!cur) this.factors.set(k, { factor: f, n: 1 });
    else this.factors.set(k, { factor: cur.factor + (f - cur.factor) * Math.max(this.alpha, 1 / (cur.n + 1)), n: cur.n + 1 });
  }

  /** predicted run time in seconds, and whether it came from history */
  predict(t: TaskFeatures): { seconds: number; source: "history" | "prior" } {
    const fixed = FIXED_SECONDS[t.kind];
    const h = this.factors.get(key(t));
    if (h && t.mediaSeconds > 0) return { seconds: Math.max(1, h.factor * t.mediaSeconds), source: "history" };
    if (fixed !== undefined && !/encode/.test(t.kind)) return { seconds: fixed + t.mediaSeconds * 0.01, source: "prior" };
    const table = t.gpus > 0 ? PRIOR_FACTOR_GPU : PRIOR_FACTOR_CPU;
    return { seconds: Math.max(1, table[heightTier(t.height)]! * Math.max(1, t.mediaSeconds)), source: "prior" };
  }

  samples(): number {
    let n = 0;
    for (const v of this.factors.values()) n += v.n;
    return n;
  }
}

/** Features of a stored task from its spec and its job's probe result (shapes from runtime/engine/specs.ts). */
export function featuresOf(
  task: { kind: string; pool: string; gpus: number; engineName: string; spec: unknown },
  probe: unknown,
): TaskFeatures {
  const spec = (task.spec ?? {}) as { rendition?: { height?: number }; chunk?: { index?: number; count?: number } };
  const p = (probe ?? {}) as { duration?: number; video?: { height?: number } };
  const duration = Number(p.duration ?? 0);
  // a chunk of a chunked encode handles its share of the media
  const share = spec.chunk?.count ? 1 / spec.chunk.count : 1;
  return {
    engine: task.engineName,
    pool: task.pool,
    kind: task.kind,
    mediaSeconds: duration * share,
    height: Number(spec.rendition?.height ?? 0),
    gpus: task.gpus,
  };
}
