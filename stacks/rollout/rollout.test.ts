// Rollout planning and orchestration with a fake workspace (the Automation API
// needs the Pulumi CLI, which is not installed here).
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planRollout, runRollout, summaryTable, rolloutCommand, type RolloutWorkspace } from "./index.js";

class FakeWorkspace implements RolloutWorkspace {
  calls: string[] = [];
  constructor(private readonly failures: Record<string, "preview" | "up"> = {}) {}
  async preview(stack: string) {
    this.calls.push(`preview ${stack}`);
    if (this.failures[stack] === "preview") throw new Error("preview found a replacement it may not do");
    return { changes: { update: 1, same: 10 } };
  }
  async up(stack: string) {
    this.calls.push(`up ${stack}`);
    if (this.failures[stack] === "up") throw new Error("AccessDenied");
    return { changes: { update: 1, same: 10 } };
  }
}

const plan = {
  stacks: [
    { stack: "acme/framefleet/westeurope", wave: 2 },
    { stack: "acme/framefleet/eu-west-1", canary: true },
    { stack: "acme/framefleet/europe-west4" },
    { stack: "acme/framefleet/us-east-1", wave: 1 },
  ],
};

describe("planRollout", () => {
  it("puts the canary alone first, then waves in order", () => {
    expect(planRollout(plan).waves).toEqual([
      { index: 0, stacks: ["acme/framefleet/eu-west-1"] },
      { index: 1, stacks: ["acme/framefleet/europe-west4", "acme/framefleet/us-east-1"] },
      { index: 2, stacks: ["acme/framefleet/westeurope"] },
    ]);
  });
  it("rejects plans without exactly one canary, duplicates and bad waves, naming the key", () => {
    expect(() => planRollout({ stacks: [{ stack: "a" }] })).toThrow(/plan.stacks.*canary/);
    expect(() => planRollout({ stacks: [{ stack: "a", canary: true }, { stack: "a" }] })).toThrow(/plan.stacks\[1\].stack.*twice/);
    expect(() =>
      planRollout({
        stacks: [
          { stack: "a", canary: true },
          { stack: "b", wave: 0 },
        ],
      }),
    ).toThrow(/plan.stacks\[1\].wave/);
    expect(() => planRollout({ stacks: [] })).toThrow(/plan.stacks/);
  });
});

describe("runRollout", () => {
  it("previews before every update, canary first", async () => {
    const ws = new FakeWorkspace();
    const r = await runRollout(planRollout(plan), ws);
    expect(r.ok).toBe(true);
    expect(ws.calls).toEqual([
      "preview acme/framefleet/eu-west-1",
      "up acme/framefleet/eu-west-1",
      "preview acme/framefleet/europe-west4",
      "up acme/framefleet/europe-west4",
      "preview acme/framefleet/us-east-1",
      "up acme/framefleet/us-east-1",
      "preview acme/framefleet/westeurope",
      "up acme/framefleet/westeurope",
    ]);
  });
  it("a failed canary stops everything", async () => {
    const ws = new FakeWorkspace({ "acme/framefleet/eu-west-1": "up" });
    const r = await runRollout(planRollout(plan), ws);
    expect(r.ok).toBe(false);
    expect(ws.calls).toEqual(["preview acme/framefleet/eu-west-1", "up acme/framefleet/eu-west-1"]);
    expect(r.stacks.filter((s) => s.outcome === "skipped")).toHaveLength(3);
  });
  it("a failed preview means no update and no later stack", async () => {
    const ws = new FakeWorkspace({ "acme/framefleet/europe-west4": "preview" });
    const r = await runRollout(planRollout(plan), ws);
    expect(ws.calls).not.toContain("up acme/framefleet/europe-west4");
    expect(ws.calls).not.toContain("preview acme/framefleet/us-east-1");
    expect(ws.calls.some((c) => c.includes("westeurope"))).toBe(false);
    const table = summaryTable(r);
    expect(table).toMatch(/canary\s+acme\/framefleet\/eu-west-1\s+succeeded\s+update 1/);
    expect(table).toMatch(/acme\/framefleet\/europe-west4\s+failed \(preview\)/);
    expect(table).toContain("rollout stopped: acme/framefleet/europe-west4 failed");
  });
  it("runs a wave concurrently when asked, and starts no update after a failure", async () => {
    const ws = new FakeWorkspace({ "acme/framefleet/europe-west4": "up" });
    const r = await runRollout({ ...planRollout(plan), concurrency: 2 }, ws);
    expect(r.ok).toBe(false);
    expect(ws.calls.some((c) => c.includes("westeurope"))).toBe(false);
  });
});

describe("rolloutCommand", () => {
  it("reads PLAN.yaml, prints progress and the summary, and returns the exit code", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ff-rollout-"));
    const file = join(dir, "PLAN.yaml");
    writeFileSync(file, "stacks:\n  - { stack: org/framefleet/a, canary: true }\n  - { stack: org/framefleet/b }\n");
    const lines: string[] = [];
    const code = await rolloutCommand(file, { workspace: new FakeWorkspace(), out: (l) => lines.push(l) });
    expect(code).toBe(0);
    expect(lines[0]).toBe("== wave 0 (canary): org/framefleet/a");
    expect(lines.join("\n")).toContain("rollout complete");
  });
});
