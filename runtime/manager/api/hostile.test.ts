// Malformed and hostile requests against the real server over HTTP: each gets the
// right 4xx as an RFC 9457 problem naming the offending field, nothing is written,
// and the server keeps answering.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateComposition } from "../../engine/composition.js";
import { minimalComposition, startHarness, testPlanner, type Harness } from "./testkit.js";

let h: Harness;
let ownJob: string;
let otherTenantJob: string;
let jobsBefore: number;

beforeAll(async () => {
  h = await startHarness("hostile", { validateComposition, planJob: testPlanner });
  const mine = await h.call("POST", "/v1/jobs", {
    key: h.key.submitter,
    body: { composition: minimalComposition() },
    headers: { "idempotency-key": "first-use" },
  });
  expect(mine.status).toBe(201);
  ownJob = mine.body.id;
  const theirs = await h.call("POST", "/v1/jobs", {
    key: h.key.globex,
    body: {
      composition: minimalComposition({ input: { uri: "store://globex-media/secret.mp4" }, output: { uri: "store://globex-media/out/" } }),
    },
  });
  expect(theirs.status).toBe(201);
  otherTenantJob = theirs.body.id;
  jobsBefore = await h.jobCount();
});
afterAll(async () => {
  await h?.close();
});

const comp = minimalComposition;
const rendition = (over: Record<string, unknown>) => ({
  name: "v720",
  height: 720,
  rateControl: { mode: "vbr", bitrateKbps: 3000 },
  ...over,
});
const withRendition = (over: Record<string, unknown>) => ({ composition: comp({ video: { renditions: [rendition(over)] } }) });

interface Case {
  name: string;
  method?: string;
  path?: string;
  key?: "submitter" | "viewer";
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  field: string;
  reason?: RegExp;
}

const cases: Case[] = [
  { name: "invalid JSON", raw: '{"composition": {"apiVersion": ', status: 400, field: "/" },
  { name: "a JSON array instead of an object", body: [comp()], status: 400, field: "/" },
  {
    name: "prototype pollution through __proto__",
    raw: `{"composition": ${JSON.stringify(comp())}, "__proto__": {"isAdmin": true}}`,
    status: 400,
    field: "/",
  },
  { name: "missing composition", body: { priority: 5 }, status: 400, field: "/composition", reason: /required/ },
  {
    name: "unknown top-level field",
    body: { composition: comp(), callbackUrl: "http://169.254.169.254/" },
    status: 400,
    field: "/callbackUrl",
    reason: /unknown field/,
  },
  {
    name: "unknown composition field",
    body: { composition: comp({ ffmpegArgs: ["-filter_complex", "x"] }) },
    status: 422,
    field: "/composition/ffmpegArgs",
    reason: /unknown field/,
  },
  {
    name: "wrong type: priority as a string",
    body: { composition: comp(), priority: "high" },
    status: 400,
    field: "/priority",
    reason: /integer/,
  },
  {
    name: "wrong type: composition as a string",
    body: { composition: "store://media/in.mp4" },
    status: 400,
    field: "/composition",
    reason: /object/,
  },
  {
    name: "wrong type: height as a string",
    body: withRendition({ height: "720" }),
    status: 422,
    field: "/composition/video/renditions/0/height",
  },
  { name: "wrong type: labels as an array", body: { composition: comp(), labels: ["a"] }, status: 400, field: "/labels" },
  {
    name: "oversized body (2 MiB)",
    body: { composition: comp({ padding: "x".repeat(2 * 1024 * 1024) }) },
    status: 413,
    field: "/",
    reason: /too large/,
  },
  {
    name: "'../' in an input key",
    body: { composition: comp({ input: { uri: "store://media/../../etc/passwd" } }) },
    status: 422,
    field: "/composition/input/uri",
    reason: /'\.\.'/,
  },
  {
    name: "'../' in an output prefix",
    body: { composition: comp({ output: { uri: "store://media/out/../../other-tenant/" } }) },
    status: 422,
    field: "/composition/output/uri",
  },
  {
    name: "an http:// URL where a store reference belongs (SSRF)",
    body: { composition: comp({ input: { uri: "http://169.254.169.254/latest/meta-data/" } }) },
    status: 422,
    field: "/composition/input/uri",
    reason: /scheme 'http:'/,
  },
  {
    name: "a file:// URI where a store reference belongs",
    body: { composition: comp({ output: { uri: "file:///etc/" } }) },
    status: 422,
    field: "/composition/output/uri",
    reason: /scheme 'file:'/,
  },
  {
    name: "an unknown store",
    body: { composition: comp({ input: { uri: "store://nosuchstore/in.mp4" } }) },
    status: 422,
    field: "/composition/input/uri",
    reason: /unknown store 'nosuchstore'/,
  },
  {
    name: "another tenant's store",
    body: { composition: comp({ output: { uri: "store://globex-media/stolen/" } }) },
    status: 422,
    field: "/composition/output/uri",
    reason: /unknown store 'globex-media'/,
  },
  { name: "absurd priority 10^9", body: { composition: comp(), priority: 1e9 }, status: 400, field: "/priority", reason: /<= 100/ },
  {
    name: "absurd ladder: 10 000 renditions",
    body: { composition: comp({ video: { renditions: Array.from({ length: 10_000 }, () => ({})) } }) },
    status: 422,
    field: "/composition/video/renditions",
    reason: /at most/,
  },
  { name: "absurd height 100000", body: withRendition({ height: 100_000 }), status: 422, field: "/composition/video/renditions/0/height" },
  {
    name: "an ffmpeg option as a rendition name (-vf)",
    body: withRendition({ name: "-vf" }),
    status: 422,
    field: "/composition/video/renditions/0/name",
    reason: /'-'/,
  },
  {
    name: "a shell command in a rendition name",
    body: withRendition({ name: "a;rm -rf" }),
    status: 422,
    field: "/composition/video/renditions/0/name",
  },
  {
    name: "a shell command in the engine version",
    body: { composition: comp({ engine: { name: "ffmpeg", version: "5.1; rm -rf /" } }) },
    status: 422,
    field: "/composition/engine/version",
  },
  {
    name: "33 labels",
    body: { composition: comp(), labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, "v"])) },
    status: 400,
    field: "/labels",
    reason: /32/,
  },
  {
    name: "a label key with a slash and capitals",
    body: { composition: comp(), labels: { "Team/Name": "x" } },
    status: 400,
    field: "/labels/Team~1Name",
    reason: /label keys must match/,
  },
  {
    name: "a label value over 256 characters",
    body: { composition: comp(), labels: { team: "x".repeat(257) } },
    status: 400,
    field: "/labels/team",
  },
  {
    name: "a reused Idempotency-Key with another body",
    body: { composition: comp(), priority: 99 },
    headers: { "idempotency-key": "first-use" },
    status: 409,
    field: "header/Idempotency-Key",
    reason: /different body/,
  },
  {
    name: "an empty Idempotency-Key",
    body: { composition: comp() },
    headers: { "idempotency-key": "" },
    status: 400,
    field: "header/Idempotency-Key",
    reason: /1 to 255 printable ASCII/,
  },
  {
    name: "an over-long Idempotency-Key (256 characters)",
    body: { composition: comp() },
    headers: { "idempotency-key": "k".repeat(256) },
    status: 400,
    field: "header/Idempotency-Key",
    reason: /1 to 255 printable ASCII/,
  },
  {
    name: "wrong content type: text/plain",
    raw: JSON.stringify({ composition: comp() }),
    headers: { "content-type": "text/plain" },
    status: 415,
    field: "header/Content-Type",
  },
  {
    name: "wrong content type: a form",
    raw: "composition=x",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
    field: "header/Content-Type",
    reason: /application\/json/,
  },
  {
    name: "submitting as a viewer",
    key: "viewer",
    body: { composition: comp() },
    status: 403,
    field: "header/Authorization",
    reason: /viewer/,
  },
  { name: "another tenant's job", method: "GET", path: "/v1/jobs/{other}", status: 404, field: "path/id" },
  { name: "cancelling another tenant's job", method: "POST", path: "/v1/jobs/{other}/cancel", status: 404, field: "path/id" },
  { name: "a non-UUID job id", method: "GET", path: "/v1/jobs/12345", status: 400, field: "path/id", reason: /must be a UUID/ },
  { name: "a traversal as a job id", method: "GET", path: "/v1/jobs/..%2F..%2Fetc%2Fpasswd", status: 400, field: "path/id" },
  { name: "SQL in a job id", method: "POST", path: "/v1/jobs/1'%20OR%20'1'='1/cancel", status: 400, field: "path/id" },
  { name: "an unknown query parameter", method: "GET", path: "/v1/jobs?tenant=globex", key: "viewer", status: 400, field: "query/tenant" },
  { name: "a route that does not exist", method: "GET", path: "/v1/admin/keys", status: 404, field: "" },
];

