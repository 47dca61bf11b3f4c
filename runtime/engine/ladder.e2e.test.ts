// End to end through the local driver: a 4 s source through an HLS (fMP4) + DASH
// ladder, checked from the outside (ffprobe, fast-xml-parser), not through the
// engine's own verify.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { composition, decodes, ffprobeJson, makeEnv, type Env, type Doc } from "./e2e-helpers.js";
import { runLocalJob, type LocalJobResult } from "./local-driver.js";
import { parseMasterPlaylist, parseMediaPlaylist } from "./hls.js";
import { codecsOfFile } from "./codecs.js";
import { discoverEngines } from "./discover.js";

const SECONDS = 4;
let env: Env;
let out: string;
let job: LocalJobResult;
const progress = new Map<string, number[]>();

const sha256 = async (f: string) =>
  createHash("sha256")
    .update(await readFile(f))
    .digest("hex");

beforeAll(async () => {
  env = await makeEnv();
  const input = await env.source("in/src.mp4", { seconds: SECONDS });
  const c = composition({
    apiVersion: "framefleet/v1",
    engine: { name: "ffmpeg", version: "5" },
    input: { uri: input },
    output: { uri: "store://media/out/ladder/" },
    video: {
      codec: "h264",
      gopSeconds: 1,
      preset: "fast",
      renditions: [
        { name: "720p", height: 720, rateControl: { mode: "vbr", bitrateKbps: 2800, maxrateKbps: 3000 } },
        {
          name: "360p",
          height: 360,
          profile: "high",
          rateControl: { mode: "vbr", bitrateKbps: 800, maxrateKbps: 900, bufsizeKbits: 1200 },
        },
        { name: "288p", height: 288, profile: "main", rateControl: { mode: "vbr", bitrateKbps: 600, maxrateKbps: 700 } },
        { name: "240p", height: 240, rateControl: { mode: "cbr", bitrateKbps: 400 } },
        { name: "180p", height: 180, rateControl: { mode: "crf", crf: 28, maxrateKbps: 300 } },
      ],
    },
    audio: { renditions: [{ name: "aac", bitrateKbps: 96, language: "en", default: true }] },
    packaging: { segmentSeconds: 2, hls: { segmentType: "fmp4" }, dash: {} },
    thumbnails: { intervalSeconds: 2, width: 160 },
    policy: { onRenditionFailure: "emit" },
  });
  job = await runLocalJob({
    jobId: "ladder-1",
    composition: c,
    resolveStore: env.resolveStore,
    ...env.bins,
    onProgress: (k, f) => progress.set(k, [...(progress.get(k) ?? []), f]),
  });
  out = path.join(env.store.root, "out/ladder");
}, 120_000);

afterAll(async () => {
  await env?.cleanup();
});

const LADDER = ["360p", "288p", "240p", "180p"];

