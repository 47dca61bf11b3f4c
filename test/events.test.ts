// The event bus on a real region (PostgreSQL, the manager's REST API; no fleet:
// jobs stay queued until cancelled, which is all these tests need): per-tenant
// gapless ids, tenant isolation on SSE and WebSocket, resuming after a manager
// restart (including events written while no manager was up), and events from
// transactions that commit out of id order. Region-scope events (the
// autoscaler's decisions) for operators only, and retention's reset signal.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, type TestRegion } from "./support/region.js";
import { openSse, openWs, type StreamEvent } from "./support/events.js";
import { appendEvent, insertJob, sequenceEvents, readEvents, readyTasks, REGION_STREAM } from "../runtime/manager/store/index.js";
import { recordDecisions } from "../runtime/manager/store/autoscaler.js";
import { Autoscaler } from "../runtime/manager/autoscaler/autoscaler.js";
import { SimulatedFleetProvider } from "../runtime/manager/fleet/simulated.js";

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

describe("region events (scaling decisions)", () => {
  it("are for operators only: a submitter or viewer asking for scope=region is refused, naming the field", async () => {
    const submitter = await region.key("region-s", "submitter");
    const refused = await openSse(region.manager.urls.http, submitter, { scope: "region", since: 0 });
    expect(refused.status).toBe(403);
    expect(refused.problem?.type).toBe("urn:framefleet:problem:forbidden");
    expect(refused.problem?.errors[0]?.field).toBe("query/scope");
    const ws = await openWs(region.manager.urls.http, await region.key("region-s", "viewer"), { scope: "region", since: 0 });
    expect((await ws.closed).code).toBe(4403);
    // region events belong to no job
    const operator = await region.key("region-s", "operator");
    const withJob = await openSse(region.manager.urls.http, operator, { scope: "region", jobId: "4b1e0c55-8d2f-4f7e-9a51-0d6c2b7e9f10" });
    expect(withJob.status).toBe(400);
    expect(withJob.problem?.errors[0]?.field).toBe("query/jobId");
    const unknown = await region.api("/v1/events?scope=everything", { key: operator });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].field).toMatch(/scope/);
  });

  it("every decision the autoscaler records is a scaling event with pool, group, from, to and reason; tenants never see them", async () => {
    const operator = await region.key("region-o", "operator");
    const tenantKey = await region.key("region-o", "submitter");
    const sse = await openSse(region.manager.urls.http, operator, { scope: "region", since: 0 });
    const ws = await openWs(region.manager.urls.http, operator, { scope: "region", since: 0 });
    const tenantStream = await openSse(region.manager.urls.http, tenantKey, { since: 0 });
    expect(sse.status).toBe(200);
    await ws.ready;
    // waiting work (a queued job's probe task, no hosts: this region has no fleet) makes the autoscaler launch;
    // the job is written by the store, as the API would, so the test does not depend on the region's engines
    await insertJob(region.manager.db, {
      tenant: "region-o",
      priority: 50,
      composition: {},
      engine: { name: "ffmpeg", version: "7.1" },
      tasks: [
        {
          key: "probe",
          kind: "probe",
          pool: "probe",
          requirements: { cpuMillis: 500, memoryMb: 256, gpus: 0 },
          dependsOn: [],
          maxAttempts: 3,
          spec: {},
        },
      ],
    });
    const provider = new SimulatedFleetProvider({ "cpu-spot": { max: 4, pricePerHour: 0.27 } }, Date.now, () => 30_000);
    const autoscaler = new Autoscaler({
      db: region.manager.db,
      provider,
      groups: [
        {
          name: "cpu-spot",
          pool: "cpu",
          capacityType: "spot",
          instanceType: "c7i.4xlarge",
          taskPools: [],
          cpuMillis: 16_000,
          memoryMb: 32_768,
          gpus: 0,
          pricePerHour: 0.27,
          maxSize: 4,
        },
      ],
      pools: [{ name: "cpu", onDemandBase: 0, maxSize: 4 }],
      drain: () => true,
    });
    const ready = await readyTasks(region.manager.db, 100);
    const decisions = await autoscaler.tick(
      ready.map((t) => ({
        id: t.id,
        pool: t.pool,
        cpuMillis: t.cpuMillis,
        memoryMb: t.memoryMb,
        gpus: t.gpus,
        engineName: t.engineName,
        engineVersion: t.engineVersion,
      })),
    );
    const launch = decisions.find((d) => d.action === "launch");
    expect(launch, JSON.stringify(decisions)).toBeDefined();

    const e = await sse.until((x) => x.type === "scaling.launch");
    expect(e.tenant).toBe(REGION_STREAM);
    expect(e.jobId).toBeNull();
    expect(e.data).toMatchObject({
      pool: "cpu",
      group: "cpu-spot",
      direction: "out",
      from: 0,
      to: launch!.action === "launch" ? launch!.count : -1,
    });
    expect(String(e.data.reason)).toBe(launch!.reason);
    expect((await ws.until((x) => x.type === "scaling.launch")).id).toBe(e.id);
    // the region's own sequence, gapless from 1
    expect(sse.events[0]!.id).toBe(1);
    expectGapless(sse.events);

    await tenantStream.until((x) => x.type === "job.queued");
    await new Promise((r) => setTimeout(r, 800));
    expect(tenantStream.events.every((x) => x.tenant === "region-o" && !x.type.startsWith("scaling."))).toBe(true);
    for (const s of [sse, ws, tenantStream]) s.close();
  });

  it("resume from an id across a manager restart, including decisions recorded while no manager was up", async () => {
    const operator = await region.key("region-r", "operator");
    await recordDecisions(region.manager.db, [
      { pool: "gpu", action: "launch", hostGroup: "gpu-od", count: 2, reason: "before", data: { from: 1, to: 3 } },
    ]);
    const first = await openSse(region.manager.urls.http, operator, { scope: "region", since: 0 });
    const before = await first.until((e) => e.data.reason === "before");
    const lastSeen = first.events.at(-1)!.id;
    expect(lastSeen).toBeGreaterThanOrEqual(before.id);
    first.close();

    const side = new pg.Client({ connectionString: region.databaseUrl });
    await side.connect();
    const restarting = region.restartManager({ downtimeMs: 1500 });
    await new Promise((r) => setTimeout(r, 500));
    await recordDecisions(side, [
      { pool: "gpu", action: "terminate", hostGroup: "gpu-od", hostId: "i-0abc", reason: "while down", data: { from: 3, to: 2 } },
    ]);
    await restarting;
    await side.end();
    await recordDecisions(region.manager.db, [
      { pool: "gpu", action: "drain", hostGroup: "gpu-od", hostId: "i-0def", reason: "after", data: { from: 2, to: 2 } },
    ]);

    const resumed = await openSse(region.manager.urls.http, operator, { scope: "region", lastEventId: lastSeen });
    await resumed.until((e) => e.data.reason === "after");
    expect(resumed.events[0]!.id).toBe(lastSeen + 1);
    expectGapless(resumed.events);
    expect(resumed.events.map((e) => [e.type, e.data.reason, e.data.direction, e.data.from, e.data.to])).toEqual([
      ["scaling.terminate", "while down", "in", 3, 2],
      ["scaling.drain", "after", "in", 2, 2],
    ]);
    resumed.close();
  });
});

