// Whole jobs through the local driver: the minimal MP4 the control plane starts with,
// HEVC/AV1 CODECS strings, partial success under emit and failure under wait, retries,
// chunked encoding, trim, and the commit's atomicity and idempotency.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { composition, decodes, ffprobeJson, makeEnv, type Env, type Doc } from "./e2e-helpers.js";
import { runLocalJob } from "./local-driver.js";
import { parseMasterPlaylist } from "./hls.js";
import { commitOutputs } from "./commit.js";
import type { Store } from "../storage/store.js";
import type { Json } from "./types.js";

let env: Env;
let input: string;
beforeAll(async () => {
  env = await makeEnv();
  input = await env.source("in/src.mp4", { seconds: 3, width: 320, height: 180, fps: 25 });
}, 60_000);
afterAll(async () => {
  await env?.cleanup();
});

const ladder = (output: string, policy: "emit" | "wait", extra: Record<string, unknown> = {}) =>
  composition({
    apiVersion: "framefleet/v1",
    engine: { name: "ffmpeg", version: "5.1" },
    input: { uri: input },
    output: { uri: output },
    video: {
      gopSeconds: 1,
      preset: "fastest",
      renditions: [
        { name: "180p", height: 180, rateControl: { mode: "vbr", bitrateKbps: 300 } },
        { name: "144p", height: 144, rateControl: { mode: "vbr", bitrateKbps: 200 } },
        { name: "108p", height: 108, rateControl: { mode: "vbr", bitrateKbps: 120 } },
      ],
    },
    audio: { renditions: [{ name: "aac", bitrateKbps: 64 }] },
    packaging: { segmentSeconds: 1, hls: { segmentType: "fmp4" }, dash: {} },
    policy: { onRenditionFailure: policy, maxAttempts: 2 },
    ...extra,
  });

describe("minimal MP4 (the control plane's first job)", () => {
  it("probe -> encode -> package (mp4) -> verify, commits an MP4 with audio under the output prefix", async () => {
    const c = composition({
      ...JSON.parse(await readFile(path.resolve("examples/compositions/minimal-mp4.json"), "utf8")),
      input: { uri: input },
      output: { uri: "store://media/out/min/" },
    });
    const job = await runLocalJob({ jobId: "min-1", composition: c, resolveStore: env.resolveStore, ...env.bins });
    expect(job.error).toBeUndefined();
    expect(job.state).toBe("succeeded");
    expect(job.plan.map((t) => t.key)).toEqual(["probe", "encode:main", "encode:aac", "package", "verify"]);
    expect(job.commit!.committed).toEqual(["store://media/out/min/mp4/main.mp4"]);
    const info = await ffprobeJson(path.join(env.store.root, "out/min/mp4/main.mp4"));
    expect(info.streams.map((s: Doc) => s.codec_name).sort()).toEqual(["aac", "h264"]);
    // the 720p rendition is taller than this 180p source: the lowest rendition is clamped, not upscaled
    const v = info.streams.find((s: Doc) => s.codec_type === "video");
    expect([v.width, v.height]).toEqual([320, 180]);
    expect((job.tasks["encode:main"]!.result as Doc).clampedFrom).toBe(720);
    expect(Math.abs(Number(info.format.duration) - 3)).toBeLessThanOrEqual(0.1);
    expect(await env.store.list(".framefleet-staging/min-1/")).toEqual([]);
  });
});

describe("HEVC and AV1 in one HLS ladder", () => {
  it("derives hvc1/av01/avc1 CODECS from the encoded streams", async () => {
    const c = composition({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri: input },
      output: { uri: "store://media/out/mixed/" },
      video: {
        gopSeconds: 1,
        preset: "fastest",
        renditions: [
          { name: "hevc", height: 180, codec: "hevc", profile: "main", rateControl: { mode: "vbr", bitrateKbps: 250, maxrateKbps: 300 } },
          { name: "av1", height: 144, codec: "av1", rateControl: { mode: "crf", crf: 40, maxrateKbps: 200 } },
          { name: "avc", height: 108, codec: "h264", rateControl: { mode: "cbr", bitrateKbps: 150 } },
        ],
      },
      packaging: { segmentSeconds: 1, hls: { segmentType: "fmp4" } },
    });
    const job = await runLocalJob({ jobId: "mixed-1", composition: c, resolveStore: env.resolveStore, ...env.bins });
    expect(job.error).toBeUndefined();
    const master = parseMasterPlaylist(await readFile(path.join(env.store.root, "out/mixed/master.m3u8"), "utf8"));
    expect(master.variants.map((v) => v.CODECS)).toEqual([
      expect.stringMatching(/^hvc1\.1\.6\.L\d+\.[0-9A-F]+$/),
      expect.stringMatching(/^av01\.0\.\d\dM\.08$/),
      expect.stringMatching(/^avc1\.[0-9a-f]{6}$/),
    ]);
    expect(master.media).toEqual([]); // no audio renditions: no audio group
    for (const n of ["hevc", "av1", "avc"]) expect(await decodes(path.join(env.store.root, `out/mixed/hls/${n}/index.m3u8`))).toBe(true);
  });
});

