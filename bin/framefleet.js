#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, the way every framefleet process runs.
import { spawn } from "node:child_process";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const child = spawn(
  process.execPath,
  ["--disable-warning=DEP0123", "--import", tsx, path.join(here, "..", "runtime", "cli", "main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit" },
);
// a supervisor (Kubernetes, systemd, a test) signals this process, not the CLI under it: pass the signal on,
// so the CLI stops gracefully and its exit status is ours
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
