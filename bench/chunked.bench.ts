// npm run bench:chunked
//
// Chunked against unchunked encoding of the same ladder with two local
// coordinators, in the same run: GOP-aligned chunks are encoded as parallel
// tasks and stitched without re-encoding.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchRegion, readComposition, timeJob } from "./support.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHUNKED = path.join(here, "..", "examples", "compositions", "chunked-hls-ts.json");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);

async function main(): Promise<void> {
  const region = await benchRegion({ maxCoordinators: 2 });
  try {
    const source = path.join(region.storeRoot, "inputs", "chunked.mp4");
    console.log(`bench:chunked — ${path.basename(CHUNKED)} on a ${SECONDS}-second 1080p source with two local coordinators`);
    await makeTestSource(source, { seconds: SECONDS, width: 1920, height: 1080, fps: 25, audio: true });
    const chunked = readComposition(CHUNKED, "store://local/inputs/chunked.mp4", "store://local/outputs/chunked/");
    const whole = { ...readComposition(CHUNKED, "store://local/inputs/chunked.mp4", "store://local/outputs/whole/") };
    delete whole.chunking;
    const u = await timeJob(region.client, whole);
    const c = await timeJob(region.client, chunked);
    for (const r of [u, c]) if (r.state !== "succeeded") throw new Error(`a run ended ${r.state}`);
    console.log(`unchunked: ${u.seconds.toFixed(2)} s`);
    console.log(`chunked:   ${c.seconds.toFixed(2)} s`);
    console.log(`ratio chunked / unchunked: ${(c.seconds / u.seconds).toFixed(3)} (below 1 is faster)`);
  } finally {
    await region.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
