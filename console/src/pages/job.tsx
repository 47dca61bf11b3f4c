import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, getKey, live, type AuditRecord, type Job, type Task } from "../api.js";
import { StateBadge, fmtTime, useDebounced } from "../ui.js";

const FINAL = new Set(["succeeded", "partial", "failed", "cancelled"]);

/** Tasks in columns by depth in the DAG: probe -> encodes -> package. */
function layers(tasks: Task[]): Task[][] {
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const depth = new Map<string, number>();
  const d = (t: Task, seen = new Set<string>()): number => {
    if (depth.has(t.key)) return depth.get(t.key)!;
    if (seen.has(t.key)) return 0;
    seen.add(t.key);
    const v = t.dependsOn.length === 0 ? 0 : 1 + Math.max(...t.dependsOn.map((k) => (byKey.get(k) ? d(byKey.get(k)!, seen) : 0)));
    depth.set(t.key, v);
    return v;
  };
  const out: Task[][] = [];
  for (const t of tasks) (out[d(t)] ??= []).push(t);
  return out.filter(Boolean);
}

export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [audit, setAudit] = useState<AuditRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const load = useDebounced(async () => {
    try {
      const [j, a] = await Promise.all([api<Job>(`/v1/jobs/${id}`), api<{ records: AuditRecord[] }>(`/v1/jobs/${id}/audit?limit=1000`)]);
      setJob(j);
      setAudit(a.records);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, 150);
  useEffect(() => load(), [id]);
  useEffect(
    () =>
      live.on((e) => {
        if (e.jobId !== id) return;
        // a progress milestone moves its bar at once; everything else re-reads the job
        if (e.type === "task.progress") {
          setJob(
            (j) =>
              j && {
                ...j,
                tasks: j.tasks?.map((t) =>
                  t.key === e.data.task ? { ...t, progress: Math.max(t.progress, Number(e.data.progress)), state: "running" } : t,
                ),
              },
          );
        }
        load();
      }),
    [id],
  );

  const cancel = async () => {
    setCancelling(true);
    try {
      await api(`/v1/jobs/${id}/cancel`, { method: "POST" });
      load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setCancelling(false);
    }
  };

  const tasks = job?.tasks ?? [];
  const cols = useMemo(() => layers(tasks), [tasks]);
  const progress = tasks.length ? tasks.reduce((s, t) => s + (t.state === "skipped" ? 1 : t.progress), 0) / tasks.length : 0;

  return (
    <section>
      <h1 tabIndex={-1}>
        Job <code>{id.slice(0, 8)}</code>
      </h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!job ? (
        <p>Loading…</p>
      ) : (
        <>
          <div class="jobhead">
            <p>
              State:{" "}
              <span id="job-state" aria-live="polite">
                <StateBadge state={job.state} />
              </span>
            </p>
            <div class="overall">
              <label id="overall-label" for="overall">
                Overall progress
              </label>
              <progress
                id="overall"
                max={1}
                value={FINAL.has(job.state) && job.state !== "cancelled" && job.state !== "failed" ? 1 : progress}
                aria-labelledby="overall-label"
              />
              <span>{Math.round((FINAL.has(job.state) && job.state !== "cancelled" && job.state !== "failed" ? 1 : progress) * 100)}%</span>
            </div>
            {!FINAL.has(job.state) && (
              <button type="button" class="danger" onClick={cancel} disabled={cancelling}>
                {cancelling ? "Cancelling…" : "Cancel job"}
              </button>
            )}
          </div>
          <dl class="facts">
            <dt>Job id</dt>
            <dd>
              <code>{job.id}</code>
            </dd>
            <dt>Engine</dt>
            <dd>
              {job.engine.name} {job.engine.version}
            </dd>
            <dt>Input</dt>
            <dd>
              <code>{job.composition?.input?.uri}</code>
            </dd>
            <dt>Output</dt>
            <dd>
              <code>{job.composition?.output?.uri}</code>
            </dd>
            <dt>Submitted</dt>
            <dd>{fmtTime(job.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{fmtTime(job.finishedAt)}</dd>
          </dl>

          <h2>Tasks</h2>
          <div class="dag" role="list" aria-label="Task graph, in order of dependency">
            {cols.map((col, i) => (
              <div class="layer" role="listitem" key={i}>
                <h3 class="sr-only">Stage {i + 1}</h3>
                <ul>
                  {col.map((t) => (
                    <li key={t.key} class="task" data-task={t.key}>
                      <div class="taskhead">
                        <strong>{t.key}</strong> <StateBadge state={t.state} />
                      </div>
                      <progress
                        max={1}
                        value={t.state === "succeeded" || t.state === "skipped" ? 1 : t.progress}
                        aria-label={`Progress of ${t.key}`}
                      />
                      <div class="small">
                        {Math.round((t.state === "succeeded" ? 1 : t.progress) * 100)}% · attempt {t.attempts}/{t.maxAttempts}
                        {t.failures > 0 && (
                          <>
                            {" "}
                            · <span class="warn">{t.failures} failed</span>
                          </>
                        )}
                        {t.dependsOn.length > 0 && <> · after {t.dependsOn.join(", ")}</>}
                      </div>
                      {t.error && <div class="small error">{t.error}</div>}
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </div>

          {job.composition?.packaging?.hls !== undefined && (job.state === "succeeded" || job.state === "partial") && (
            <Player jobId={job.id} />
          )}

          <h2>Audit timeline</h2>
          <ol class="timeline">
            {audit.map((r) => (
              <li key={r.id}>
                <time dateTime={r.at}>{fmtTime(r.at)}</time> <strong>{r.kind}</strong>
                {r.taskKey && (
                  <>
                    {" "}
                    · {r.taskKey}
                    {r.attempt !== null && ` #${r.attempt}`}
                  </>
                )}
                <details>
                  <summary>details</summary>
                  <pre>{JSON.stringify(r.data, null, 2)}</pre>
                </details>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** The HLS output in the page: hls.js over MSE, reading through the API with the signed-in key. */
function Player({ jobId }: { jobId: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState("Loading the player…");
  useEffect(() => {
    let destroyed = false;
    let hls: { destroy(): void } | undefined;
    void import("hls.js").then(({ default: Hls }) => {
      if (destroyed || !video.current) return;
      if (!Hls.isSupported()) {
        setStatus("This browser cannot play HLS (no Media Source Extensions).");
        return;
      }
      const h = new Hls({ xhrSetup: (xhr) => xhr.setRequestHeader("authorization", `Bearer ${getKey()}`) });
      hls = h;
      h.on(Hls.Events.MANIFEST_PARSED, (_e, d) => setStatus(`Ready: ${d.levels.length} rendition${d.levels.length === 1 ? "" : "s"}`));
      h.on(Hls.Events.ERROR, (_e, d) => {
        if (d.fatal) setStatus(`Playback error: ${d.details}`);
      });
      h.loadSource(`/v1/jobs/${jobId}/files/master.m3u8`);
      h.attachMedia(video.current);
    });
    return () => {
      destroyed = true;
      hls?.destroy();
    };
  }, [jobId]);
  return (
    <section aria-labelledby="player-h">
      <h2 id="player-h">Output</h2>
      <video ref={video} controls muted playsInline width={640} aria-label="Job output (HLS)" id="player" />
      <p class="small" role="status">
        {status}
      </p>
    </section>
  );
}
