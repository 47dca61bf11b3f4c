// The spawn recipe: tsx over the sources by default, the bundle when one is named.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RUNTIME_BUNDLES, tsEntry } from "./ts-entry.js";

describe("tsEntry", () => {
  it("runs the TypeScript source through tsx by default", () => {
    const e = tsEntry("worker/main.ts", {});
    expect(e.command).toBe(process.execPath);
    expect(e.args).toContain("--import");
    expect(e.args.at(-1)).toBe(path.join(path.dirname(new URL(import.meta.url).pathname), "worker", "main.ts"));
  });

  it("runs the named bundle's module when FRAMEFLEET_RUNTIME_BUNDLE is set", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-bundle-"));
    // a stand-in module at the place the recipe names: proves the recipe runs that file, with no tsx
    fs.writeFileSync(path.join(dir, "coordinator.mjs"), "process.stdout.write(String(process.execArgv.includes('--import')))");
    const e = tsEntry("coordinator/main.ts", { FRAMEFLEET_RUNTIME_BUNDLE: dir });
    expect(e.args.at(-1)).toBe(path.join(dir, "coordinator.mjs"));
    const r = spawnSync(e.command, e.args, { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("false");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("names the missing entry rather than spawning something else", () => {
    expect(() => tsEntry("manager/nope.ts", { FRAMEFLEET_RUNTIME_BUNDLE: "/x" })).toThrow(/no bundle for runtime entry manager\/nope\.ts/);
    expect(Object.values(RUNTIME_BUNDLES)).toEqual(expect.arrayContaining(["coordinator/main.ts", "worker/main.ts"]));
  });
});
