// Webhooks on a real region against local receivers (an http server on
// loopback, which the region is configured to allow: webhooks.allowPrivateAddresses).
// A second region with the default settings shows that private addresses are refused.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { verifySignature } from "../runtime/manager/webhooks/sign.js";
import { addressRefusal } from "../runtime/manager/webhooks/address.js";
import { backoffMs, sendSigned } from "../runtime/manager/webhooks/worker.js";
import { appendEvent, readEvents, REGION_STREAM } from "../runtime/manager/store/index.js";
import { recordDecisions } from "../runtime/manager/store/autoscaler.js";

interface Received {
  at: number;
  eventId: string;
  body: string;
  signature: string | undefined;
}

/** A receiver that keeps every request and a log de-duplicated by event id, as the docs tell integrators to. */
class Receiver {
  server!: http.Server;
  url = "";
  requests: Received[] = [];
  /** the receiver's de-duplicated log: event id -> first body accepted */
  log = new Map<string, string>();
  constructor(private readonly behave: (r: Received, n: number) => Promise<number> | number) {}
  async start() {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", async () => {
        const r: Received = {
          at: Date.now(),
          eventId: String(req.headers["framefleet-event-id"]),
          body,
          signature: req.headers["framefleet-signature"] as string | undefined,
        };
        this.requests.push(r);
        const status = await this.behave(r, this.requests.filter((x) => x.eventId === r.eventId).length);
        if (status >= 200 && status < 300 && !this.log.has(r.eventId)) this.log.set(r.eventId, body);
        if (!res.destroyed) res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const composition = (out: string) => ({
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/clip.mp4" },
  output: { uri: `store://local/outputs/${out}/` },
  video: { renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }] },
  packaging: { mp4: {} },
});

let region: TestRegion;
const receivers: Receiver[] = [];
let neverAnswer: () => void = () => {};

beforeAll(async () => {
  region = await startTestRegion({
    fleet: false,
    webhooks: { allowPrivateAddresses: true, backoffBaseMs: 200, backoffCapMs: 800, pollMs: 100, timeoutMs: 6_000 },
  });
});
afterAll(async () => {
  neverAnswer();
  for (const r of receivers) await r.stop();
  await region?.cleanup();
});

async function receiver(behave: ConstructorParameters<typeof Receiver>[0]) {
  const r = new Receiver(behave);
  await r.start();
  receivers.push(r);
  return r;
}

