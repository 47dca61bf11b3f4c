// Rollout plans: which stacks to update, in which waves, canary first.
//
//   # PLAN.yaml
//   project: framefleet            # optional; default framefleet
//   workDir: .                     # where Pulumi.yaml is; default: the plan's directory
//   concurrency: 2                 # stacks updated at once within a wave; default 1
//   stacks:
//     - { stack: acme/framefleet/eu-west-1, canary: true }
//     - { stack: acme/framefleet/europe-west4, wave: 1 }
//     - { stack: acme/framefleet/westeurope, wave: 1 }
//     - { stack: mediaco/framefleet/us-east-1, wave: 2 }
//
// The canary is wave 0, alone. A stack without `wave` goes to wave 1.
import { ConfigError } from "../../components/common.js";

export interface PlanStack {
  stack: string;
  wave?: number;
  canary?: boolean;
}

export interface RolloutPlan {
  project?: string;
  workDir?: string;
  concurrency?: number;
  stacks: PlanStack[];
}

export interface Wave {
  index: number;
  stacks: string[];
}

export interface PlannedRollout {
  workDir?: string;
  concurrency: number;
  waves: Wave[];
}

const key = (k: string) => `plan.${k}`;

/** Validate a plan and order it into waves: the canary alone first, then by wave number. */
export function planRollout(input: unknown): PlannedRollout {
  if (!input || typeof input !== "object") throw new ConfigError("plan", "a rollout plan must be an object with a `stacks` list");
  const plan = input as RolloutPlan;
  if (!Array.isArray(plan.stacks) || plan.stacks.length === 0) throw new ConfigError(key("stacks"), "list at least one stack");
  const concurrency = plan.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
    throw new ConfigError(key("concurrency"), "must be an integer from 1 to 16");
  const seen = new Set<string>();
  const canaries: string[] = [];
  const byWave = new Map<number, string[]>();
  plan.stacks.forEach((s, i) => {
    if (!s || typeof s.stack !== "string" || !/^[\w.-]+(\/[\w.-]+){0,2}$/.test(s.stack))
      throw new ConfigError(key(`stacks[${i}].stack`), "must be a stack name such as org/project/stack");
    if (seen.has(s.stack)) throw new ConfigError(key(`stacks[${i}].stack`), `"${s.stack}" is listed twice`);
    seen.add(s.stack);
    if (s.canary) {
      if (s.wave !== undefined && s.wave !== 0) throw new ConfigError(key(`stacks[${i}].wave`), "the canary always runs alone in wave 0");
      canaries.push(s.stack);
      return;
    }
    const wave = s.wave ?? 1;
    if (!Number.isInteger(wave) || wave < 1) throw new ConfigError(key(`stacks[${i}].wave`), "waves after the canary are numbered from 1");
    byWave.set(wave, [...(byWave.get(wave) ?? []), s.stack]);
  });
  if (canaries.length !== 1) throw new ConfigError(key("stacks"), `exactly one stack must be the canary (found ${canaries.length})`);
  const waves: Wave[] = [{ index: 0, stacks: canaries }];
  for (const n of [...byWave.keys()].sort((a, b) => a - b)) waves.push({ index: n, stacks: byWave.get(n)! });
  return { workDir: plan.workDir, concurrency, waves };
}
