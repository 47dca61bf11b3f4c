// The host's per-digest record of an engine image's ffmpeg version: written whole,
// read back, and a miss (never an error) for anything it cannot trust.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readImageEngineVersion, writeImageEngineVersion } from "./engine-version-cache.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ff-engine-versions-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const digest = `sha256:${"ab".repeat(32)}`;

describe("engine version cache", () => {
  it("reads back what was written for a digest, and nothing for another", () => {
    const cacheDir = path.join(dir, "a", "engine-versions");
    expect(readImageEngineVersion(cacheDir, digest)).toBeUndefined();
    writeImageEngineVersion(cacheDir, digest, { version: "5.1.9", fullVersion: "5.1.9-0+deb12u1" });
    expect(readImageEngineVersion(cacheDir, digest)).toEqual({ version: "5.1.9", fullVersion: "5.1.9-0+deb12u1" });
    expect(readImageEngineVersion(cacheDir, `sha256:${"cd".repeat(32)}`)).toBeUndefined();
    expect(fs.readdirSync(cacheDir)).toEqual([`${"ab".repeat(32)}.json`]); // no temporary file left
    expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
  });

  it("treats a malformed entry or a reference that is not a digest as a miss, and never writes outside its directory", () => {
    const cacheDir = path.join(dir, "b");
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, `${"ab".repeat(32)}.json`), JSON.stringify({ version: 5 }));
    expect(readImageEngineVersion(cacheDir, digest)).toBeUndefined();
    writeImageEngineVersion(cacheDir, "sha256:../../etc/passwd", { version: "1", fullVersion: "1" });
    writeImageEngineVersion(cacheDir, "latest", { version: "1", fullVersion: "1" });
    expect(fs.readdirSync(cacheDir)).toEqual([`${"ab".repeat(32)}.json`]);
    expect(readImageEngineVersion(cacheDir, "latest")).toBeUndefined();
  });

  it("does not fail a task when the directory cannot be written", () => {
    const file = path.join(dir, "not-a-dir");
    fs.writeFileSync(file, "");
    expect(() => writeImageEngineVersion(file, digest, { version: "5.1.9", fullVersion: "5.1.9" })).not.toThrow();
    expect(readImageEngineVersion(file, digest)).toBeUndefined();
  });
});
