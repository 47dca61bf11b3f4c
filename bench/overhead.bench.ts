// npm run bench:overhead
//
// The demo ladder on a 60-second 720p source, through the whole platform
// (embedded PostgreSQL, scheduler, a local coordinator, one worker process per
// task over mutual-TLS gRPC) against the same engine code and ffmpeg argv run
// directly in one process (runtime/engine/local-driver.ts), in the same run.
// Both run one task at a time, so the difference is the platform's own cost:
// scheduling, process start, certificates, reports and the database.
//
// The coordinator and its workers run as they ship in the images: the esbuild
// bundle (npm run bundle), built into a temporary directory first. Set
// BENCH_TSX=1 to measure the development recipe (tsx compiling at each start).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleRuntime } from "../scripts/images/bundle.js";
import { benchRegion, readComposition, timeJob } from "./support.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";
import { runLocalJob } from "../runtime/engine/local-driver.js";
import { FsStore } from "../runtime/storage/fs.js";
import type { Composition } from "../runtime/engine/composition.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const LADDER = path.join(here, "..", "examples", "compositions", "hls-dash-ladder.json");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);

async function main(): Promise<void> {
  let bundleDir: string | undefined;
  if (!process.env.BENCH_TSX) {
    bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-bench-bundle-"));
    await bundleRuntime(bundleDir);
    process.env.FRAMEFLEET_RUNTIME_BUNDLE = path.join(bundleDir, "runtime");
  }
  // one coordinator whose every task takes the whole host: tasks run one at a time, as in the baseline
  const region = await benchRegion({ maxCoordinators: 1, coordinatorCpuMillis: 1000 });
  try {
    const source = path.join(region.storeRoot, "inputs", "overhead.mp4");
    console.log(
      `bench:overhead — demo ladder on a ${SECONDS}-second 720p source; platform vs the same engine run directly, one task at a time; ` +
        `coordinator and workers from ${bundleDir ? "the runtime bundle (as in the images)" : "TypeScript through tsx (BENCH_TSX)"}`,
    );
    await makeTestSource(source, { seconds: SECONDS, width: 1280, height: 720, fps: 25, audio: true });

    const direct = async () => {
      const t0 = performance.now();
      const store = new FsStore("local", region.storeRoot);
      const r = await runLocalJob({
        jobId: `direct-${Date.now()}`,
        composition: readComposition(
          LADDER,
          "store://local/inputs/overhead.mp4",
          `store://local/outputs/direct-${Date.now()}/`,
        ) as unknown as Composition,
        resolveStore: () => store,
        concurrency: 1,
      });
      return { seconds: (performance.now() - t0) / 1000, state: r.state };
    };
    const platform = () =>
      timeJob(region.client, readComposition(LADDER, "store://local/inputs/overhead.mp4", `store://local/outputs/platform-${Date.now()}/`));

    // alternate the two so drift in the machine's load hits both alike; the best of each is the figure
    // (the least disturbed run of the same work), over BENCH_RUNS pairs
    const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
    const ds: Awaited<ReturnType<typeof direct>>[] = [];
    const ps: Awaited<ReturnType<typeof platform>>[] = [];
    for (let i = 0; i < runs; i++) {
      ds.push(await direct());
      ps.push(await platform());
    }
    for (const r of [...ds, ...ps]) if (r.state !== "succeeded") throw new Error(`a run ended ${r.state}`);
    const d = Math.min(...ds.map((r) => r.seconds));
    const p = Math.min(...ps.map((r) => r.seconds));
    const list = (rs: { seconds: number }[]) => rs.map((r) => r.seconds.toFixed(2)).join(", ");
    console.log(`direct (same argv, no platform): ${d.toFixed(2)} s   (runs: ${list(ds)})`);
    console.log(`through the platform:            ${p.toFixed(2)} s   (runs: ${list(ps)})`);
    console.log(`ratio platform / direct: ${(p / d).toFixed(3)}   target ≤ 1.05: ${p / d <= 1.05 ? "met" : "NOT met"}`);
  } finally {
    await region.cleanup();
    if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
