import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { StateBadge, fmtTime } from "../ui.js";

interface Endpoint {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  createdAt: string;
}
interface Delivery {
  id: number;
  eventId: number;
  eventType: string;
  replay: boolean;
  state: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastLatencyMs: number | null;
  createdAt: string;
}

export function WebhooksPage() {
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState("job.*");
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const load = async () => {
    try {
      setEndpoints((await api<{ endpoints: Endpoint[] }>("/v1/webhooks")).endpoints);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 403 ? "Webhooks need an operator API key." : (err as Error).message);
    }
  };
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const eventTypes = types
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const r = await api<Endpoint & { secret: string }>("/v1/webhooks", { method: "POST", body: { url: url.trim(), eventTypes } });
      setSecret(r.secret);
      setUrl("");
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const toggle = async (ep: Endpoint) => {
    await api(`/v1/webhooks/${ep.id}`, { method: "PATCH", body: { enabled: !ep.enabled } }).catch((err: Error) => setError(err.message));
    await load();
  };
  const remove = async (ep: Endpoint) => {
    if (!confirm(`Remove the endpoint ${ep.url} and its delivery log?`)) return;
    await api(`/v1/webhooks/${ep.id}`, { method: "DELETE" }).catch((err: Error) => setError(err.message));
    await load();
  };
  return (
    <section>
      <h1 tabIndex={-1}>Webhooks</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <form class="stack" onSubmit={create} aria-labelledby="new-h">
        <h2 id="new-h">New endpoint</h2>
        <label for="w-url">URL</label>
        <input
          id="w-url"
          type="url"
          required
          value={url}
          onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
          aria-describedby="w-url-help"
        />
        <p id="w-url-help" class="help">
          https, on a public address. Every request is signed: see docs/events.md.
        </p>
        <label for="w-types">Event types</label>
        <input id="w-types" value={types} onInput={(e) => setTypes((e.target as HTMLInputElement).value)} aria-describedby="w-types-help" />
        <p id="w-types-help" class="help">
          Comma-separated, exact (job.succeeded) or a prefix (job.*). Empty: every event.
        </p>
        <button type="submit">Add endpoint</button>
      </form>
      {secret && (
        <div class="notice" role="status">
          <p>
            <strong>Signing secret (shown once):</strong> <code id="w-secret">{secret}</code>
          </p>
          <button type="button" class="secondary" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      )}
      <h2>Endpoints</h2>
      {endpoints === null ? (
        <p>Loading…</p>
      ) : endpoints.length === 0 ? (
        <p>No endpoints.</p>
      ) : (
        <ul class="endpoints">
          {endpoints.map((ep) => (
            <li key={ep.id}>
              <div>
                <code>{ep.url}</code> · {ep.eventTypes.length ? ep.eventTypes.join(", ") : "all events"} ·{" "}
                {ep.enabled ? "enabled" : "disabled"}
              </div>
              <div class="row">
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={open === ep.id}
                  onClick={() => setOpen(open === ep.id ? null : ep.id)}
                >
                  Delivery log
                </button>
                <button type="button" class="secondary" onClick={() => toggle(ep)}>
                  {ep.enabled ? "Disable" : "Enable"}
                </button>
                <button type="button" class="danger" onClick={() => remove(ep)}>
                  Remove
                </button>
              </div>
              {open === ep.id && <Deliveries endpoint={ep} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const load = async () => setRows((await api<{ deliveries: Delivery[] }>(`/v1/webhooks/${endpoint.id}/deliveries?limit=50`)).deliveries);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 3000);
    return () => clearInterval(t);
  }, [endpoint.id]);
  const replay = async (eventId: number) => {
    const r = await api<{ queued: number }>(`/v1/webhooks/${endpoint.id}/replay`, {
      method: "POST",
      body: { fromEventId: eventId, toEventId: eventId },
    });
    setNote(`Event ${eventId} queued again (${r.queued}).`);
    await load();
  };
  if (rows === null) return <p>Loading…</p>;
  return (
    <div class="scroll">
      {note && <p role="status">{note}</p>}
      <table>
        <caption class="sr-only">Deliveries to {endpoint.url}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last status</th>
            <th scope="col">Latency</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id}>
              <td>
                {d.eventId}
                {d.replay && " (replay)"}
              </td>
              <td>{d.eventType}</td>
              <td>
                <StateBadge state={d.state} />
              </td>
              <td>{d.attempts}</td>
              <td>{d.lastStatus ?? d.lastError ?? "—"}</td>
              <td>{d.lastLatencyMs === null ? "—" : `${d.lastLatencyMs} ms`}</td>
              <td>{fmtTime(d.createdAt)}</td>
              <td>
                <button type="button" class="secondary" onClick={() => replay(d.eventId)}>
                  Replay<span class="sr-only"> event {d.eventId}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
