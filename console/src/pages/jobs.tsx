import { useEffect, useMemo, useState } from "preact/hooks";
import { api, live, type Job } from "../api.js";
import { StateBadge, fmtTime, useDebounced } from "../ui.js";

const STATES = ["", "queued", "running", "succeeded", "partial", "failed", "cancelled"];

export function JobsPage() {
  const [state, setState] = useState("");
  const [text, setText] = useState("");
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useDebounced(async () => {
    try {
      const r = await api<{ jobs: Job[] }>(`/v1/jobs?limit=100${state ? `&state=${state}` : ""}`);
      setJobs(r.jobs);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, 200);
  useEffect(() => load(), [state]);
  useEffect(
    () =>
      live.on((e) => {
        if (e.type.startsWith("job.") || e.type === "task.progress" || e.type.startsWith("task.")) load();
      }),
    [state],
  );
  const shown = useMemo(() => {
    const t = text.trim().toLowerCase();
    if (!t || !jobs) return jobs;
    return jobs.filter((j) => j.id.includes(t) || Object.entries(j.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(t)));
  }, [jobs, text]);

  return (
    <section>
      <h1 tabIndex={-1}>Jobs</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for="f-state">State</label>
          <select id="f-state" value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-text">Job id or label</label>
          <input id="f-text" type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </div>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {shown === null ? (
        <p>Loading…</p>
      ) : shown.length === 0 ? (
        <p>
          No jobs{state ? ` in state ${state}` : ""}. <a href="#/submit">Submit one.</a>
        </p>
      ) : (
        <div class="scroll">
          <table class="jobs">
            <caption class="sr-only">Jobs, newest first; states update live</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Priority</th>
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>
                    <a href={`#/jobs/${j.id}`}>
                      <code>{j.id.slice(0, 8)}</code>
                    </a>
                    {Object.keys(j.labels).length > 0 && (
                      <span class="labels">
                        {" "}
                        {Object.entries(j.labels)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(" ")}
                      </span>
                    )}
                  </td>
                  <td>
                    <StateBadge state={j.state} />
                  </td>
                  <td>
                    <progress max={1} value={j.progress} aria-label={`Progress of job ${j.id.slice(0, 8)}`} />{" "}
                    {Math.round(j.progress * 100)}%
                  </td>
                  <td>{j.priority}</td>
                  <td>{fmtTime(j.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
