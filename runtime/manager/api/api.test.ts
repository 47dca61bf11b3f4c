// The REST API over real HTTP on loopback against a real PostgreSQL: the job
// lifecycle, tenancy, roles, and the system endpoints.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateComposition } from "../../engine/composition.js";
import { appendAudit, leaseTasks, readyTasks, insertCoordinator, markConnected, markStarted } from "../store/index.js";
import { minimalComposition, startHarness, testPlanner, type Harness, type ResponseBody } from "./testkit.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness("api", { validateComposition, planJob: testPlanner });
});
afterAll(async () => {
  await h?.close();
});

const submit = (key: string, body: unknown = { composition: minimalComposition() }, headers: Record<string, string> = {}) =>
  h.call("POST", "/v1/jobs", { key, body, headers });

function expectProblem(r: { status: number; headers: Headers; body: ResponseBody }, status: number, field?: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:framefleet:problem:/),
    title: expect.any(String),
    detail: expect.any(String),
    instance: expect.any(String),
  });
  expect(Array.isArray(r.body.errors)).toBe(true);
  if (field !== undefined) expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack frames
}

describe("job lifecycle", () => {
  it("submits, reads, lists with pagination, cancels and shows the audit trail", async () => {
    const created = await submit(h.key.submitter!, {
      composition: minimalComposition(),
      priority: 70,
      labels: { team: "video", "run.id": "42" },
    });
    expect(created.status).toBe(201);
    const job = created.body;
    expect(created.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      state: "queued",
      priority: 70,
      region: "test-1",
      labels: { team: "video", "run.id": "42" },
      engine: { name: "ffmpeg", version: "5.1" },
      progress: 0,
    });
    expect(job.tasks.map((t: { key: string }) => t.key).sort()).toEqual(["encode:v720", "package", "probe"]);
    const pkg = job.tasks.find((t: { key: string }) => t.key === "package");
    expect(pkg).toMatchObject({ state: "blocked", dependsOn: ["encode:v720"], attempts: 0, progress: 0 });
    // the validated (normalised) composition is what is stored
    expect(job.composition.output.uri).toBe("store://media/out/");
    expect(h.submitted).toContain(job.id);

    const got = await h.call("GET", `/v1/jobs/${job.id}`, { key: h.key.viewer });
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(job.id);
    expect(got.body.tasks).toHaveLength(3);

    // progress is the mean of the tasks' progress: start the probe and report half of it
    await insertCoordinator(h.db, {
      id: "coord-1",
      region: "test-1",
      hostname: "h1",
      certSerial: "1",
      certNotAfter: new Date(Date.now() + 3600e3),
    });
    await markConnected(h.db, "coord-1", "r1", "h1", {
      cpuMillis: 8000,
      memoryMb: 16000,
      gpus: 0,
      engines: [{ name: "ffmpeg", version: "5.1.4", encoders: ["libx264"] }],
      pools: ["probe", "encode", "package"],
      capacityType: "local",
      instanceType: "",
      detail: {},
    });
    const ready = (await readyTasks(h.db, 100)).filter((t) => job.tasks.some((x: { id: string }) => x.id === t.id));
    const [lease] = await leaseTasks(
      h.db,
      ready.map((t) => ({ taskId: t.id, coordinatorId: "coord-1" })),
    );
    await markStarted(h.db, { taskId: lease!.id, epoch: lease!.epoch });
    await h.db.query("UPDATE tasks SET progress = 0.6 WHERE id = $1", [lease!.id]); // as a worker's progress report would
    const running = await h.call("GET", `/v1/jobs/${job.id}`, { key: h.key.viewer });
    expect(running.body.state).toBe("running");
    expect(running.body.progress).toBeCloseTo(0.2, 5);
    expect(running.body.tasks.find((t: { key: string }) => t.key === "probe")).toMatchObject({
      state: "running",
      attempts: 1,
      coordinatorId: "coord-1",
    });

    // cancel: 202, the running attempt is handed to onCancelled, a second cancel is 409
    const cancelled = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { key: h.key.submitter });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.job.state).toBe("cancelled");
    expect(cancelled.body.stoppedAttempts).toBe(1);
    expect(h.cancelled.flat().map((c) => c.taskId)).toContain(lease!.id);
    expectProblem(await h.call("POST", `/v1/jobs/${job.id}/cancel`, { key: h.key.submitter }), 409, "path/id");

    await appendAudit(h.db, { tenant: "acme", jobId: job.id, kind: "ffmpeg.argv", data: { argv: ["ffmpeg", "-i", "in.mp4"] } });
    const audit = await h.call("GET", `/v1/jobs/${job.id}/audit`, { key: h.key.viewer });
    expect(audit.status).toBe(200);
    expect(audit.body.records.map((r: { kind: string }) => r.kind)).toEqual(["job.submitted", "job.cancelled", "ffmpeg.argv"]);
    expect(audit.body.records[2].data).toEqual({ argv: ["ffmpeg", "-i", "in.mp4"] });
    const page = await h.call("GET", `/v1/jobs/${job.id}/audit?limit=2`, { key: h.key.viewer });
    expect(page.body.records).toHaveLength(2);
    const rest = await h.call("GET", `/v1/jobs/${job.id}/audit?after=${page.body.nextAfter}`, { key: h.key.viewer });
    expect(rest.body.records.map((r: { kind: string }) => r.kind)).toEqual(["ffmpeg.argv"]);
  });

  it("hands planJob the id the job is then stored under", async () => {
    const before = h.plannedIds.length;
    const r = await submit(h.key.submitter!);
    expect(r.status).toBe(201);
    expect(h.plannedIds.slice(before)).toEqual([r.body.id]);
  });

  it("pages through the tenant's jobs with an opaque cursor and filters by state", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await submit(h.key.submitter!, { composition: minimalComposition(), labels: { page: String(i) } })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await h.call("GET", `/v1/jobs?state=queued&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
        key: h.key.viewer,
      });
      expect(r.status).toBe(200);
      expect(r.body.jobs.length).toBeLessThanOrEqual(2);
      for (const j of r.body.jobs) expect(j.state).toBe("queued");
      seen.push(...r.body.jobs.map((j: { id: string }) => j.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    for (const id of ids) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length); // no job twice
    // newest first
    expect(seen.indexOf(ids[4]!)).toBeLessThan(seen.indexOf(ids[0]!));
    // another tenant sees none of them
    const other = await h.call("GET", "/v1/jobs?limit=200", { key: h.key.globex });
    expect(other.body.jobs.map((j: { id: string }) => j.id)).not.toContain(ids[0]);
    // a bad cursor names the cursor
    expectProblem(await h.call("GET", "/v1/jobs?cursor=not-a-cursor", { key: h.key.viewer }), 400, "query/cursor");
    expectProblem(await h.call("GET", "/v1/jobs?state=exploded", { key: h.key.viewer }), 400, "query/state");
    expectProblem(await h.call("GET", "/v1/jobs?limit=100000", { key: h.key.viewer }), 400, "query/limit");
  });

  it("returns the first job for a repeated Idempotency-Key, whatever the key order of the body", async () => {
    const body = { composition: minimalComposition(), priority: 10, labels: { a: "1", b: "2" } };
    const first = await submit(h.key.submitter!, body, { "idempotency-key": "order-7781" });
    expect(first.status).toBe(201);
    const before = await h.jobCount();
    const reordered = { labels: { b: "2", a: "1" }, priority: 10, composition: JSON.parse(JSON.stringify(body.composition)) };
    const again = await submit(h.key.submitter!, reordered, { "idempotency-key": "order-7781" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(await h.jobCount()).toBe(before);
    // the same key in another tenant is another job
    const globex = await submit(
      h.key.globex!,
      { composition: minimalComposition({ input: { uri: "store://globex-media/a.mp4" }, output: { uri: "store://globex-media/o/" } }) },
      { "idempotency-key": "order-7781" },
    );
    expect(globex.status).toBe(201);
    expect(globex.body.id).not.toBe(first.body.id);
  });
});

describe("idempotency under concurrency", () => {
  it("creates exactly one job when the same keyed request arrives five times at once", async () => {
    const before = await h.jobCount();
    const body = { composition: minimalComposition(), labels: { race: "1" } };
    const all = await Promise.all(Array.from({ length: 5 }, () => submit(h.key.submitter!, body, { "idempotency-key": "race-1" })));
    expect(all.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
    expect(await h.jobCount()).toBe(before + 1);
  });
});

describe("authentication and roles", () => {
  let jobId: string;
  beforeAll(async () => {
    jobId = (await submit(h.key.admin!)).body.id;
  });

  it("refuses a missing, malformed, unknown or revoked key with 401 and WWW-Authenticate", async () => {
    const forged = h.key.viewer!.slice(0, -4) + (h.key.viewer!.endsWith("AAAA") ? "BBBB" : "AAAA");
    const cases: [string, Record<string, string>][] = [
      ["no key", {}],
      ["empty bearer", { authorization: "Bearer " }],
      ["basic auth", { authorization: "Basic YWRtaW46YWRtaW4=" }],
      ["not an ffk key", { authorization: "Bearer hello" }],
      ["right id, wrong secret", { authorization: `Bearer ${forged}` }],
      ["unknown id", { authorization: `Bearer ffk_000000000000_${"A".repeat(43)}` }],
      ["revoked", { authorization: `Bearer ${h.key.revoked}` }],
    ];
    for (const [name, headers] of cases) {
      for (const [method, path] of [
        ["GET", "/v1/jobs"],
        ["GET", `/v1/jobs/${jobId}`],
        ["POST", "/v1/jobs"],
      ] as const) {
        const r = await h.call(method, path, { headers, ...(method === "POST" ? { body: { composition: minimalComposition() } } : {}) });
        expect(r.status, `${name} ${method} ${path}`).toBe(401);
        expect(r.headers.get("www-authenticate"), name).toMatch(/^Bearer realm="framefleet"/);
        expectProblem(r, 401, "header/Authorization");
      }
    }
    const revoked = await h.call("GET", "/v1/jobs", { key: h.key.revoked });
    expect(revoked.body.detail).toMatch(/revoked/);
  });

  it("applies the role ladder: viewer reads, submitter submits and cancels, operator sees coordinators", async () => {
    const matrix: { role: string; submit: number; cancel: number; read: number; coordinators: number }[] = [
      { role: "viewer", submit: 403, cancel: 403, read: 200, coordinators: 403 },
      { role: "submitter", submit: 201, cancel: 202, read: 200, coordinators: 403 },
      { role: "operator", submit: 201, cancel: 202, read: 200, coordinators: 200 },
      { role: "admin", submit: 201, cancel: 202, read: 200, coordinators: 200 },
    ];
    for (const m of matrix) {
      const key = h.key[m.role]!;
      const s = await submit(key);
      expect(s.status, `${m.role} submit`).toBe(m.submit);
      if (m.submit === 403) expectProblem(s, 403, "header/Authorization");
      const target = s.status === 201 ? s.body.id : jobId;
      const c = await h.call("POST", `/v1/jobs/${target}/cancel`, { key });
      expect(c.status, `${m.role} cancel`).toBe(m.cancel);
      expect((await h.call("GET", `/v1/jobs/${target}`, { key })).status, `${m.role} read`).toBe(m.read);
      expect((await h.call("GET", `/v1/jobs/${target}/audit`, { key })).status, `${m.role} audit`).toBe(m.read);
      const co = await h.call("GET", "/v1/coordinators", { key });
      expect(co.status, `${m.role} coordinators`).toBe(m.coordinators);
      if (m.coordinators === 403) expect(co.headers.get("content-type")).toMatch(/problem\+json/);
      else expect(Array.isArray(co.body.coordinators)).toBe(true);
    }
    // the viewer's 403 did not cancel the job
    expect((await h.call("GET", `/v1/jobs/${jobId}`, { key: h.key.viewer })).body.state).toBe("queued");
  });

  it("never shows or touches another tenant's job: 404, as if it did not exist", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const [method, path] of [
      ["GET", `/v1/jobs/${jobId}`],
      ["POST", `/v1/jobs/${jobId}/cancel`],
      ["GET", `/v1/jobs/${jobId}/audit`],
      ["GET", `/v1/jobs/${missing}`],
    ] as const) {
      const r = await h.call(method, path, { key: h.key.globex });
      expectProblem(r, 404, "path/id");
      // the same answer as for a job that does not exist
      expect(r.body.title).toBe("Not found");
    }
    expect((await h.call("GET", `/v1/jobs/${jobId}`, { key: h.key.viewer })).body.state).toBe("queued");
  });
});

describe("system endpoints", () => {
  it("answers /healthz and /readyz without a key, and /readyz reports a service that is not up", async () => {
    expect((await h.call("GET", "/healthz")).body).toEqual({ status: "ok", region: "test-1" });
    expect((await h.call("GET", "/readyz")).status).toBe(200);
    let up = false;
    const { buildApi } = await import("./server.js");
    const app = await buildApi({
      db: h.db,
      region: "r",
      validateComposition,
      planJob: testPlanner,
      storesFor: () => [],
      isReady: async () => up,
    });
    const notReady = await app.inject({ method: "GET", url: "/readyz" });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers["content-type"]).toMatch(/problem\+json/);
    expect(JSON.parse(notReady.body).errors[0].field).toBe("services");
    up = true;
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    await app.close();
  });

  it("answers 503, not 500, while the database is unreachable", async () => {
    const { buildApi } = await import("./server.js");
    const { createDb } = await import("../store/index.js");
    const dead = createDb("postgres://nobody:x@127.0.0.1:1/none", { max: 1 });
    const app = await buildApi({ db: dead, region: "r", validateComposition, planJob: testPlanner, storesFor: () => [] });
    try {
      const r = await app.inject({ method: "GET", url: "/v1/jobs", headers: { authorization: `Bearer ${h.key.viewer}` } });
      expect(r.statusCode).toBe(503);
      expect(r.headers["content-type"]).toMatch(/problem\+json/);
      expect(r.headers["retry-after"]).toBe("5");
      expect(r.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      const ready = await app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).toBe(503);
      expect(JSON.parse(ready.body).errors[0].field).toBe("database");
    } finally {
      await app.close();
      await dead.end();
    }
  });

  it("turns an unexpected failure into a 500 problem without internals", async () => {
    const { buildApi } = await import("./server.js");
    const app = await buildApi({
      db: h.db,
      region: "r",
      validateComposition: () => {
        throw new Error("secret internal detail /srv/framefleet/x.ts");
      },
      planJob: (c) => testPlanner(c as Parameters<typeof testPlanner>[0]),
      storesFor: () => [],
    });
    try {
      const r = await app.inject({
        method: "POST",
        url: "/v1/jobs",
        headers: { authorization: `Bearer ${h.key.submitter}` },
        payload: { composition: {} },
      });
      expect(r.statusCode).toBe(500);
      expect(r.headers["content-type"]).toMatch(/problem\+json/);
      expect(JSON.parse(r.body)).toMatchObject({ status: 500, type: "urn:framefleet:problem:internal" });
      expect(r.body).not.toMatch(/secret|\/srv\/|\.ts/);
    } finally {
      await app.close();
    }
  });

  it("serves Prometheus metrics with the request histogram and submissions by tenant", async () => {
    await submit(h.key.submitter!);
    const r = await fetch(`${h.base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/framefleet_jobs_submitted_total\{tenant="acme"\} [1-9]/);
    expect(text).toMatch(/framefleet_http_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status="201"\} [1-9]/);
    expect(text).toMatch(/framefleet_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs\/:id",status="200"\}/);
    for (const name of [
      "framefleet_tasks_placed_total",
      "framefleet_task_results_total",
      "framefleet_scheduler_pass_seconds",
      "framefleet_submit_to_start_seconds",
      "framefleet_coordinators_connected",
      "framefleet_queue_depth",
      "process_cpu_seconds_total",
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    // a job id never becomes a label value
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it("publishes an OpenAPI 3.1 document with every route and a docs page", async () => {
    const r = await h.call("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toBe("3.1.0");
    for (const [path, method] of [
      ["/v1/jobs", "post"],
      ["/v1/jobs", "get"],
      ["/v1/jobs/{id}", "get"],
      ["/v1/jobs/{id}/cancel", "post"],
      ["/v1/jobs/{id}/audit", "get"],
      ["/v1/coordinators", "get"],
      ["/healthz", "get"],
      ["/readyz", "get"],
      ["/metrics", "get"],
    ]) {
      expect(doc.paths[path!]?.[method!], `${method} ${path}`).toBeDefined();
    }
    const post = doc.paths["/v1/jobs"].post;
    expect(post.security).toEqual([{ bearerAuth: [] }]);
    expect(post.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toContain("header:idempotency-key");
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(["200", "201", "401", "403", "409", "413", "415", "422"]));
    expect(doc.components.schemas.Problem.properties.errors).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const page = await fetch(`${h.base}/docs`, { redirect: "follow" });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/swagger/i);
  });
});
