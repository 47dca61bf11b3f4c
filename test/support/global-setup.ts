// One real PostgreSQL for the whole test run: DATABASE_ADMIN_URL when CI gives
// one, else an embedded server run by a child process (test/support/pg-server.ts).
// Each test file gets its own database (test/support/db.ts).
import { spawn } from "node:child_process";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_ADMIN_URL) {
    project.provide("pgAdminUrl", process.env.DATABASE_ADMIN_URL);
    return async () => {};
  }
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const child = spawn(process.execPath, ["--import", tsx, path.join(import.meta.dirname, "pg-server.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const adminUrl = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { adminUrl: string }).adminUrl);
    });
    child.once("exit", (code) => reject(new Error(`the test PostgreSQL exited (code ${code}) before it was ready`)));
  });
  project.provide("pgAdminUrl", adminUrl);
  return async () => {
    child.kill("SIGTERM");
    await exited;
  };
}