describe("HLS + DASH ladder end to end", () => {
  it("succeeds, skipping only the rendition above the source", () => {
    expect(job.error).toBeUndefined();
    expect(job.state).toBe("succeeded");
    expect(job.tasks["encode:720p"]!.state).toBe("skipped");
    expect(job.commit!.missing).toEqual([
      { rendition: "720p", reason: expect.stringMatching(/^skipped: rendition height 720 is above the source height 360/) },
    ]);
    for (const r of LADDER) expect(job.tasks[`encode:${r}`]!.state).toBe("succeeded");
    const policy = job.audit.filter((a) => a.entry.kind === "policy").map((a) => [a.taskKey, (a.entry.data as Doc).decision]);
    expect(policy).toEqual([["encode:720p", "skipped"]]);
  });

  it("the master lists every rendition with RESOLUTION, BANDWIDTH and CODECS of the actual streams", async () => {
    const master = parseMasterPlaylist(await readFile(path.join(out, "master.m3u8"), "utf8"));
    expect(master.variants.map((v) => v.uri)).toEqual(LADDER.map((r) => `hls/${r}/index.m3u8`));
    const audioGroup = master.media.find((m) => m.TYPE === "AUDIO")!;
    expect(audioGroup).toMatchObject({
      "GROUP-ID": "audio",
      NAME: "aac",
      LANGUAGE: "en",
      DEFAULT: "YES",
      URI: "hls/aac/index.m3u8",
      CHANNELS: "2",
    });
    const audioDir = path.join(out, "hls/aac");
    const audioBytes = (
      await Promise.all(
        (await readdir(audioDir)).filter((f) => f !== "index.m3u8").map(async (f) => (await stat(path.join(audioDir, f))).size),
      )
    ).reduce((a, b) => a + b, 0);
    let prevBandwidth = Infinity;
    for (const v of master.variants) {
      const dir = path.join(out, path.dirname(v.uri));
      const info = await ffprobeJson(path.join(out, v.uri));
      const vs = info.streams.find((s: Doc) => s.codec_type === "video");
      expect(v.RESOLUTION).toBe(`${vs.width}x${vs.height}`);
      expect(vs.height).toBe(Number(path.basename(dir).replace("p", "")));
      expect(vs.width % 2).toBe(0);
      // CODECS: the video part read independently from the init segment, plus AAC-LC
      const [track] = await codecsOfFile(path.join(dir, "init.mp4"));
      expect(v.CODECS).toBe(`${track!.codecs},mp4a.40.2`);
      expect(v.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v["FRAME-RATE"]).toBe("30.000");
      expect(v.AUDIO).toBe("audio");
      // BANDWIDTH: peak >= average; average = everything a player downloads over the duration
      const bw = Number(v.BANDWIDTH);
      const avg = Number(v["AVERAGE-BANDWIDTH"]);
      expect(bw).toBeGreaterThanOrEqual(avg);
      const bytes = (
        await Promise.all((await readdir(dir)).filter((f) => f !== "index.m3u8").map(async (f) => (await stat(path.join(dir, f))).size))
      ).reduce((a, b) => a + b, 0);
      const expectedAvg = ((bytes + audioBytes) * 8) / SECONDS;
      expect(Math.abs(avg - expectedAvg) / expectedAvg).toBeLessThan(0.03);
      expect(bw).toBeLessThan(prevBandwidth); // the ladder descends
      prevBandwidth = bw;
    }
  });

  it("the 180p capped-CRF and 240p CBR variants stay near their caps", async () => {
    const master = parseMasterPlaylist(await readFile(path.join(out, "master.m3u8"), "utf8"));
    const avg = (r: string) => Number(master.variants.find((v) => v.uri.includes(`/${r}/`))!["AVERAGE-BANDWIDTH"]);
    expect(avg("240p")).toBeLessThan((400 + 96) * 1000 * 1.5);
    expect(avg("180p")).toBeLessThan((300 + 96) * 1000 * 1.5);
  });

  it("every rendition decodes end to end and lasts as long as the source (±0.1 s), with aligned segments", async () => {
    const segs: number[][] = [];
    for (const r of [...LADDER, "aac"]) {
      const pl = path.join(out, `hls/${r}/index.m3u8`);
      expect(await decodes(pl), `${r} decodes`).toBe(true);
      const info = await ffprobeJson(pl);
      expect(Math.abs(Number(info.format.duration) - SECONDS), `${r} duration`).toBeLessThanOrEqual(0.1);
      const media = parseMediaPlaylist(await readFile(pl, "utf8"));
      if (r !== "aac") segs.push(media.segments.map((s) => s.duration));
    }
    expect(segs[0]).toEqual([2, 2]);
    for (const s of segs) expect(s).toEqual(segs[0]);
  });

  it("the DASH MPD is XML listing the same renditions with the same codecs", async () => {
    const xml = await readFile(path.join(out, "manifest.mpd"), "utf8");
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    const sets = [doc.MPD.Period.AdaptationSet].flat();
    const reps = sets.flatMap((s: Doc) => [s.Representation].flat().map((r: Doc) => ({ ...r, contentType: s.contentType })));
    const video = reps.filter((r: Doc) => r.contentType === "video");
    const audio = reps.filter((r: Doc) => r.contentType === "audio");
    const master = parseMasterPlaylist(await readFile(path.join(out, "master.m3u8"), "utf8"));
    expect(video.map((r: Doc) => `${r.width}x${r.height}`)).toEqual(master.variants.map((v) => v.RESOLUTION));
    expect(video.map((r: Doc) => r.codecs)).toEqual(master.variants.map((v) => v.CODECS!.split(",")[0]));
    expect(audio.map((r: Doc) => r.codecs)).toEqual(["mp4a.40.2"]);
    expect(doc.MPD.type).toBe("static");
    const info = await ffprobeJson(path.join(out, "manifest.mpd"));
    expect(Math.abs(Number(info.format.duration) - SECONDS)).toBeLessThanOrEqual(0.1);
  });

  it("writes thumbnails and removes the staging area", async () => {
    expect((await readdir(path.join(out, "thumbnails"))).length).toBeGreaterThanOrEqual(2);
    expect(await env.store.list(".framefleet-staging/")).toEqual([]);
    expect(job.commit!.committed).toContain("store://media/out/ladder/master.m3u8");
    expect(job.commit!.committed).toContain("store://media/out/ladder/manifest.mpd");
  });

  it("records audit evidence: input hash, ffprobe, engine, exact argv, output hashes", async () => {
    const kinds = (k: string) => job.audit.filter((a) => a.entry.kind === k);
    const input = kinds("input.sha256")[0]!.entry.data as Doc;
    expect(input.sha256).toBe(await sha256(path.join(env.store.root, "in/src.mp4")));
    expect((kinds("ffprobe")[0]!.entry.data as Doc).output.streams.length).toBe(2);
    const [engine] = await discoverEngines(env.bins);
    const eng = kinds("engine").map((a) => a.entry.data as Doc);
    expect(eng.length).toBeGreaterThanOrEqual(job.plan.length - 2);
    expect(eng[0]).toMatchObject({ name: "ffmpeg", version: engine!.version, binarySha256: engine!.binarySha256 });
    const argv = kinds("ffmpeg.argv")
      .filter((a) => a.taskKey === "encode:360p")
      .map((a) => (a.entry.data as Doc).argv as string[]);
    expect(argv).toHaveLength(1);
    expect(argv[0]![0]).toBe(env.bins.ffmpegPath);
    expect(argv[0]).toEqual(expect.arrayContaining(["-c:v", "libx264", "-b:v", "800k", "-maxrate", "900k", "-bufsize", "1200k"]));
    // every committed file's hash was audited when staged, and matches what was committed
    const staged = kinds("output.sha256")
      .filter((a) => a.taskKey === "package")
      .map((a) => a.entry.data as Doc);
    const masterEntry = staged.find((s) => s.path === "master.m3u8");
    expect(masterEntry.sha256).toBe(await sha256(path.join(out, "master.m3u8")));
    expect(staged.length).toBe(job.commit!.committed.length);
  });

  it("reports progress up to 1 for each encode", () => {
    for (const r of LADDER) {
      const p = progress.get(`encode:${r}`)!;
      expect(p.length).toBeGreaterThan(0);
      expect(Math.max(...p)).toBe(1);
      expect(p.every((f) => f >= 0 && f <= 1)).toBe(true);
    }
  });
});