async function register(key: string, url: string, eventTypes = ["job.queued"]) {
  const r = await region.api("/v1/webhooks", { method: "POST", key, json: { url, eventTypes, description: "test" } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string };
}

describe("webhooks", () => {
  it("signs deliveries (HMAC-SHA256 over timestamp and body), shows the secret once, and retries a failing receiver until it has the event exactly once", async () => {
    const key = await region.key("hooks-a", "operator");
    const ok = await receiver(() => 200);
    const flaky = await receiver((_r, n) => (n <= 3 ? 500 : 204));
    const okHook = await register(key, ok.url);
    const flakyHook = await register(key, flaky.url);
    expect(okHook.secret).toMatch(/^whsec_/);
    const shown = await region.api(`/v1/webhooks/${okHook.id}`, { key });
    expect(shown.status).toBe(200);
    expect(JSON.stringify(shown.body)).not.toContain(okHook.secret);

    const job = (await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("hooks-a") } })).body.id as string;

    await waitFor("the receiver to get the event", async () => ok.log.size === 1, 10_000, 50);
    const got = ok.requests[0]!;
    const event = JSON.parse(got.body);
    expect(event).toMatchObject({ type: "job.queued", tenant: "hooks-a", jobId: job });
    expect(got.eventId).toBe(String(event.id));
    expect(verifySignature(okHook.secret, got.signature, got.body)).toBe(true);
    expect(verifySignature(flakyHook.secret, got.signature, got.body), "another endpoint's secret").toBe(false);
    expect(verifySignature(okHook.secret, got.signature, got.body.replace("job.queued", "job.failed")), "a changed body").toBe(false);
    const t = Number(/t=(\d+)/.exec(got.signature!)![1]);
    expect(verifySignature(okHook.secret, got.signature, got.body, { nowSeconds: t + 3600 }), "an old signature").toBe(false);

    // three 500s, then a 2xx: four requests, one entry in the de-duplicated log, and the log says so
    await waitFor("the flaky receiver to accept", async () => flaky.log.size === 1, 15_000, 50);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would arrive in this time
    expect(flaky.requests.map((r) => r.eventId)).toEqual([got.eventId, got.eventId, got.eventId, got.eventId]);
    expect([...flaky.log.keys()]).toEqual([got.eventId]);
    // the retries backed off: each gap at least half the capped exponential delay
    const gaps = flaky.requests.slice(1).map((r, i) => r.at - flaky.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(100 - 20);
    expect(gaps[2]).toBeGreaterThanOrEqual(400 - 20);

    const log = await region.api(`/v1/webhooks/${flakyHook.id}/deliveries`, { key });
    expect(log.status).toBe(200);
    expect(log.body.deliveries).toHaveLength(1);
    const d = log.body.deliveries[0];
    expect(d).toMatchObject({ eventId: Number(got.eventId), state: "succeeded", attempts: 4, lastStatus: 204 });
    expect(d.log.map((a: { status: number }) => a.status)).toEqual([500, 500, 500, 204]);
    expect(d.log.every((a: { latencyMs: number }) => a.latencyMs >= 0)).toBe(true);

    // replay sends the same event id again; the receiver's de-duplicated log does not grow
    const replay = await region.api(`/v1/webhooks/${okHook.id}/replay`, {
      method: "POST",
      key,
      json: { fromEventId: Number(got.eventId), toEventId: Number(got.eventId) },
    });
    expect(replay.status).toBe(202);
    expect(replay.body.queued).toBe(1);
    await waitFor("the replay", async () => ok.requests.length === 2, 10_000, 50);
    expect(ok.requests[1]!.eventId).toBe(got.eventId);
    expect(ok.log.size).toBe(1);

    // a disabled endpoint receives nothing
    const disabled = await region.api(`/v1/webhooks/${okHook.id}`, { method: "PATCH", key, json: { enabled: false } });
    expect(disabled.body.enabled).toBe(false);
    await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("hooks-a2") } });
    await waitFor("the flaky (enabled) receiver to get the second job", async () => flaky.log.size === 2, 15_000, 50);
    expect(ok.requests.length).toBe(2);

    // another tenant cannot see or replay the endpoint
    const other = await region.key("hooks-other", "operator");
    expect((await region.api(`/v1/webhooks/${okHook.id}/deliveries`, { key: other })).status).toBe(404);
    expect((await region.api("/v1/webhooks", { key: other })).body.endpoints).toEqual([]);
    // a submitter cannot manage webhooks
    const submitter = await region.key("hooks-a", "submitter");
    expect((await region.api("/v1/webhooks", { key: submitter })).status).toBe(403);
  });

  it("a slow receiver does not delay other endpoints", async () => {
    const key = await region.key("hooks-slow", "operator");
    const hanging: (() => void)[] = [];
    neverAnswer = () => hanging.forEach((f) => f());
    const slow = await receiver(
      () =>
        new Promise<number>((resolve) => {
          hanging.push(() => resolve(200));
          setTimeout(() => resolve(200), 5_000);
        }),
    );
    const fast = await receiver(() => 200);
    await register(key, slow.url, ["job.*"]);
    await register(key, fast.url, ["job.*"]);

    const submitted = Date.now();
    // two events for the slow lane to stall on
    await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("slow-1") } });
    await region.api("/v1/jobs", { method: "POST", key, json: { composition: composition("slow-2") } });
    await waitFor("the fast receiver to get both events", async () => fast.log.size === 2, 10_000, 20);
    const fastDone = Math.max(...fast.requests.map((r) => r.at));
    expect(fastDone - submitted).toBeLessThan(2_000);
    // meanwhile the slow receiver has the first request in hand and has answered none
    expect(slow.requests.length).toBe(1);
    expect(slow.log.size).toBe(0);
  });

  it("checks addresses: private, loopback, link-local, metadata and transition ranges are refused; public unicast is not", async () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.100.100.200",
      "0.0.0.0",
      "::1",
      "fd00:ec2::254",
      "fe80::1",
      "::ffff:127.0.0.1",
      "64:ff9b::a00:1",
      "224.0.0.1",
    ]) {
      expect(addressRefusal(a), a).toBeDefined();
    }
    for (const a of ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]) expect(addressRefusal(a), a).toBeUndefined();
    // the delivery path checks again at connect time, whatever was registered
    const r = await sendSigned("http://127.0.0.1:9/hook", "whsec_x", "{}", {}, { timeoutMs: 1000, allowPrivateAddresses: false });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^refused: .*loopback/);
    const viaName = await sendSigned("http://localhost:9/hook", "whsec_x", "{}", {}, { timeoutMs: 1000, allowPrivateAddresses: false });
    expect(viaName.error).toMatch(/^refused: .*loopback/);
  });

  it("backs off exponentially with jitter, up to a cap", () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe("region-scope webhooks", () => {
  it("deliver the region's scaling events, signed, to an endpoint an operator registered with scope region, and only there", async () => {
    const key = await region.key("hooks-region", "operator");
    const regional = await receiver(() => 200);
    const tenantOnly = await receiver(() => 200);
    const r = await region.api("/v1/webhooks", {
      method: "POST",
      key,
      json: { url: regional.url, scope: "region", eventTypes: ["scaling.*"] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.scope).toBe("region");
    const hook = r.body as { id: string; secret: string };
    const t = await region.api("/v1/webhooks", { method: "POST", key, json: { url: tenantOnly.url } });
    expect(t.body.scope).toBe("tenant");
    // a submitter cannot register one (webhooks are operator business)
    const submitter = await region.key("hooks-region", "submitter");
    expect(
      (await region.api("/v1/webhooks", { method: "POST", key: submitter, json: { url: regional.url, scope: "region" } })).status,
    ).toBe(403);
    const bad = await region.api("/v1/webhooks", { method: "POST", key, json: { url: regional.url, scope: "planet" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("/scope");

    await recordDecisions(region.manager.db, [
      {
        pool: "cpu",
        action: "launch",
        hostGroup: "cpu-spot",
        count: 2,
        reason: "2 waiting tasks fit no running host",
        data: { from: 1, to: 3 },
      },
    ]);
    await waitFor("the region endpoint to get the scaling event", async () => regional.log.size === 1, 10_000, 50);
    const got = regional.requests[0]!;
    const event = JSON.parse(got.body);
    expect(event).toMatchObject({
      type: "scaling.launch",
      tenant: REGION_STREAM,
      jobId: null,
      data: { pool: "cpu", group: "cpu-spot", count: 2, from: 1, to: 3, direction: "out", reason: "2 waiting tasks fit no running host" },
    });
    expect(verifySignature(hook.secret, got.signature, got.body)).toBe(true);
    // the tenant's own endpoint receives tenant events, never region ones
    await appendEvent(region.manager.db, { tenant: "hooks-region", type: "test.tenant", payload: {} });
    await waitFor("the tenant endpoint to get the tenant event", async () => tenantOnly.log.size === 1, 10_000, 50);
    await new Promise((res) => setTimeout(res, 500));
    expect(tenantOnly.requests.map((x) => JSON.parse(x.body).type)).toEqual(["test.tenant"]);
    expect(regional.requests.map((x) => JSON.parse(x.body).type)).toEqual(["scaling.launch"]);

    // the delivery log and replay work for it like for any endpoint, and other tenants see neither
    const log = await region.api(`/v1/webhooks/${hook.id}/deliveries`, { key });
    expect(log.body.deliveries.map((d: { eventId: number; state: string }) => [d.eventId, d.state])).toEqual([[event.id, "succeeded"]]);
    const replay = await region.api(`/v1/webhooks/${hook.id}/replay`, {
      method: "POST",
      key,
      json: { fromEventId: event.id, toEventId: event.id },
    });
    expect(replay.body.queued).toBe(1);
    await waitFor("the replay", async () => regional.requests.length === 2, 10_000, 50);
    expect(regional.requests[1]!.eventId).toBe(String(event.id));
    const other = await region.key("hooks-region-other", "operator");
    expect((await region.api(`/v1/webhooks/${hook.id}`, { key: other })).status).toBe(404);
  });
});

describe("retention of events and the delivery log", () => {
  it("keeps events a webhook has not delivered or given up on, removes old delivered ones, and prunes old delivery logs", async () => {
    const tenant = "hooks-prune";
    const key = await region.key(tenant, "operator");
    const ok = await receiver(() => 200);
    const down = await receiver(() => 503);
    const okHook = await register(key, ok.url, ["test.one"]);
    const downHook = await register(key, down.url, ["test.two"]);

    await appendEvent(region.manager.db, { tenant, type: "test.one", payload: {} });
    await appendEvent(region.manager.db, { tenant, type: "test.two", payload: {} });
    await waitFor("the first delivery", async () => ok.log.size === 1, 10_000, 50);
    await waitFor("a failed attempt at the second", async () => down.requests.length >= 1, 10_000, 50);
    // disabled with a retry pending: its backlog waits, undelivered and not given up on
    await region.api(`/v1/webhooks/${downHook.id}`, { method: "PATCH", key, json: { enabled: false } });
    const [one, two] = await readEvents(region.manager.db, tenant, { afterSeq: 0 });
    expect([one!.type, two!.type]).toEqual(["test.one", "test.two"]);

    // both events are past retention now
    await region.manager.db.query("UPDATE outbox SET at = now() - interval '8 days' WHERE tenant = $1", [tenant]);
    await region.manager.pruner.pruneNow();
    expect((await readEvents(region.manager.db, tenant, { afterSeq: 0 })).map((e) => e.type)).toEqual(["test.two"]);
    // the delivery log still shows the delivered event's delivery until it too is past its retention
    const okLog = async () => (await region.api(`/v1/webhooks/${okHook.id}/deliveries`, { key })).body.deliveries as { eventId: number }[];
    expect((await okLog()).map((d) => d.eventId)).toEqual([one!.id]);
    await region.manager.db.query("UPDATE webhook_deliveries SET finished_at = now() - interval '31 days' WHERE endpoint_id = $1", [
      okHook.id,
    ]);
    const report = await region.manager.pruner.pruneNow();
    expect(report.deliveries).toBeGreaterThanOrEqual(1);
    expect(await okLog()).toEqual([]);
    // a pending delivery is never pruned, however old
    await region.manager.db.query("UPDATE webhook_deliveries SET created_at = now() - interval '90 days' WHERE endpoint_id = $1", [
      downHook.id,
    ]);
    await region.manager.pruner.pruneNow();
    const downLog = (await region.api(`/v1/webhooks/${downHook.id}/deliveries`, { key })).body.deliveries;
    expect(downLog.map((d: { eventId: number; state: string }) => [d.eventId, d.state])).toEqual([[two!.id, "pending"]]);

    // once the endpoint is removed, nothing needs the event and it goes too
    expect((await region.api(`/v1/webhooks/${downHook.id}`, { method: "DELETE", key })).status).toBe(204);
    await region.manager.pruner.pruneNow();
    expect(await readEvents(region.manager.db, tenant, { afterSeq: 0 })).toEqual([]);
  });

  it("keeps an event an enabled endpoint has not yet had a delivery made for", async () => {
    const tenant = "hooks-prune-fanout";
    const key = await region.key(tenant, "operator");
    const ok = await receiver(() => 200);
    const hook = await register(key, ok.url, ["test.*"]);
    // no worker makes deliveries from here on (the last test on this region), so the endpoint's cursor stays behind
    await region.manager.webhooks.stop();
    await appendEvent(region.manager.db, { tenant, type: "test.held", payload: {} });
    await waitFor(
      "the event to be numbered",
      async () => (await readEvents(region.manager.db, tenant, { afterSeq: 0 })).length === 1,
      5_000,
      20,
    );
    await region.manager.db.query("UPDATE outbox SET at = now() - interval '8 days' WHERE tenant = $1", [tenant]);
    await region.manager.pruner.pruneNow();
    expect((await readEvents(region.manager.db, tenant, { afterSeq: 0 })).map((e) => e.type)).toEqual(["test.held"]);
    expect(ok.requests).toEqual([]);
    // disabled, it would start from the newest event when enabled again: nothing holds the event any more
    await region.api(`/v1/webhooks/${hook.id}`, { method: "PATCH", key, json: { enabled: false } });
    await region.manager.pruner.pruneNow();
    expect(await readEvents(region.manager.db, tenant, { afterSeq: 0 })).toEqual([]);
  });
});

describe("webhooks with the default settings", () => {
  let strict: TestRegion;
  beforeAll(async () => {
    strict = await startTestRegion({ fleet: false });
  });
  afterAll(async () => {
    await strict?.cleanup();
  });

  it("refuses endpoints that resolve to private addresses", async () => {
    const key = await strict.key("hooks-strict", "operator");
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://10.0.0.5/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/hook",
      "http://[::ffff:192.168.0.1]/hook",
      "ftp://example.com/",
      "https://user:pw@93.184.215.14/",
    ]) {
      const r = await strict.api("/v1/webhooks", { method: "POST", key, json: { url } });
      expect(r.status, url).toBe(422);
      expect(r.body.errors[0].field).toBe("/url");
    }
    const refused = await strict.api("/v1/webhooks", { method: "POST", key, json: { url: "http://10.0.0.5/hook" } });
    expect(refused.body.detail).toMatch(/private/);
    // a public address is accepted
    const ok = await strict.api("/v1/webhooks", { method: "POST", key, json: { url: "https://93.184.215.14/hook" } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // and changing it to a private one later is refused too
    const patch = await strict.api(`/v1/webhooks/${ok.body.id}`, { method: "PATCH", key, json: { url: "http://192.168.0.10/" } });
    expect(patch.status).toBe(422);
    expect((await strict.api("/v1/webhooks", { key })).body.endpoints.map((e: { url: string }) => e.url)).toEqual([
      "https://93.184.215.14/hook",
    ]);
  });
});
