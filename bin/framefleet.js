#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, the way every framefleet process runs.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const r = spawnSync(
  process.execPath,
  ["--disable-warning=DEP0123", "--import", tsx, path.join(here, "..", "runtime", "cli", "main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
