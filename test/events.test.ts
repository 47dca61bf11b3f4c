// The event bus on a real region (PostgreSQL, the manager's REST API; no fleet:
// jobs stay queued until cancelled, which is all these tests need): per-tenant
// gapless ids, tenant isolation on SSE and WebSocket, resuming after a manager
// restart (including events written while no manager was up), and events from
// transactions that commit out of id order.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, type TestRegion } from "./support/region.js";
import { openSse, openWs, type StreamEvent } from "./support/events.js";
import { appendEvent, sequenceEvents, readEvents } from "../runtime/manager/store/index.js";

let region: TestRegion;

const composition = (out: string) => ({
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/clip.mp4" },
  output: { uri: `store://local/outputs/${out}/` },
  video: { renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }] },
  packaging: { mp4: {} },
});

beforeAll(async () => {
  region = await startTestRegion({ fleet: false });
});
afterAll(async () => {
  await region?.cleanup();
});

async function submit(key: string, out: string): Promise<string> {
  const r = await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition(out) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
}

function expectGapless(events: StreamEvent[]) {
  for (let i = 1; i < events.length; i++) expect(events[i]!.id, `event ${i} follows ${events[i - 1]!.id}`).toBe(events[i - 1]!.id + 1);
}

describe("live events", () => {
  it("two tenants never see each other's events, on SSE or WebSocket, each with its own gapless ids", async () => {
    const a = await region.key("events-a", "submitter");
    const b = await region.key("events-b", "viewer");
    const bSubmit = await region.key("events-b", "submitter");
    const sseA = await openSse(region.manager.urls.http, a, { since: 0 });
    const sseB = await openSse(region.manager.urls.http, b, { since: 0 });
    const wsB = await openWs(region.manager.urls.http, b, { since: 0 });
    expect(sseA.status).toBe(200);
    await wsB.ready;

    const jobA = await submit(a, "ev-a");
    const jobB = await submit(bSubmit, "ev-b");
    expect((await region.api(`/v1/jobs/${jobA}/cancel`, { method: "POST", key: a })).status).toBe(202);

    await sseA.until((e) => e.jobId === jobA && e.type === "job.cancelled");
    await sseB.until((e) => e.jobId === jobB && e.type === "job.queued");
    await wsB.until((e) => e.jobId === jobB && e.type === "job.queued");
    // give a leak every chance to arrive before looking
    await new Promise((r) => setTimeout(r, 1500));

    expect(sseA.events.every((e) => e.tenant === "events-a" && e.jobId !== jobB)).toBe(true);
    for (const s of [sseB, wsB]) {
      expect(s.events.length).toBeGreaterThan(0);
      expect(
        s.events.every((e) => e.tenant === "events-b" && e.jobId !== jobA),
        JSON.stringify(s.events.map((e) => [e.tenant, e.type])),
      ).toBe(true);
    }
    // each tenant's ids start at 1 and have no gaps
    expect(sseA.events[0]!.id).toBe(1);
    expect(sseB.events[0]!.id).toBe(1);
    expectGapless(sseA.events);
    expectGapless(sseB.events);
    expect(wsB.events.map((e) => e.id)).toEqual(sseB.events.map((e) => e.id));
    // the SSE id: field is the event id
    expect(sseA.ids).toEqual(sseA.events.map((e) => String(e.id)));
    // the audit trail is in the stream too
    expect(sseA.events.map((e) => e.type)).toContain("audit.job.submitted");

    // asking for the other tenant's job by id yields nothing, not its events
    const spy = await openSse(region.manager.urls.http, a, { since: 0, jobId: jobB });
    await new Promise((r) => setTimeout(r, 800));
    expect(spy.events).toEqual([]);
    for (const s of [sseA, sseB, wsB, spy]) s.close();
  });

  it("refuses streams without a valid key", async () => {
    const sse = await openSse(region.manager.urls.http, "ffk_nope_nope");
    expect(sse.status).toBe(401);
    const ws = await openWs(region.manager.urls.http, "ffk_nope_nope");
    expect((await ws.closed).code).toBe(4401);
    // the console's catch-all static route leaves unknown API paths as RFC 9457 problems
    const unknown = await region.api("/v1/nope", { key: await region.key("events-a", "viewer") });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe("urn:framefleet:problem:not-found");
  });

  it("resumes from an id across a manager restart, including events written while no manager was up", async () => {
    const key = await region.key("events-r", "submitter");
    const job1 = await submit(key, "ev-r1");
    const first = await openSse(region.manager.urls.http, key, { since: 0 });
    await first.until((e) => e.jobId === job1 && e.type === "job.queued");
    await new Promise((r) => setTimeout(r, 300));
    const lastSeen = first.events.at(-1)!.id;
    first.close();

    // an event written straight into the outbox while the manager is down
    const side = new pg.Client({ connectionString: region.databaseUrl });
    await side.connect();
    const restarting = region.restartManager({ downtimeMs: 1500 });
    await new Promise((r) => setTimeout(r, 500));
    await appendEvent(side, { tenant: "events-r", jobId: job1, type: "test.while-down", payload: { n: 1 } });
    await restarting;
    await side.end();

    const job2 = await submit(key, "ev-r2");
    expect((await region.api(`/v1/jobs/${job1}/cancel`, { method: "POST", key })).status).toBe(202);

    const resumed = await openSse(region.manager.urls.http, key, { lastEventId: lastSeen });
    await resumed.until((e) => e.jobId === job1 && e.type === "job.cancelled");
    await resumed.until((e) => e.jobId === job2 && e.type === "job.queued");
    const types = resumed.events.map((e) => e.type);
    expect(resumed.events[0]!.id).toBe(lastSeen + 1);
    expectGapless(resumed.events);
    expect(types).toContain("test.while-down");
    // nothing seen before the cursor comes again
    expect(resumed.events.some((e) => first.events.some((f) => f.id === e.id))).toBe(false);

    // ?since= is the same cursor for clients that cannot send headers; Last-Event-ID wins over it
    const bySince = await openSse(region.manager.urls.http, key, { since: lastSeen });
    await bySince.until((e) => e.type === "job.cancelled");
    expect(bySince.events[0]!.id).toBe(lastSeen + 1);
    // a job-filtered stream: only that job's events, and new ones keep coming after other jobs' events
    const only = await openSse(region.manager.urls.http, key, { since: 0, jobId: job2 });
    await only.until((e) => e.type === "job.queued");
    await submit(key, "ev-r3");
    expect((await region.api(`/v1/jobs/${job2}/cancel`, { method: "POST", key })).status).toBe(202);
    await only.until((e) => e.type === "job.cancelled");
    expect(only.events.length).toBeGreaterThan(1);
    expect(only.events.every((e) => e.jobId === job2)).toBe(true);
    only.close();
    resumed.close();
    bySince.close();
  });

  it("numbers events in commit order, so an event committed late behind a reader's cursor is not lost", async () => {
    const tenant = "events-order";
    const t1 = new pg.Client({ connectionString: region.databaseUrl });
    const t2 = new pg.Client({ connectionString: region.databaseUrl });
    await t1.connect();
    await t2.connect();
    try {
      await t1.query("BEGIN");
      await appendEvent(t1, { tenant, type: "test.first-inserted", payload: {} }); // the lower outbox id, committed last
      await t2.query("BEGIN");
      await appendEvent(t2, { tenant, type: "test.second-inserted", payload: {} });
      await t2.query("COMMIT");
      await sequenceEvents(region.manager.db);
      const seen = await readEvents(region.manager.db, tenant, { afterSeq: 0 });
      expect(seen.map((e) => e.type)).toEqual(["test.second-inserted"]);
      const cursor = seen[0]!.id;

      await t1.query("COMMIT");
      await sequenceEvents(region.manager.db);
      const next = await readEvents(region.manager.db, tenant, { afterSeq: cursor });
      expect(next.map((e) => [e.id, e.type])).toEqual([[cursor + 1, "test.first-inserted"]]);
    } finally {
      await t1.end();
      await t2.end();
    }
  });
});
