// `submit --watch`: a live progress bar per task until the job ends.
import cliProgress from "cli-progress";
import type { ApiClient } from "./client.js";

export interface JobView {
  id: string;
  state: string;
  progress?: number;
  tasks: { key: string; state: string; progress: number; attempts: number }[];
  outputs?: unknown;
  error?: unknown;
}

export const TERMINAL = new Set(["succeeded", "partial", "failed", "cancelled"]);

export async function watchJob(client: ApiClient, id: string, opts: { quiet?: boolean; pollMs?: number } = {}): Promise<JobView> {
  const tty = process.stderr.isTTY && !opts.quiet;
  const multi = tty
    ? new cliProgress.MultiBar(
        { format: " {key} |{bar}| {percentage}% {state}", hideCursor: true, clearOnComplete: false, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let lastLine = "";
  for (;;) {
    const job = await client.request<JobView>("GET", `/v1/jobs/${id}`);
    for (const t of job.tasks) {
      const pct = Math.round((t.state === "succeeded" || t.state === "skipped" ? 1 : t.progress) * 100);
      const label = t.attempts > 1 ? `${t.state} (attempt ${t.attempts})` : t.state;
      if (multi) {
        let bar = bars.get(t.key);
        if (!bar) {
          bar = multi.create(100, 0, { key: t.key.padEnd(16), state: label });
          bars.set(t.key, bar);
        }
        bar.update(pct, { key: t.key.padEnd(16), state: label });
      }
    }
    if (!multi && !opts.quiet) {
      const line = `${job.state} ${Math.round((job.progress ?? 0) * 100)}% ` + job.tasks.map((t) => `${t.key}:${t.state}`).join(" ");
      if (line !== lastLine) process.stderr.write(line + "\n");
      lastLine = line;
    }
    if (TERMINAL.has(job.state)) {
      multi?.stop();
      return job;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
