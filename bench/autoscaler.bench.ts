// npm run bench:autoscaler — the autoscaler's cost and waiting time, side by side
// with the alternatives.
//
// Replays two seeded traces (runtime/manager/autoscaler/traces.ts) through the
// simulator (simulator.ts), which runs the real placement code and the real
// policy against a simulated fleet: hosts boot in 25–60 s, bill per second with
// a one-minute minimum at list prices (pricing.ts), and spot hosts are reclaimed
// at a rate that takes about 5% of spot instances (their tasks requeue at once).
//
// For each trace it prints:
//   - cost against a clairvoyant optimum that knows every arrival in advance:
//     the work itself, perfectly packed, priced at the capacity type the rule
//     asks for, with no idle host and no boot time (a lower bound);
//   - cost against an always-on on-demand fleet sized for the trace's peak;
//   - cost against AWS Elemental MediaConvert list price per output minute;
//   - queue wait p50 and p95 (ready to started, boot included), deadline misses;
//   - whether the targets hold: ≤ 1.20× clairvoyant, ≥ 60% cheaper than always-on, p95 wait ≤ 90 s.
// Exit status 1 if a target is missed.
import { simulate, percentile, type SimConfig } from "../runtime/manager/autoscaler/simulator.js";
import { DEFAULT_POLICY } from "../runtime/manager/autoscaler/policy.js";
import { benchFleet, burstyLiveTrace, vodMonthTrace, type Trace } from "../runtime/manager/autoscaler/traces.js";
import { managedServiceCost } from "../runtime/manager/autoscaler/pricing.js";

const SPOT_SHARE_INTERRUPTED = 0.05;

function run(trace: Trace, tickMs: number): boolean {
  // two shapes of one family: the policy launches the smaller one where the waiting work leaves a larger one part-empty
  const fleet = benchFleet(400, (process.env.BENCH_INSTANCE ?? "c7i.xlarge,c7i.2xlarge").split(","));
  const policy = {
    ...DEFAULT_POLICY,
    ...(process.env.BENCH_COOLDOWN_MS ? { scaleInCooldownMs: Number(process.env.BENCH_COOLDOWN_MS) } : {}),
  };
  const base: SimConfig = { ...fleet, policy, tickMs, bootMs: [25_000, 60_000], interruptionPerHostSecond: 0, seed: 7 };
  // a pilot run measures how long spot hosts live, to set the hazard that reclaims ~5% of them
  const t0 = performance.now();
  const pilot = simulate(trace.jobs, base);
  const meanLife = pilot.spotHostSeconds / Math.max(1, pilot.hostsLaunched);
  const hazard = -Math.log(1 - SPOT_SHARE_INTERRUPTED) / Math.max(1, meanLife);
  const r = simulate(trace.jobs, { ...base, interruptionPerHostSecond: hazard });
  const simSeconds = (performance.now() - t0) / 1000;

  const peak = Object.values(r.peakHosts).reduce((a, b) => a + b, 0);
  const alwaysOn = (r.peakOnDemandPerHour * trace.periodMs) / 3_600_000;
  const out = { SD: 0, HD: 0, UHD: 0 };
  for (const j of trace.jobs) {
    out.SD += j.outputMinutes.SD ?? 0;
    out.HD += j.outputMinutes.HD ?? 0;
    out.UHD += j.outputMinutes.UHD ?? 0;
  }
  const mediaconvert = managedServiceCost(out);
  const ratio = r.costUsd / r.clairvoyantUsd;
  const savingVsAlwaysOn = 1 - r.costUsd / alwaysOn;
  const p50 = percentile(r.waitsMs, 50) / 1000;
  const p95 = percentile(r.waitsMs, 95) / 1000;
  const targets = { clairvoyant: ratio <= 1.2, alwaysOn: savingVsAlwaysOn >= 0.6, wait: p95 <= 90 };
  const ok = targets.clairvoyant && targets.alwaysOn && targets.wait;
  const usd = (v: number) => `$${v.toFixed(2)}`;
  const outputMinutes = out.SD + out.HD + out.UHD;

  console.log(`\n== ${trace.name}: ${trace.description}`);
  console.log(
    `   ${trace.jobs.length} jobs, ${Math.round(trace.inputMinutes).toLocaleString("en-US")} input minutes, ${Math.round(outputMinutes).toLocaleString("en-US")} output minutes; simulated in ${simSeconds.toFixed(1)} s (${r.decisions.toLocaleString("en-US")} policy decisions)`,
  );
  console.log(
    `   hosts launched ${r.hostsLaunched}, peak ${peak}, spot interruptions ${r.interruptions} (${((r.interruptions / Math.max(1, r.hostsLaunched)) * 100).toFixed(1)}% of hosts); spot ${usd(r.spotCostUsd)} + on-demand ${usd(r.onDemandCostUsd)}`,
  );
  console.log(
    `   autoscaled cost            ${usd(r.costUsd).padStart(12)}   (${((r.costUsd / outputMinutes) * 1000).toFixed(3)} $ per 1000 output minutes)`,
  );
  console.log(
    `   clairvoyant optimum        ${usd(r.clairvoyantUsd).padStart(12)}   ratio ${ratio.toFixed(3)}×            target ≤ 1.20×  ${targets.clairvoyant ? "MET" : "MISSED"}`,
  );
  console.log(
    `   always-on on-demand (peak) ${usd(alwaysOn).padStart(12)}   ${(savingVsAlwaysOn * 100).toFixed(1)}% cheaper        target ≥ 60%    ${targets.alwaysOn ? "MET" : "MISSED"}`,
  );
  console.log(
    `   MediaConvert list price    ${usd(mediaconvert).padStart(12)}   ${(mediaconvert / r.costUsd).toFixed(1)}× the autoscaled cost`,
  );
  console.log(
    `   queue wait p50 ${p50.toFixed(1)} s, p95 ${p95.toFixed(1)} s (boot included)      target p95 ≤ 90 s ${targets.wait ? "MET" : "MISSED"}`,
  );
  console.log(`   jobs finished ${r.jobsFinished}/${r.jobs}, deadline misses ${r.deadlineMisses}`);
  const pts = (v: number) => `${((v / r.clairvoyantUsd) * 100).toFixed(1)}`;
  console.log(
    `   host-time per 100 of the bound: in use ${pts(r.spentUsd.used)}, booting ${pts(r.spentUsd.boot)}, partly idle ${pts(r.spentUsd.partlyIdle)}, idle ${pts(r.spentUsd.idle)}`,
  );
  return ok && r.jobsFinished === r.jobs;
}

// BENCH_TRACE=bursty-live (or vod-month) replays one trace only
const only = process.env.BENCH_TRACE;
const results = [
  ...(!only || only === "bursty-live" ? [run(burstyLiveTrace(), 5000)] : []),
  ...(!only || only === "vod-month" ? [run(vodMonthTrace(), 10_000)] : []),
];
console.log(`\n${results.every(Boolean) ? "all targets met" : "a target was missed"}`);
process.exitCode = results.every(Boolean) ? 0 : 1;
