// npm run bench:api — POST /v1/jobs throughput with durable commits.
//
// Starts an embedded PostgreSQL with its default (durable) settings: fsync on,
// synchronous_commit on. Starts the REST API on loopback, creates a submitter key,
// and drives POST /v1/jobs with autocannon for BENCH_SECONDS (default 10) at
// BENCH_CONNECTIONS (default 16). Each request is a full submission: key lookup
// and constant-time compare, schema validation, the engine's composition
// validation, store checks, planning, one transaction writing the job, its tasks,
// DAG edges, an audit record and an outbox event, then the read of the tasks for
// the response.
//
// Baseline, measured in the same run on the same database: the same submissions
// through the store alone (`insertJob`, same concurrency, no HTTP). A durable
// commit is the floor cost of accepting a job, so "API / store" says how much of
// the database's durable job-insert rate the HTTP layer keeps. For context it also
// measures GET /healthz on the same server: the HTTP stack's ceiling with no
// database work.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import { validateComposition } from "../runtime/engine/composition.js";
import { planJob } from "../runtime/engine/plan.js";
import { createSecretToken } from "../runtime/pki/tokens.js";
import { startEmbeddedPostgres } from "../runtime/manager/store/embedded.js";
import { createDb, insertApiKey, insertJob, migrate } from "../runtime/manager/store/index.js";
import { commitSettings } from "../runtime/manager/store/api-queries.js";
import { buildApi } from "../runtime/manager/api/server.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const POOL = Number(process.env.BENCH_POOL ?? 16);

const composition = {
  apiVersion: "framefleet/v1",
  engine: { name: "ffmpeg", version: "5.1" },
  input: { uri: "store://local/inputs/source.mp4" },
  output: { uri: "store://local/outputs/bench/" },
  video: {
    renditions: [
      { name: "v360", height: 360, rateControl: { mode: "vbr", bitrateKbps: 800 } },
      { name: "v720", height: 720, rateControl: { mode: "vbr", bitrateKbps: 3000 } },
    ],
  },
  audio: { renditions: [{ name: "aac", bitrateKbps: 128 }] },
  packaging: { mp4: {} },
};

function fmt(n: number, digits = 1): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function runCannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** The same submissions straight into the store, CONNECTIONS at a time, for SECONDS. */
async function storeBaseline(db: ReturnType<typeof createDb>): Promise<{ perSecond: number; p50: number; p99: number }> {
  const checked = validateComposition(composition);
  if (!checked.ok) throw new Error("bench composition is invalid: " + JSON.stringify(checked.errors));
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const jobId = crypto.randomUUID();
        await insertJob(db, {
          tenant: "bench",
          priority: 50,
          composition: checked.value as never,
          engine: checked.value.engine,
          labels: {},
          tasks: planJob(checked.value, { jobId }),
        });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { perSecond: latencies.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-bench-api-"));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), persistent: false, database: "bench" });
  let db: ReturnType<typeof createDb> | undefined;
  let app: Awaited<ReturnType<typeof buildApi>> | undefined;
  try {
    await migrate(pg.url);
    db = createDb(pg.url, { max: POOL, applicationName: "bench-api" });
    const durability = await commitSettings(db);
    const s = createSecretToken("ffk");
    await insertApiKey(db, { id: s.lookupId, tenant: "bench", role: "submitter", hash: s.hash, name: "bench" });
    app = await buildApi({ db, region: "bench", validateComposition, planJob, storesFor: () => ["local"] });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    console.log(`framefleet bench:api — ${os.cpus().length} CPU(s), node ${process.version}`);
    console.log(
      `PostgreSQL: fsync=${durability.fsync} synchronous_commit=${durability.synchronousCommit} wal_sync_method=${durability.walSync}`,
    );
    console.log(
      `engine validateComposition + planJob; ${CONNECTIONS} connections, ${SECONDS} s per phase, pool ${POOL}, load generated in a worker thread\n`,
    );

    const body = JSON.stringify({ composition, priority: 50, labels: { bench: "api" } });
    // warm-up: JIT, pool connections, prepared plans
    await runCannon({
      url: `${base}/v1/jobs`,
      method: "POST",
      connections: 4,
      amount: 200,
      body,
      headers: { "content-type": "application/json", authorization: `Bearer ${s.token}` },
    });

    const submit = await runCannon({
      url: `${base}/v1/jobs`,
      method: "POST",
      connections: CONNECTIONS,
      duration: SECONDS,
      body,
      workers: 1,
      headers: { "content-type": "application/json", authorization: `Bearer ${s.token}` },
    });
    const bad = submit.non2xx + submit.errors + submit.timeouts;
    console.log(
      `POST /v1/jobs         ${fmt(submit.requests.average).padStart(9)} req/s   p50 ${fmt(submit.latency.p50)} ms   p99 ${fmt(submit.latency.p99)} ms   (${submit.requests.total} requests, ${bad} not 2xx/errors)`,
    );

    const store = await storeBaseline(db);
    console.log(
      `insertJob (store only)${fmt(store.perSecond).padStart(9)} jobs/s  p50 ${fmt(store.p50)} ms   p99 ${fmt(store.p99)} ms   (baseline: same job, same concurrency, no HTTP)`,
    );

    const health = await runCannon({
      url: `${base}/healthz`,
      connections: CONNECTIONS,
      workers: 1,
      duration: Math.max(3, Math.round(SECONDS / 2)),
    });
    console.log(
      `GET /healthz          ${fmt(health.requests.average).padStart(9)} req/s   p50 ${fmt(health.latency.p50)} ms   p99 ${fmt(health.latency.p99)} ms   (context: HTTP ceiling, no database)`,
    );

    console.log(
      `\nPOST /v1/jobs at ${fmt(submit.requests.average / store.perSecond, 2)}x the store's durable insert rate (baseline), ${fmt((100 * submit.requests.average) / health.requests.average, 1)}% of the /healthz rate`,
    );
    if (bad > 0) {
      console.error(`FAILED: ${bad} submissions were not accepted`);
      process.exitCode = 1;
    }
  } finally {
    await app?.close();
    await db?.end();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
