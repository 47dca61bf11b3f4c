// The production RolloutWorkspace: Pulumi's Automation API over the project in
// `workDir`. Needs the Pulumi CLI on PATH (not available in CI here), so it is
// only constructed by `rolloutCommand`, never by tests.
import type { RolloutWorkspace } from "./orchestrate.js";

export async function automationWorkspace(workDir: string, log: (line: string) => void = () => undefined): Promise<RolloutWorkspace> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  const select = (stackName: string) => LocalWorkspace.selectStack({ stackName, workDir });
  return {
    async preview(stack) {
      const s = await select(stack);
      const r = await s.preview({ onOutput: log, diff: false });
      return { changes: { ...r.changeSummary } as Record<string, number> };
    },
    async up(stack) {
      const s = await select(stack);
      const r = await s.up({ onOutput: log });
      return { changes: { ...(r.summary.resourceChanges ?? {}) } as Record<string, number> };
    },
  };
}
