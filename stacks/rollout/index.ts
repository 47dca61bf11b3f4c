// `framefleet rollout PLAN.yaml`: the command body, for runtime/cli to wire up.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { planRollout } from "./plan.js";
import { runRollout, summaryTable, type RolloutWorkspace, type RolloutEvent } from "./orchestrate.js";
import { automationWorkspace } from "./automation.js";

export * from "./plan.js";
export * from "./orchestrate.js";

export interface RolloutCommandOptions {
  /** defaults to Pulumi's Automation API in the plan's workDir */
  workspace?: RolloutWorkspace;
  out?: (line: string) => void;
}

/** Run a plan file; resolves to the process exit code (0 ok, 1 a stack failed). */
export async function rolloutCommand(planPath: string, opts: RolloutCommandOptions = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const planned = planRollout(parseYaml(readFileSync(planPath, "utf8")));
  const workDir = resolve(dirname(planPath), planned.workDir ?? ".");
  const ws = opts.workspace ?? (await automationWorkspace(workDir));
  const show = (e: RolloutEvent) => {
    if (e.kind === "wave") out(`== wave ${e.index === 0 ? "0 (canary)" : e.index}: ${e.stacks.join(", ")}`);
    else if (e.kind === "failed") out(`!! ${e.stack}: ${e.error}`);
    else out(`-- ${e.kind} ${e.stack}`);
  };
  const report = await runRollout(planned, ws, show);
  out("");
  out(summaryTable(report));
  return report.ok ? 0 : 1;
}
