// Framefleet's processes (coordinator, worker) run their TypeScript through tsx
// in the embedded region and in tests: `node --import tsx <entry.ts>`. The
// images run the esbuild bundle instead (scripts/images/bundle.ts replaces this
// module there); FRAMEFLEET_RUNTIME_BUNDLE=<dir> makes a source checkout spawn
// that bundle too, so a benchmark measures the processes as they ship: a worker
// starts on about a quarter of the CPU when nothing is compiled at start.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const runtimeDir = path.dirname(fileURLToPath(import.meta.url));

/** Bundle name -> entry module, relative to runtime/ (the bundler builds exactly these). */
export const RUNTIME_BUNDLES: Record<string, string> = {
  framefleet: "cli/main.ts",
  coordinator: "coordinator/main.ts",
  worker: "worker/main.ts",
};

// grpc-js sets the TLS server name to the address it dials; with an IP that is
// only a deprecation notice (DEP0123), printed once per process: keep logs clean
const NODE_FLAGS = ["--disable-warning=DEP0123"];

export function tsEntry(relativeToRuntime: string, env: NodeJS.ProcessEnv = process.env): { command: string; args: string[] } {
  const bundleDir = env.FRAMEFLEET_RUNTIME_BUNDLE;
  if (bundleDir) {
    const name = Object.entries(RUNTIME_BUNDLES).find(([, entry]) => entry === relativeToRuntime)?.[0];
    if (!name) throw new Error(`no bundle for runtime entry ${relativeToRuntime}: add it to RUNTIME_BUNDLES in runtime/ts-entry.ts`);
    return { command: process.execPath, args: [...NODE_FLAGS, path.join(path.resolve(bundleDir), `${name}.mjs`)] };
  }
  // resolve tsx from this package, so it works whatever the working directory is
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { command: process.execPath, args: [...NODE_FLAGS, "--import", tsx, path.join(runtimeDir, relativeToRuntime)] };
}