describe("partial success", () => {
  it("emit: a rendition failing every attempt is left out of both manifests; the job is partial", async () => {
    const job = await runLocalJob({
      jobId: "emit-1",
      composition: ladder("store://media/out/emit/", "emit"),
      resolveStore: env.resolveStore,
      ...env.bins,
      faults: { "encode:144p": "always" },
    });
    expect(job.state).toBe("partial");
    expect(job.tasks["encode:144p"]).toMatchObject({ state: "failed", attempts: 2 });
    expect(job.commit!.missing).toEqual([
      { rendition: "144p", reason: expect.stringMatching(/^failed: injected fault in encode:144p attempt 2/) },
    ]);
    const out = path.join(env.store.root, "out/emit");
    const master = parseMasterPlaylist(await readFile(path.join(out, "master.m3u8"), "utf8"));
    expect(master.variants.map((v) => v.uri)).toEqual(["hls/180p/index.m3u8", "hls/108p/index.m3u8"]);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      await readFile(path.join(out, "manifest.mpd"), "utf8"),
    );
    const heights = [doc.MPD.Period.AdaptationSet]
      .flat()
      .filter((s: Doc) => s.contentType === "video")
      .flatMap((s: Doc) => [s.Representation].flat().map((r: Doc) => Number(r.height)));
    expect(heights).toEqual([180, 108]);
    expect(job.commit!.committed.some((k) => k.includes("144p"))).toBe(false);
  });

  it("emit: a rendition whose engine work fails for real (its store writes fail) is left out too", async () => {
    const flaky: Store = Object.assign(Object.create(env.store), {
      write: (key: string, body: Doc) =>
        key.includes("/encode:108p/") ? Promise.reject(new Error("disk quota exceeded")) : env.store.write(key, body),
    });
    const job = await runLocalJob({
      jobId: "emit-2",
      composition: ladder("store://media/out/emit2/", "emit"),
      resolveStore: () => flaky,
      ...env.bins,
    });
    expect(job.state).toBe("partial");
    expect(job.tasks["encode:108p"]).toMatchObject({ state: "failed", attempts: 2, error: "disk quota exceeded" });
    const master = parseMasterPlaylist(await readFile(path.join(env.store.root, "out/emit2/master.m3u8"), "utf8"));
    expect(master.variants.map((v) => v.RESOLUTION)).toEqual(["320x180", "256x144"]);
    expect(job.tasks["verify"]!.state).toBe("succeeded");
  });

  it("wait: the same failure fails the job and nothing reaches the output prefix", async () => {
    const job = await runLocalJob({
      jobId: "wait-1",
      composition: ladder("store://media/out/wait/", "wait"),
      resolveStore: env.resolveStore,
      ...env.bins,
      faults: { "encode:144p": "always" },
    });
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(/^encode:144p: injected fault/);
    expect(job.tasks["package"]).toBeUndefined();
    expect(job.commit).toBeUndefined();
    expect(await env.store.list("out/wait/")).toEqual([]);
  });

  it("a transient failure is retried under a new attempt prefix", async () => {
    const job = await runLocalJob({
      jobId: "retry-1",
      composition: ladder("store://media/out/retry/", "wait", { packaging: { mp4: {} }, audio: undefined }),
      resolveStore: env.resolveStore,
      ...env.bins,
      faults: { "encode:180p": 1 },
    });
    expect(job.state).toBe("succeeded");
    expect(job.tasks["encode:180p"]!.attempts).toBe(2);
    expect((job.tasks["encode:180p"]!.result as Doc).key).toBe(".framefleet-staging/retry-1/encode:180p/2/video.mp4");
    expect((job.tasks["encode:144p"]!.result as Doc).key).toBe(".framefleet-staging/retry-1/encode:144p/1/video.mp4");
    expect(job.commit!.committed.sort()).toEqual(["180p", "144p", "108p"].map((n) => `store://media/out/retry/mp4/${n}.mp4`).sort());
  });
});