describe("retention", () => {
  it("a cursor older than retention gets a reset, then the events that remain; a cursor at the horizon does not", async () => {
    const tenant = "events-retain";
    const key = await region.key(tenant, "viewer");
    for (let i = 1; i <= 5; i++) await appendEvent(region.manager.db, { tenant, type: "test.old", payload: { i } });
    await sequenceEvents(region.manager.db);
    // the first three are eight days old: past the default retention of seven
    await region.manager.db.query("UPDATE outbox SET at = now() - interval '8 days' WHERE tenant = $1 AND seq <= 3", [tenant]);
    const report = await region.manager.pruner.pruneNow();
    expect(report.events).toBeGreaterThanOrEqual(3);
    expect((await readEvents(region.manager.db, tenant, { afterSeq: 0 })).map((e) => e.id)).toEqual([4, 5]);

    const sse = await openSse(region.manager.urls.http, key, { since: 1 });
    await sse.until((e) => e.id === 5);
    expect(sse.resets).toEqual([{ type: "reset", from: 1, to: 3, detail: expect.stringMatching(/retention/) }]);
    expect(sse.events.map((e) => e.id)).toEqual([4, 5]);
    // the reset's id moves a reconnecting EventSource's Last-Event-ID past the gap
    const ws = await openWs(region.manager.urls.http, key, { since: 0 });
    await ws.until((e) => e.id === 5);
    expect(ws.resets.map((r) => [r.from, r.to])).toEqual([[0, 3]]);
    const atHorizon = await openSse(region.manager.urls.http, key, { since: 3 });
    await atHorizon.until((e) => e.id === 5);
    expect(atHorizon.resets).toEqual([]);
    // after a reset the stream goes on live
    await appendEvent(region.manager.db, { tenant, type: "test.new", payload: {} });
    expect((await sse.until((e) => e.type === "test.new")).id).toBe(6);
    expect(sse.resets).toHaveLength(1);
    for (const s of [sse, ws, atHorizon]) s.close();
  });
});
