// The operators' dashboard and docs/metrics.md against the series the manager
// actually registers: a renamed metric breaks this test, not a dashboard in production.
// Then the cost-per-output-minute series on a real region running a real job.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../runtime/manager/metrics.js";
import "../runtime/manager/events/metrics.js";
import "../runtime/manager/autoscaler/metrics.js";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { INSTANCE_PRICES } from "../runtime/manager/autoscaler/pricing.js";

const dashboard = JSON.parse(fs.readFileSync("examples/grafana/framefleet.json", "utf8")) as {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
};
const doc = fs.readFileSync("docs/metrics.md", "utf8");
const pending = doc.slice(doc.indexOf("**Not emitted yet:**"));

describe("the Grafana dashboard and docs/metrics.md", () => {
  it("use only series the manager registers, or ones documented as not emitted yet", async () => {
    const registered = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set<string>();
    for (const p of dashboard.panels)
      for (const t of p.targets ?? [])
        for (const m of t.expr.matchAll(/framefleet_[a-z_]+/g)) used.add(m[0].replace(/_(bucket|count|sum)$/, ""));
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) {
      if (!registered.has(name)) expect(pending, `${name} is neither registered nor listed as not emitted yet`).toContain(name);
    }
    // every framefleet series is documented
    for (const name of registered) if (name.startsWith("framefleet_")) expect(doc, `${name} in docs/metrics.md`).toContain(`\`${name}\``);
  });

  it("covers throughput, queue wait, occupancy, cost per output minute and error rates", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join("\n");
    for (const topic of ["tasks finished", "queue wait", "occupancy", "cost per output minute", "error rate"])
      expect(titles).toContain(topic);
  });
});

/** One sample of a series from the text exposition format, by exact labels; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe("the cost per output minute series on a real region", () => {
  let region: TestRegion;
  const input = () => path.join(region.storeRoot, "inputs", "cost.mp4");
  beforeAll(async () => {
    region = await startTestRegion({
      // a priced host: the local fleet's coordinator says it is a c7i.2xlarge (its capacity type is always local, priced on demand)
      coordinatorEnv: { FRAMEFLEET_INSTANCE_TYPE: "c7i.2xlarge" },
      idleTimeoutMs: 30_000,
    });
    await makeTestSource(input(), { seconds: 2, width: 640, height: 360, fps: 25, audio: false });
  });
  afterAll(async () => {
    await region?.cleanup();
  });

  it("after a job, output media seconds rose by the job's output duration and a running host has cost > 0", async () => {
    const scrape = async () => {
      const r = await fetch(`${region.manager.urls.http}/metrics`);
      expect(r.status).toBe(200);
      return r.text();
    };
    const started = Date.now();
    const before = await scrape();
    const key = await region.key("metrics-cost", "submitter");
    const submitted = await region.api("/v1/jobs", {
      method: "POST",
      key,
      json: {
        composition: {
          apiVersion: "framefleet/v1",
          engine: { name: "ffmpeg", version: "5.1" },
          input: { uri: "store://local/inputs/cost.mp4" },
          output: { uri: "store://local/outputs/cost/" },
          video: {
            renditions: [{ name: "small", height: 240, codec: "h264", rateControl: { mode: "vbr", bitrateKbps: 400, maxrateKbps: 600 } }],
          },
          packaging: { mp4: {} },
        },
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const job = await waitFor(
      "the job to finish",
      async () => {
        const r = await region.api(`/v1/jobs/${submitted.body.id}`, { key });
        return ["succeeded", "failed", "partial", "cancelled"].includes(r.body.state) ? r.body : undefined;
      },
      180_000,
      300,
    );
    expect(job.state, JSON.stringify(job)).toBe("succeeded");
    // one 240p rendition: one SD output as long as the source
    const seconds = Number(
      execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", input()]).toString(),
    );
    const tier = { tier: "SD" };
    const rose = async () =>
      sample(await scrape(), "framefleet_output_media_seconds_total", tier) - sample(before, "framefleet_output_media_seconds_total", tier);
    await waitFor("the output seconds to be counted", async () => (await rose()) > 0, 10_000, 100);
    expect(await rose()).toBeCloseTo(seconds, 1);

    const after = await scrape();
    const labels = { pool: "default", instance_type: "c7i.2xlarge", capacity_type: "local" };
    const cost = sample(after, "framefleet_fleet_cost_dollars_total", labels);
    expect(
      cost,
      after
        .split("\n")
        .filter((l) => l.startsWith("framefleet_fleet_cost"))
        .join("\n"),
    ).toBeGreaterThan(0);
    // at most one host, for at most as long as the test has run, at the c7i.2xlarge on-demand price
    expect(cost).toBeLessThanOrEqual((((Date.now() - started) / 1000 + 1) * INSTANCE_PRICES["c7i.2xlarge"]!.onDemandPerHour) / 3600);
    // the dashboard's panel divides exactly these two series
    const panel = dashboard.panels.find((p) => p.title.toLowerCase() === "cost per output minute")!;
    expect(panel.targets![0]!.expr).toContain("framefleet_fleet_cost_dollars_total");
    expect(panel.targets![0]!.expr).toContain("framefleet_output_media_seconds_total");
  });
});
