// The operators' dashboard and docs/metrics.md against the series the manager
// actually registers: a renamed metric breaks this test, not a dashboard in production.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { registry } from "../runtime/manager/metrics.js";
import "../runtime/manager/events/metrics.js";

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
