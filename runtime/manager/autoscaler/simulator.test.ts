// Whole-fleet properties of the real policy in the simulator, on small seeded traces.
import { describe, expect, it } from "vitest";
import { percentile, simulate, type SimConfig } from "./simulator.js";
import { DEFAULT_POLICY } from "./policy.js";
import { benchFleet, burstyLiveTrace } from "./traces.js";

describe("the simulator with the real policy", () => {
  const trace = burstyLiveTrace(3, 3);
  const cfg: SimConfig = {
    ...benchFleet(400, "c7i.2xlarge"),
    policy: DEFAULT_POLICY,
    tickMs: 5000,
    bootMs: [25_000, 60_000],
    interruptionPerHostSecond: 0,
    seed: 1,
  };

  it("finishes every job, scales to zero between bursts, and costs at least the clairvoyant bound", () => {
    expect(trace.jobs.length).toBeGreaterThan(0);
    const r = simulate(trace.jobs, cfg);
    expect(r.jobsFinished).toBe(r.jobs);
    expect(r.costUsd).toBeGreaterThanOrEqual(r.clairvoyantUsd);
    // hosts were launched per burst and retired after: far fewer host-hours than an always-on peak fleet
    const alwaysOn = ((r.peakHosts.cpu ?? 0) * cfg.groups[1]!.pricePerHour * trace.periodMs) / 3_600_000;
    expect(r.costUsd).toBeLessThan(alwaysOn * 0.4);
    expect(percentile(r.waitsMs, 95)).toBeLessThanOrEqual(90_000);
    // every short chunk ran on spot
    expect(r.onDemandCostUsd).toBe(0);
  });

  it("requeues the work of reclaimed spot hosts and still finishes every job", () => {
    const r = simulate(trace.jobs, { ...cfg, interruptionPerHostSecond: 1 / 600 });
    expect(r.interruptions).toBeGreaterThan(0);
    expect(r.jobsFinished).toBe(r.jobs);
  });

  it("accounts for the host-time it bills: boot, use, part-idle and idle add up to the cost, less one-minute minimums", () => {
    const r = simulate(trace.jobs, cfg);
    const { boot, used, partlyIdle, idle } = r.spentUsd;
    expect(boot).toBeGreaterThan(0);
    // sampled per 5 s tick against per-second billing with a one-minute minimum: within a few percent
    expect(Math.abs(boot + used + partlyIdle + idle - r.costUsd) / r.costUsd).toBeLessThan(0.05);
  });

  it("is cheaper with the idle reserve at zero than with the cool-down on every idle host, and waits no longer than the target", () => {
    const every = simulate(trace.jobs, { ...cfg, policy: { ...DEFAULT_POLICY, idleReserve: Infinity } });
    const reserve0 = simulate(trace.jobs, cfg);
    expect(reserve0.costUsd).toBeLessThan(every.costUsd);
    expect(reserve0.spentUsd.idle).toBeLessThan(every.spentUsd.idle / 2);
    expect(percentile(reserve0.waitsMs, 95)).toBeLessThanOrEqual(90_000);
    expect(reserve0.jobsFinished).toBe(reserve0.jobs);
  });

  it("costs less when the pool offers a smaller shape: the policy launches it and fewer hosts run part-empty", () => {
    const one = simulate(trace.jobs, cfg);
    const two = simulate(trace.jobs, { ...cfg, ...benchFleet(400, ["c7i.xlarge", "c7i.2xlarge"]) });
    expect(two.jobsFinished).toBe(two.jobs);
    expect(two.spentUsd.partlyIdle).toBeLessThan(one.spentUsd.partlyIdle);
    expect(two.costUsd / two.clairvoyantUsd).toBeLessThan(one.costUsd / one.clairvoyantUsd);
    expect(percentile(two.waitsMs, 95)).toBeLessThanOrEqual(90_000);
  });

  it("holds the budget cap: spend per hour never passes it, at the price of waiting", () => {
    const capped = simulate(trace.jobs, { ...cfg, policy: { ...DEFAULT_POLICY, budgetPerHour: 1.0 } });
    expect(capped.jobsFinished).toBe(capped.jobs);
    // at most floor(1.00 / 0.135) = 7 spot hosts at once
    expect(capped.peakHosts.cpu).toBeLessThanOrEqual(7);
    expect(percentile(capped.waitsMs, 95)).toBeGreaterThan(percentile(simulate(trace.jobs, cfg).waitsMs, 95));
  });
});
