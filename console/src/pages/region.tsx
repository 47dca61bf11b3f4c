import { useEffect, useState } from "preact/hooks";
import { api, ApiError, getKey } from "../api.js";
import { LineChart, StateBadge, fmtTime } from "../ui.js";

interface Coordinator {
  id: string;
  hostname: string;
  state: string;
  capacityType: string;
  instanceType: string;
  pools: string[];
  engines: { name: string; version: string; encoders: string[] }[];
  capacity: { cpuMillis: number; memoryMb: number; gpus: number };
  used: { cpuMillis: number; memoryMb: number; gpus: number };
  runningTasks: number;
  lastHeartbeat: string | null;
}
interface Sample {
  ready: number;
  running: number;
  occupancy: number;
}

const KEEP = 60;
const EVERY_MS = 3000;
const DECISIONS = 20;

interface ScalingEvent {
  id: number;
  type: string;
  at: string;
  data: {
    pool?: string;
    group?: string | null;
    hostId?: string | null;
    action?: string;
    from?: number | null;
    to?: number | null;
    reason?: string;
  };
}

/**
 * The region's scaling events (operator keys), newest first, live. The first
 * connection only learns where the stream is; the second reads its last
 * DECISIONS events and then follows it, so the page never replays a week of them.
 */
function useScalingEvents(): { rows: ScalingEvent[]; note: string | null } {
  const [rows, setRows] = useState<ScalingEvent[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    const key = getKey();
    if (!key) return;
    let ws: WebSocket | undefined;
    let stopped = false;
    const open = (since?: number) => {
      const s = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
      ws = s;
      s.onopen = () => s.send(JSON.stringify({ op: "auth", key, scope: "region", since }));
      s.onmessage = (m) => {
        const msg = JSON.parse(String(m.data)) as { op: string; cursor?: number; event?: ScalingEvent; detail?: string };
        if (msg.op === "ready" && since === undefined) {
          s.close();
          if (!stopped) open(Math.max(0, (msg.cursor ?? 0) - DECISIONS));
        } else if (msg.op === "event" && msg.event) {
          const e = msg.event;
          setRows((prev) => [e, ...prev].slice(0, DECISIONS));
        } else if (msg.op === "error") setNote(msg.detail ?? "The scaling events are not available.");
      };
      s.onclose = (ev) => {
        if (ev.code === 4403) setNote("Scaling decisions need an operator API key.");
      };
    };
    open();
    return () => {
      stopped = true;
      ws?.close();
    };
  }, []);
  return { rows, note };
}

export function RegionPage() {
  const [coordinators, setCoordinators] = useState<Coordinator[] | null>(null);
  const [pools, setPools] = useState<{ pool: string; ready: number; running: number }[]>([]);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);
  const scaling = useScalingEvents();
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const [c, q] = await Promise.all([
          api<{ coordinators: Coordinator[] }>("/v1/coordinators"),
          api<{ pools: { pool: string; ready: number; running: number }[] }>("/v1/region/queue"),
        ]);
        if (stop) return;
        const live = c.coordinators.filter((x) => x.state === "connected");
        const cap = live.reduce((s, x) => s + x.capacity.cpuMillis, 0);
        const used = live.reduce((s, x) => s + x.used.cpuMillis, 0);
        setCoordinators(c.coordinators);
        setPools(q.pools);
        setSamples((prev) =>
          [
            ...prev,
            {
              ready: q.pools.reduce((s, p) => s + p.ready, 0),
              running: q.pools.reduce((s, p) => s + p.running, 0),
              occupancy: cap ? Math.round((100 * used) / cap) : 0,
            },
          ].slice(-KEEP),
        );
        setError(null);
      } catch (err) {
        setError(err instanceof ApiError && err.status === 403 ? "The region page needs an operator API key." : (err as Error).message);
      }
    };
    void tick();
    const t = setInterval(tick, EVERY_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);

  return (
    <section>
      <h1 tabIndex={-1}>Region</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="charts">
        <LineChart
          title="Queue depth (tasks), sampled every 3 s"
          series={[
            { name: "ready", cls: "c1", values: samples.map((s) => s.ready) },
            { name: "running", cls: "c2", values: samples.map((s) => s.running) },
          ]}
        />
        <LineChart
          title="Occupancy of connected coordinators (CPU)"
          unit="%"
          max={100}
          series={[{ name: "occupancy", cls: "c3", values: samples.map((s) => s.occupancy) }]}
        />
      </div>
      <h2>Pools</h2>
      {pools.length === 0 ? (
        <p>No tasks queued or running.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">Ready</th>
              <th scope="col">Running</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => (
              <tr key={p.pool}>
                <td>{p.pool}</td>
                <td>{p.ready}</td>
                <td>{p.running}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Recent scaling decisions</h2>
      {scaling.note ? (
        <p>{scaling.note}</p>
      ) : scaling.rows.length === 0 ? (
        <p>No scaling decisions yet: the autoscaler records one when it launches, drains or retires hosts.</p>
      ) : (
        <div class="scroll">
          <table aria-label="Recent scaling decisions">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Decision</th>
                <th scope="col">Pool / group</th>
                <th scope="col">Hosts</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {scaling.rows.map((e) => (
                <tr key={e.id}>
                  <td>{fmtTime(e.at)}</td>
                  <td>
                    {e.data.action ?? e.type.replace(/^scaling\./, "")}
                    {e.data.hostId ? <div class="small">{e.data.hostId}</div> : null}
                  </td>
                  <td>
                    {e.data.pool}
                    {e.data.group ? ` / ${e.data.group}` : ""}
                  </td>
                  <td>{e.data.from != null && e.data.to != null ? `${e.data.from} → ${e.data.to}` : "–"}</td>
                  <td>{e.data.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Coordinators</h2>
      {coordinators === null ? (
        <p>Loading…</p>
      ) : coordinators.length === 0 ? (
        <p>No coordinators have joined this region.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Coordinator</th>
                <th scope="col">State</th>
                <th scope="col">Capacity</th>
                <th scope="col">Used</th>
                <th scope="col">Running tasks</th>
                <th scope="col">Pools</th>
                <th scope="col">Engine images</th>
                <th scope="col">Heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {coordinators.map((c) => (
                <tr key={c.id}>
                  <td>
                    <code>{c.id}</code>
                    <div class="small">
                      {c.hostname} {c.instanceType} {c.capacityType}
                    </div>
                  </td>
                  <td>
                    <StateBadge state={c.state} />
                  </td>
                  <td>
                    {c.capacity.cpuMillis / 1000} CPU · {Math.round(c.capacity.memoryMb / 1024)} GiB
                    {c.capacity.gpus ? ` · ${c.capacity.gpus} GPU` : ""}
                  </td>
                  <td>
                    {c.used.cpuMillis / 1000} CPU · {Math.round(c.used.memoryMb / 1024)} GiB
                  </td>
                  <td>{c.runningTasks}</td>
                  <td>{c.pools.join(", ")}</td>
                  <td>{c.engines.map((e) => `${e.name} ${e.version}`).join(", ")}</td>
                  <td>{fmtTime(c.lastHeartbeat)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
