// Framefleet's processes (coordinator, worker) run their TypeScript through tsx,
// the same way in the embedded region, in tests and in the images, so one
// spawn recipe serves all: `node --import tsx <entry.ts>`.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const runtimeDir = path.dirname(fileURLToPath(import.meta.url));

export function tsEntry(relativeToRuntime: string): { command: string; args: string[] } {
  // resolve tsx from this package, so it works whatever the working directory is
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  // grpc-js sets the TLS server name to the address it dials; with an IP that is
  // only a deprecation notice (DEP0123), printed once per process: keep logs clean
  return { command: process.execPath, args: ["--disable-warning=DEP0123", "--import", tsx, path.join(runtimeDir, relativeToRuntime)] };
}
