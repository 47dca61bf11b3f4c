import { describe, expect, it } from "vitest";
import type { Doc } from "./e2e-helpers.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { planJob, encodeRequirements } from "./plan.js";
import { validateComposition, type Composition } from "./composition.js";
import { stagingPrefix, jobStagingPrefix } from "./layout.js";
import { planChunks } from "./tasks.js";
import type { PlannedTask } from "./types.js";

const ex = (f: string): Composition => {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/compositions");
  const r = validateComposition(JSON.parse(readFileSync(path.join(dir, f), "utf8")));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};
const keys = (p: PlannedTask[]) => p.map((t) => t.key);
const byKey = (p: PlannedTask[], k: string) => p.find((t) => t.key === k)!;

/** every dependency exists and comes earlier: the plan is a DAG in topological order */
function assertDag(p: PlannedTask[]) {
  const seen = new Set<string>();
  for (const t of p) {
    for (const d of t.dependsOn) expect(seen.has(d), `${t.key} depends on ${d}`).toBe(true);
    expect(seen.has(t.key)).toBe(false);
    seen.add(t.key);
  }
}

describe("planJob", () => {
  it("minimal-mp4: probe -> encode (video, audio) -> package (mp4) -> verify", () => {
    const p = planJob(ex("minimal-mp4.json"), { jobId: "j1" });
    assertDag(p);
    expect(keys(p)).toEqual(["probe", "encode:main", "encode:aac", "package", "verify"]);
    expect(p.map((t) => t.pool)).toEqual(["probe", "encode", "encode", "package", "package"]);
    expect(byKey(p, "package").dependsOn).toEqual(["probe", "encode:main", "encode:aac"]);
    expect(byKey(p, "verify").dependsOn).toEqual(["probe", "package"]);
    expect((byKey(p, "package").spec as Doc).mp4).toEqual({});
    expect((byKey(p, "package").spec as Doc).hls).toBeUndefined();
    // policy "wait" (default): renditions are not optional; default 3 attempts
    expect(byKey(p, "encode:main").optional).toBe(false);
    expect(byKey(p, "encode:main").maxAttempts).toBe(3);
    // the only rendition is also the lowest: clamped rather than skipped on a small source
    expect((byKey(p, "encode:main").spec as Doc).clampToSource).toBe(true);
  });

  it("ladder under emit: optional encodes, requirements scale with height, no GPU", () => {
    const p = planJob(ex("hls-dash-ladder.json"), { jobId: "j2" });
    assertDag(p);
    const enc = p.filter((t) => t.kind === "encode");
    expect(enc.map((t) => t.key)).toEqual(["encode:1080p", "encode:720p", "encode:480p", "encode:360p", "encode:240p"]);
    expect(enc.every((t) => t.optional === true)).toBe(true);
    const cpu = enc.map((t) => t.requirements.cpuMillis);
    expect([...cpu].sort((a, b) => b - a)).toEqual(cpu); // descending with height
    expect(cpu[0]).toBeGreaterThan(cpu[4]!);
    expect(enc.every((t) => t.requirements.gpus === 0)).toBe(true);
    expect(byKey(p, "probe").requirements.cpuMillis).toBeLessThan(cpu[4]!);
    expect((byKey(p, "encode:1080p").spec as Doc).clampToSource).toBeUndefined();
    expect((byKey(p, "encode:240p").spec as Doc).clampToSource).toBe(true);
    const pkg = byKey(p, "package").spec as Doc;
    expect(pkg.video.map((v: Doc) => v.name)).toEqual(["1080p", "720p", "480p", "360p", "240p"]);
    expect(pkg.audio).toEqual([{ name: "aac-stereo", task: "encode:aac-stereo", language: "en", default: true }]);
    expect(pkg.hls).toEqual({ segmentType: "fmp4" });
    expect(pkg.thumbnails).toEqual({ intervalSeconds: 5, width: 320 });
  });

  it("gpu hardware asks for one GPU per video encode only", () => {
    const c = ex("minimal-mp4.json");
    c.hardware = "gpu";
    const p = planJob(c, { jobId: "j" });
    expect(byKey(p, "encode:main").requirements.gpus).toBe(1);
    expect(byKey(p, "encode:aac").requirements.gpus).toBe(0);
    expect(byKey(p, "probe").requirements.gpus).toBe(0);
    expect(encodeRequirements(2160, "hevc", "cpu").cpuMillis).toBeGreaterThan(encodeRequirements(2160, "h264", "cpu").cpuMillis);
  });

  it("chunked: split -> N chunk encodes per rendition -> stitch, package depends on stitches", () => {
    const p = planJob(ex("chunked-hls-ts.json"), { jobId: "j3" });
    assertDag(p);
    expect(keys(p)).toEqual([
      "probe",
      "split",
      "encode:720p:0",
      "encode:720p:1",
      "encode:720p:2",
      "encode:720p:3",
      "stitch:720p",
      "encode:360p:0",
      "encode:360p:1",
      "encode:360p:2",
      "encode:360p:3",
      "stitch:360p",
      "encode:aac",
      "package",
      "verify",
    ]);
    expect(byKey(p, "stitch:720p").dependsOn).toEqual([
      "probe",
      "split",
      "encode:720p:0",
      "encode:720p:1",
      "encode:720p:2",
      "encode:720p:3",
    ]);
    expect(byKey(p, "package").dependsOn).toEqual(["probe", "stitch:720p", "stitch:360p", "encode:aac"]);
    expect((byKey(p, "encode:360p:2").spec as Doc).chunk).toEqual({ index: 2, count: 4 });
    expect(byKey(p, "encode:360p:2").maxAttempts).toBe(2);
  });

  it("chunk boundaries are whole GOPs", () => {
    const s = planChunks(10, { num: 30, den: 1 }, 2, 4);
    expect(s.totalFrames).toBe(300);
    expect(s.gopFrames).toBe(60);
    expect(s.chunks.map((c) => [c.startFrame, c.frames])).toEqual([
      [0, 120],
      [120, 120],
      [240, 60],
      [300, 0],
    ]);
    expect(s.chunks.every((c) => c.startFrame % 60 === 0)).toBe(true);
    expect(s.chunks.reduce((a, c) => a + c.frames, 0)).toBe(300);
    const ntsc = planChunks(7, { num: 30000, den: 1001 }, 2, 3);
    expect(ntsc.chunks.reduce((a, c) => a + c.frames, 0)).toBe(ntsc.totalFrames);
  });

  it("staging prefixes are per attempt and refuse bad ids", () => {
    expect(stagingPrefix("job-1", "encode:720p", 2)).toBe(".framefleet-staging/job-1/encode:720p/2/");
    expect(stagingPrefix("job-1", "encode:720p", 1)).not.toBe(stagingPrefix("job-1", "encode:720p", 2));
    expect(jobStagingPrefix("job-1")).toBe(".framefleet-staging/job-1/");
    expect(() => jobStagingPrefix("../x")).toThrow();
    expect(() => stagingPrefix("j", "a/b", 1)).toThrow();
    expect(() => stagingPrefix("j", "..", 1)).toThrow();
    expect(() => stagingPrefix("j", "k", -1)).toThrow();
  });
});
