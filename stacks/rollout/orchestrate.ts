// Rollout orchestration over an abstract workspace: for each wave (canary
// first), preview every stack, then update it; stop at the first failure (no
// later stack and no later wave starts); finish with a summary table.
// The real workspace is Pulumi's Automation API (automation.ts), which needs
// the Pulumi CLI; tests use a fake.
import type { PlannedRollout } from "./plan.js";

export interface PreviewResult {
  /** operation -> count, e.g. { create: 2, update: 1, same: 40 } */
  changes: Record<string, number>;
}
export interface UpResult {
  changes: Record<string, number>;
}

/** What the orchestrator needs from Pulumi; Automation API in production, a fake in tests. */
export interface RolloutWorkspace {
  preview(stack: string): Promise<PreviewResult>;
  up(stack: string): Promise<UpResult>;
}

export type StackOutcome = "succeeded" | "failed" | "skipped";

export interface StackReport {
  stack: string;
  wave: number;
  outcome: StackOutcome;
  phase?: "preview" | "up";
  previewChanges?: Record<string, number>;
  upChanges?: Record<string, number>;
  error?: string;
  durationMs?: number;
}

export interface RolloutReport {
  ok: boolean;
  stacks: StackReport[];
}

export type RolloutEvent =
  | { kind: "wave"; index: number; stacks: string[] }
  | { kind: "preview" | "up"; stack: string }
  | { kind: "done" | "failed"; stack: string; error?: string };

export async function runRollout(
  planned: PlannedRollout,
  ws: RolloutWorkspace,
  onEvent: (e: RolloutEvent) => void = () => undefined,
  now: () => number = Date.now,
): Promise<RolloutReport> {
  const reports = new Map<string, StackReport>();
  for (const w of planned.waves) for (const s of w.stacks) reports.set(s, { stack: s, wave: w.index, outcome: "skipped" });
  let failed = false;

  const runOne = async (stack: string): Promise<void> => {
    const r = reports.get(stack)!;
    const started = now();
    try {
      r.phase = "preview";
      onEvent({ kind: "preview", stack });
      r.previewChanges = (await ws.preview(stack)).changes;
      if (failed) return; // another stack of this wave failed meanwhile: do not start an update
      r.phase = "up";
      onEvent({ kind: "up", stack });
      r.upChanges = (await ws.up(stack)).changes;
      r.outcome = "succeeded";
      delete r.phase;
      onEvent({ kind: "done", stack });
    } catch (err) {
      failed = true;
      r.outcome = "failed";
      r.error = err instanceof Error ? err.message : String(err);
      onEvent({ kind: "failed", stack, error: r.error });
    } finally {
      r.durationMs = now() - started;
    }
  };

  for (const wave of planned.waves) {
    if (failed) break;
    onEvent({ kind: "wave", index: wave.index, stacks: wave.stacks });
    const queue = [...wave.stacks];
    const workers = Array.from({ length: Math.min(planned.concurrency, queue.length) }, async () => {
      while (!failed && queue.length) await runOne(queue.shift()!);
    });
    await Promise.all(workers);
  }
  return { ok: !failed, stacks: [...reports.values()] };
}

const fmtChanges = (c?: Record<string, number>) =>
  c
    ? Object.entries(c)
        .filter(([op, n]) => op !== "same" && n > 0)
        .map(([op, n]) => `${op} ${n}`)
        .join(", ") || "no changes"
    : "-";

/** A plain-text summary table: wave, stack, outcome, preview, update, time. */
export function summaryTable(r: RolloutReport): string {
  const rows = r.stacks.map((s) => [
    s.wave === 0 ? "canary" : String(s.wave),
    s.stack,
    s.outcome + (s.phase && s.outcome === "failed" ? ` (${s.phase})` : ""),
    fmtChanges(s.previewChanges),
    fmtChanges(s.upChanges),
    s.durationMs === undefined ? "-" : `${(s.durationMs / 1000).toFixed(1)}s`,
  ]);
  const head = ["WAVE", "STACK", "RESULT", "PREVIEW", "UPDATE", "TIME"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  const failed = r.stacks.find((s) => s.outcome === "failed");
  out.push("", r.ok ? "rollout complete" : `rollout stopped: ${failed?.stack} failed: ${failed?.error}`);
  return out.join("\n");
}