describe("verification gates the commit", () => {
  it("a package altered after staging fails verify, and nothing is committed", async () => {
    // a store that silently corrupts one staged segment (same size, different bytes)
    const rotten: Store = Object.assign(Object.create(env.store), {
      write: async (key: string, body: Doc) => {
        if (!/\/package\/\d+\/hls\/180p\/seg_00001\.m4s$/.test(key)) return env.store.write(key, body);
        const parts: Buffer[] = [];
        for await (const c of body) parts.push(c as Buffer);
        const buf = Buffer.concat(parts);
        buf.fill(0, 64);
        return env.store.write(key, buf);
      },
    });
    const job = await runLocalJob({
      jobId: "rotten-1",
      composition: ladder("store://media/out/rotten/", "emit"),
      resolveStore: () => rotten,
      ...env.bins,
    });
    expect(job.state).toBe("failed");
    expect(job.tasks["verify"]).toMatchObject({ state: "failed", permanent: true });
    expect(job.error).toMatch(
      /^verify: verification failed: package: files match their staged SHA-256 \(changed or missing: hls\/180p\/seg_00001\.m4s\)/,
    );
    // the HLS demuxer stops quietly at the broken segment: the duration check is what notices
    expect(job.error).toMatch(/hls\/180p\/index\.m3u8: duration \(1\.000s vs source 3\.000s\)/);
    expect(await env.store.list("out/rotten/")).toEqual([]);
  });
});

