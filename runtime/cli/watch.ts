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

const TERMINAL_EVENTS = new Set(["job.succeeded", "job.partial", "job.failed", "job.cancelled"]);

/**
 * Waits for a job to end by following its event stream rather than polling:
 * the manager pushes `job.*` as each commits, so the wait costs the manager
 * nothing while the job runs and ends the moment it does. The stream opens
 * before the one GET that checks the job, and replays the job's events from
 * `since=0`, so an end between the two is not missed.
 */
export async function awaitJobEnd(client: ApiClient, id: string): Promise<JobView> {
  const ac = new AbortController();
  const res = await client.stream(`/v1/events?jobId=${encodeURIComponent(id)}&since=0`, ac.signal);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    // the stream of a job this key cannot see is silent, not an error: ask once, so a
    // wrong id fails at once (404) and a job that has already ended returns at once
    const now = await client.request<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}`);
    if (TERMINAL.has(now.state)) return now;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event stream for job ${id} closed before the job ended`);
      buf += value;
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (!data) continue;
        const ev = JSON.parse(data) as { type?: string };
        if (ev.type && TERMINAL_EVENTS.has(ev.type)) return await client.request<JobView>("GET", `/v1/jobs/${id}`);
      }
    }
  } finally {
    ac.abort();
    await reader.cancel().catch(() => {});
  }
}
