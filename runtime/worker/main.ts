// Entry point of a worker process: the coordinator writes a WorkerLaunch as
// JSON to stdin and keeps the pipe open; its closing means the coordinator
// died, and the worker stops its task rather than run on unsupervised.
import { ProcessRunner } from "./process-runner.js";
import { ContainerRunner, containerTaskFromLaunch } from "./container-runner.js";
import type { Runner } from "./runner.js";
import { runWorker } from "./worker.js";
import type { WorkerLaunch } from "./launch.js";

function readLaunch(): Promise<WorkerLaunch> {
  // a plain listener, not for-await: leaving a for-await loop would destroy stdin,
  // and stdin's closing is our signal that the coordinator died
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      process.stdin.off("data", onData);
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as WorkerLaunch);
      } catch (err) {
        reject(new Error(`launch description is not JSON: ${(err as Error).message}`));
      }
    };
    process.stdin.on("data", onData);
    process.stdin.once("end", () => reject(new Error("no launch description on stdin")));
  });
}

async function main(): Promise<number> {
  process.stdin.setEncoding("utf8");
  // a coordinator may start this process ahead of its task (a spare): load the
  // engine now, while it waits, so the task starts at once
  await import("../engine/run.js");
  const launch = await readLaunch();
  if (launch.runner !== "container" && launch.hostEngine) {
    const { adoptDiscoveredEngine } = await import("../engine/discover.js");
    await adoptDiscoveredEngine(launch.hostEngine);
  }
  const parentGone = new AbortController();
  process.stdin.on("end", () => parentGone.abort());
  process.stdin.on("close", () => parentGone.abort());
  process.stdin.resume();
  process.on("SIGTERM", () => parentGone.abort());
  const runner: Runner =
    launch.runner === "container" ? new ContainerRunner({ task: () => containerTaskFromLaunch(launch) }) : new ProcessRunner();
  const r = await runWorker(launch, runner, parentGone.signal);
  process.stderr.write(
    `worker ${launch.task.taskKey} attempt ${launch.task.attempt}: ${r.outcome}${r.accepted ? "" : ` (not accepted: ${r.reason})`}\n`,
  );
  return r.accepted && (r.outcome === "SUCCEEDED" || r.outcome === "SKIPPED") ? 0 : r.accepted ? 1 : 3;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`worker failed: ${(err as Error)?.stack ?? err}\n`);
    process.exit(2);
  },
);