describe("chunked encoding and trim", () => {
  it("chunked: GOP-aligned chunks joined without re-encoding match an unchunked encode", async () => {
    const base = {
      video: {
        gopSeconds: 1,
        preset: "fastest",
        renditions: [{ name: "180p", height: 180, rateControl: { mode: "vbr", bitrateKbps: 300 } }],
      },
      audio: undefined,
      packaging: { segmentSeconds: 1, hls: { segmentType: "ts" } },
    };
    const chunked = await runLocalJob({
      jobId: "chunk-1",
      composition: ladder("store://media/out/chunked/", "wait", { ...base, chunking: { chunks: 2 } }),
      resolveStore: env.resolveStore,
      ...env.bins,
    });
    const whole = await runLocalJob({
      jobId: "whole-1",
      composition: ladder("store://media/out/whole/", "wait", base),
      resolveStore: env.resolveStore,
      ...env.bins,
    });
    expect(chunked.error).toBeUndefined();
    expect(whole.error).toBeUndefined();
    expect(chunked.plan.map((t) => t.key)).toEqual([
      "probe",
      "split",
      "encode:180p:0",
      "encode:180p:1",
      "stitch:180p",
      "package",
      "verify",
    ]);
    // 3 s at 25 fps = 75 frames; GOP 25; 2 chunks of 2 GOPs and 1 GOP
    expect((chunked.tasks["split"]!.result as Doc).chunks.map((c: Doc) => c.frames)).toEqual([50, 25]);
    const frames = async (dir: string) => {
      const r = await ffprobeJson(path.join(env.store.root, dir, "hls/180p/index.m3u8"), ["-count_packets", "-select_streams", "v:0"]);
      return Number(r.streams[0].nb_read_packets);
    };
    expect(await frames("out/chunked")).toBe(75);
    expect(await frames("out/whole")).toBe(75);
    const checks = (chunked.tasks["verify"]!.result as Doc).checks as { check: string; ok: boolean }[];
    expect(checks.find((c) => c.check === "keyframe at every segment start")!.ok).toBe(true);
    const seg = await readFile(path.join(env.store.root, "out/chunked/hls/180p/index.m3u8"), "utf8");
    expect(seg.match(/#EXTINF:1\.0+,/g)).toHaveLength(3);
  });

  it("trim: outputs last as long as the trimmed window", async () => {
    const c = ladder("store://media/out/trim/", "wait", {
      input: { uri: input, trim: { startSeconds: 1, durationSeconds: 1.5 } },
      packaging: { mp4: {} },
    });
    const job = await runLocalJob({ jobId: "trim-1", composition: c, resolveStore: env.resolveStore, ...env.bins });
    expect(job.error).toBeUndefined();
    const info = await ffprobeJson(path.join(env.store.root, "out/trim/mp4/108p.mp4"));
    expect(Math.abs(Number(info.format.duration) - 1.5)).toBeLessThanOrEqual(0.1);
  });
});

describe("commit", () => {
  function stagedResults(jobId: string, files: Record<string, string>) {
    const prefix = `.framefleet-staging/${jobId}/package/1/`;
    return {
      prefix,
      results: {
        package: {
          state: "succeeded",
          result: {
            prefix,
            files: Object.entries(files).map(([p, body]) => ({ path: p, key: prefix + p, size: Buffer.byteLength(body), sha256: "" })),
            missing: [{ rendition: "720p", reason: "failed: boom" }],
          } as unknown as Json,
        },
        verify: { state: "succeeded", result: {} as Json },
      },
    };
  }
  const files = { "hls/a/index.m3u8": "A", "hls/a/seg_00000.m4s": "SEG", "mp4/a.mp4": "MP4", "master.m3u8": "MASTER" };
  const comp = (prefix: string) => ladder(`store://media/${prefix}`, "emit");

  it("copies content before manifests, survives a crash midway, and is idempotent", async () => {
    const { prefix, results } = stagedResults("c-1", files);
    for (const [p, body] of Object.entries(files)) await env.store.write(prefix + p, body);
    // a store that dies after its first copy: the manager crashed midway
    let copies = 0;
    const crashing: Store = Object.assign(Object.create(env.store), {
      copyPrefix: async (a: string, b: string) => {
        if (++copies > 1) throw new Error("manager crashed");
        return env.store.copyPrefix(a, b);
      },
    });
    await expect(commitOutputs({ jobId: "c-1", composition: comp("out/c1/"), results, resolveStore: () => crashing })).rejects.toThrow(
      /crashed/,
    );
    expect(await env.store.stat("out/c1/hls/a/index.m3u8")).toBeDefined();
    expect(await env.store.stat("out/c1/master.m3u8")).toBeUndefined(); // no manifest before its renditions
    const first = await commitOutputs({ jobId: "c-1", composition: comp("out/c1/"), results, resolveStore: env.resolveStore });
    expect(first.committed.sort()).toEqual(
      Object.keys(files)
        .map((p) => `store://media/out/c1/${p}`)
        .sort(),
    );
    expect(first.missing).toEqual([{ rendition: "720p", reason: "failed: boom" }]);
    expect(await env.store.list(".framefleet-staging/c-1/")).toEqual([]);
    // called again after the staging area is gone: checks the outputs, same answer
    const again = await commitOutputs({ jobId: "c-1", composition: comp("out/c1/"), results, resolveStore: env.resolveStore });
    expect({ ...again, committed: [...again.committed].sort() }).toEqual({ ...first, committed: [...first.committed].sort() });
    await env.store.deletePrefix("out/c1/mp4/");
    await expect(commitOutputs({ jobId: "c-1", composition: comp("out/c1/"), results, resolveStore: env.resolveStore })).rejects.toThrow(
      /incomplete: out\/c1\/mp4\/a.mp4 is missing/,
    );
  });

  it("refuses to commit without a verified package or from another job's staging", async () => {
    const { results } = stagedResults("c-2", files);
    await expect(
      commitOutputs({
        jobId: "c-2",
        composition: comp("out/c2/"),
        results: { ...results, verify: { state: "failed", result: null } },
        resolveStore: env.resolveStore,
      }),
    ).rejects.toThrow(/verify is failed/);
    await expect(
      commitOutputs({ jobId: "c-2", composition: comp("out/c2/"), results: { verify: results.verify }, resolveStore: env.resolveStore }),
    ).rejects.toThrow(/no succeeded package/);
    await expect(commitOutputs({ jobId: "other", composition: comp("out/c2/"), results, resolveStore: env.resolveStore })).rejects.toThrow(
      /not this job's staging/,
    );
  });
});