describe("hostile and malformed submissions", () => {
  it.each(cases)("$name → $status", async (c) => {
    const before = await h.jobCount();
    const path = (c.path ?? "/v1/jobs").replace("{other}", otherTenantJob);
    const r = await h.call(c.method ?? "POST", path, { key: h.key[c.key ?? "submitter"], body: c.body, raw: c.raw, headers: c.headers });
    expect(r.status).toBe(c.status);
    expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({
      type: expect.stringMatching(/^urn:framefleet:problem:/),
      title: expect.any(String),
      status: c.status,
      detail: expect.any(String),
      instance: expect.any(String),
    });
    expect(r.body.instance.startsWith("/")).toBe(true);
    if (c.field !== "") {
      const hit = (r.body.errors as { field: string; reason: string }[]).find((e) => e.field === c.field);
      expect(hit, `errors: ${JSON.stringify(r.body.errors).slice(0, 500)}`).toBeDefined();
      expect(hit!.reason.length).toBeGreaterThan(0);
      if (c.reason) expect(hit!.reason).toMatch(c.reason);
    }
    // no stack frames, no SQL, no internals
    expect(r.text).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\.ts:\d+|SELECT |INSERT /);
    // nothing was written, and the server still answers
    expect(await h.jobCount()).toBe(before);
    expect((await h.call("GET", "/healthz")).status).toBe(200);
  });

  it("still serves the tenant's own job and accepts a well-formed submission afterwards", async () => {
    // not one of the requests above wrote a job
    expect(await h.jobCount()).toBe(jobsBefore);
    expect((await h.call("GET", `/v1/jobs/${ownJob}`, { key: h.key.viewer })).status).toBe(200);
    expect((await h.call("GET", `/v1/jobs/${otherTenantJob}`, { key: h.key.globex })).body.state).toBe("queued");
    // no Idempotency-Key at all is fine
    const ok = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { composition: comp() } });
    expect(ok.status).toBe(201);
    expect(await h.jobCount()).toBe(jobsBefore + 1);
  });

  it("reports every composition problem at once, each with its own field", async () => {
    const r = await h.call("POST", "/v1/jobs", {
      key: h.key.submitter,
      body: { composition: comp({ video: { renditions: [rendition({ height: 721 }), rendition({ name: "second", height: 100_000 })] } }) },
    });
    expect(r.status).toBe(422);
    const fields = r.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["/composition/video/renditions/0/height", "/composition/video/renditions/1/height"]));
  });
});
