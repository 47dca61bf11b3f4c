import { describe, expect, it } from "vitest";
import type { Doc } from "./e2e-helpers.js";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CompositionSchema, effective, maxVideoKbps, validateComposition, type Composition } from "./composition.js";

const examplesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/compositions");

function base(): Composition {
  return {
    apiVersion: "framefleet/v1",
    engine: { name: "ffmpeg", version: "5.1" },
    input: { uri: "store://media/in/src.mp4" },
    output: { uri: "store://media/out/job/" },
    video: {
      renditions: [
        { name: "720p", height: 720, rateControl: { mode: "vbr", bitrateKbps: 2800, maxrateKbps: 3000, bufsizeKbits: 4200 } },
        { name: "360p", height: 360, rateControl: { mode: "vbr", bitrateKbps: 800, maxrateKbps: 900 } },
      ],
    },
    audio: { renditions: [{ name: "aac", bitrateKbps: 128 }] },
    packaging: { segmentSeconds: 4, hls: { segmentType: "fmp4" }, dash: {} },
  };
}

function errorsOf(mut: (c: Doc) => void): { field: string; reason: string }[] {
  const c = structuredClone(base()) as Doc;
  mut(c);
  const r = validateComposition(c);
  if (r.ok) throw new Error("expected the composition to be refused");
  return r.errors;
}

function expectRefused(mut: (c: Doc) => void, field: string, reason: RegExp) {
  const errs = errorsOf(mut);
  const hit = errs.find((e) => e.field === field);
  expect(hit, `errors: ${JSON.stringify(errs)}`).toBeDefined();
  expect(hit!.reason).toMatch(reason);
}

describe("validateComposition", () => {
  it("accepts a valid composition and fills the output prefix slash", () => {
    const c = base();
    c.output.uri = "store://media/out/job";
    const r = validateComposition(c);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.output.uri).toBe("store://media/out/job/");
    expect(c.output.uri).toBe("store://media/out/job"); // input not mutated
  });

  it("accepts every example in examples/compositions", () => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith(".json"));
    expect(files).toEqual(expect.arrayContaining(["hls-dash-ladder.json", "minimal-mp4.json"]));
    for (const f of files) {
      const r = validateComposition(JSON.parse(readFileSync(path.join(examplesDir, f), "utf8")));
      expect(r.ok ? [] : r.errors, f).toEqual([]);
    }
    const ladder = JSON.parse(readFileSync(path.join(examplesDir, "hls-dash-ladder.json"), "utf8")) as Composition;
    const heights = ladder.video.renditions.map((r) => r.height);
    expect(heights.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...heights)).toBe(1080);
    expect(Math.min(...heights)).toBe(240);
  });

  it("is a JSON Schema with additionalProperties false", () => {
    expect(CompositionSchema.additionalProperties).toBe(false);
    expect((CompositionSchema.properties.video as Doc).additionalProperties).toBe(false);
  });

  it("refuses non-objects", () => {
    for (const v of [null, 3, "x", [], true]) {
      const r = validateComposition(v);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]!.field).toBe("/");
    }
  });

  // ---- shape ----
  it("refuses unknown fields at every level", () => {
    expectRefused((c) => (c.extra = 1), "/extra", /unknown field/);
    expectRefused((c) => (c.video.renditions[0].x264opts = "bframes=0"), "/video/renditions/0/x264opts", /unknown field/);
    expectRefused((c) => (c.packaging.hls.flags = "-i"), "/packaging/hls/flags", /unknown field/);
    expectRefused((c) => (c.priority = 5), "/priority", /unknown field/);
  });
  it("refuses wrong api versions, engines and types", () => {
    expectRefused((c) => (c.apiVersion = "framefleet/v2"), "/apiVersion", /framefleet\/v1/);
    expectRefused((c) => (c.engine.name = "gstreamer"), "/engine/name", /ffmpeg/);
    expectRefused((c) => (c.engine.version = "5.1; rm -rf /"), "/engine/version", /match/);
    expectRefused((c) => (c.video.renditions[0].height = "720"), "/video/renditions/0/height", /Integer|number/i);
    expectRefused((c) => delete c.video, "/video", /Required/i);
  });

  // ---- names ----
  it("refuses names that could smuggle options or paths, and duplicates", () => {
    for (const bad of ["-i", "-filter_complex", "_x", "x;rm", "a b", "../x", "a/b", "", "x".repeat(33), "$(id)", "é"]) {
      expectRefused((c) => (c.video.renditions[0].name = bad), "/video/renditions/0/name", /letters, digits/);
    }
    expectRefused((c) => (c.video.renditions[1].name = "720p"), "/video/renditions/1/name", /already used/);
    expectRefused((c) => (c.audio.renditions[0].name = "720P"), "/audio/renditions/0/name", /already used/);
  });

  // ---- store references ----
  it("refuses hostile input and output references", () => {
    expectRefused((c) => (c.input.uri = "http://169.254.169.254/"), "/input/uri", /scheme 'http:'/);
    expectRefused((c) => (c.input.uri = "file:///etc/passwd"), "/input/uri", /scheme 'file:'/);
    expectRefused((c) => (c.input.uri = "store://media/../../etc/passwd"), "/input/uri", /'\.\.'/);
    expectRefused((c) => (c.input.uri = "store://media//etc/passwd"), "/input/uri", /absolute/);
    expectRefused((c) => (c.input.uri = "store://media/a\u0007b"), "/input/uri", /control/);
    expectRefused((c) => (c.input.uri = "store://media/a\\b"), "/input/uri", /backslash/);
    expectRefused((c) => (c.input.uri = `store://media/${"k".repeat(1030)}`), "/input/uri", /1024|maxLength|length/i);
    expectRefused((c) => (c.input.uri = "store://media/in/"), "/input/uri", /prefix/);
    expectRefused((c) => (c.output.uri = "store://media/.framefleet-staging/x/"), "/output/uri", /reserved/);
    expectRefused((c) => (c.output.uri = "https://example.com/out/"), "/output/uri", /scheme/);
    expectRefused((c) => (c.output.uri = `store://media/${"o".repeat(1000)}/`), "/output/uri", /longer than 960 bytes/);
  });

  // ---- codecs and containers ----
  it("refuses unsupported codec/container combinations", () => {
    expectRefused(
      (c) => {
        c.packaging.hls.segmentType = "ts";
        c.video.renditions[0].codec = "hevc";
      },
      "/video/renditions/0/codec",
      /MPEG-TS/,
    );
    expectRefused(
      (c) => {
        c.packaging.hls.segmentType = "ts";
        c.video.codec = "av1";
      },
      "/video/renditions/1/codec",
      /MPEG-TS/,
    );
    expectRefused((c) => (c.video.renditions[0].codec = "vp9"), "/video/renditions/0/codec", /./);
    expectRefused((c) => (c.audio.renditions[0].codec = "opus"), "/audio/renditions/0/codec", /aac/);
    expectRefused(
      (c) => {
        c.hardware = "gpu";
        c.video.codec = "av1";
      },
      "/video/renditions/0/codec",
      /NVENC/,
    );
    expectRefused((c) => (c.video.renditions[0].profile = "high10"), "/video/renditions/0/profile", /not valid for h264/);
    expectRefused(
      (c) => {
        c.video.renditions[0].codec = "hevc";
        c.video.renditions[0].profile = "high";
      },
      "/video/renditions/0/profile",
      /not valid for hevc/,
    );
    expectRefused((c) => (c.video.renditions[0].level = "9.9"), "/video/renditions/0/level", /not valid/);
    expectRefused(
      (c) => {
        c.video.renditions[0].codec = "av1";
        c.video.renditions[0].level = "4.0";
      },
      "/video/renditions/0/level",
      /cannot be set for av1/,
    );
    expectRefused((c) => (c.packaging = {}), "/packaging", /at least one/);
  });

  // ---- dimensions ----
  it("refuses odd and absurd dimensions", () => {
    expectRefused((c) => (c.video.renditions[1].height = 361), "/video/renditions/1/height", /odd.*4:2:0/);
    expectRefused((c) => (c.video.renditions[1].width = 641), "/video/renditions/1/width", /odd.*4:2:0/);
    expectRefused((c) => (c.video.renditions[0].height = 8640), "/video/renditions/0/height", /8K/);
    expectRefused((c) => (c.video.renditions[0].width = 15360), "/video/renditions/0/width", /8K/);
    expectRefused((c) => (c.video.renditions[0].height = 16), "/video/renditions/0/height", /minimum/);
    expectRefused((c) => (c.thumbnails = { intervalSeconds: 5, width: 161 }), "/thumbnails/width", /odd/);
  });
  it("refuses too many renditions before walking them", () => {
    const r = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `r${i}`, height: 240, rateControl: { mode: "vbr", bitrateKbps: 300 } }));
    expectRefused((c) => (c.video.renditions = r(65)), "/video/renditions", /at most 64/);
    expectRefused((c) => (c.video.renditions = []), "/video/renditions", /./);
    expectRefused(
      (c) => (c.audio.renditions = Array.from({ length: 17 }, (_, i) => ({ name: `a${i}`, bitrateKbps: 64 }))),
      "/audio/renditions",
      /at most 16/,
    );
    expect(validateComposition({ ...base(), video: { renditions: r(64) } }).ok).toBe(true);
  });

  // ---- rate control ----
  it("refuses bitrates out of range and inconsistent rate control", () => {
    expectRefused((c) => (c.video.renditions[1].rateControl.bitrateKbps = 10), "/video/renditions/1/rateControl/bitrateKbps", /below/);
    expectRefused(
      (c) => (c.video.renditions[1].rateControl = { mode: "vbr", bitrateKbps: 90_000 }),
      "/video/renditions/1/rateControl/bitrateKbps",
      /above/,
    );
    expectRefused(
      (c) => (c.video.renditions[0].rateControl.maxrateKbps = 2000),
      "/video/renditions/0/rateControl/maxrateKbps",
      /below bitrate/,
    );
    expectRefused((c) => (c.video.renditions[0].rateControl = { mode: "vbr" }), "/video/renditions/0/rateControl/bitrateKbps", /required/);
    expectRefused(
      (c) => (c.video.renditions[0].rateControl = { mode: "cbr", bitrateKbps: 2000, maxrateKbps: 3000 }),
      "/video/renditions/0/rateControl/maxrateKbps",
      /equal/,
    );
    expectRefused(
      (c) => (c.video.renditions[0].rateControl = { mode: "crf", crf: 23 }),
      "/video/renditions/0/rateControl/maxrateKbps",
      /capped/,
    );
    expectRefused(
      (c) => (c.video.renditions[0].rateControl = { mode: "crf", crf: 60, maxrateKbps: 3000 }),
      "/video/renditions/0/rateControl/crf",
      /above 51/,
    );
    expectRefused(
      (c) => (c.video.renditions[0].rateControl = { mode: "vbr", bitrateKbps: 2000, crf: 20 }),
      "/video/renditions/0/rateControl/crf",
      /only for mode 'crf'/,
    );
    expectRefused(
      (c) => (c.video.renditions[0].rateControl.bufsizeKbits = 100_000),
      "/video/renditions/0/rateControl/bufsizeKbits",
      /outside/,
    );
    expectRefused(
      (c) => {
        c.hardware = "gpu";
        c.video.renditions[0].rateControl = { mode: "crf", crf: 23, maxrateKbps: 3000 };
      },
      "/video/renditions/0/rateControl/mode",
      /CPU-only/,
    );
    expectRefused(
      (c) => {
        c.video.codec = "av1";
        c.video.renditions[0].rateControl = { mode: "cbr", bitrateKbps: 2000 };
      },
      "/video/renditions/0/rateControl/mode",
      /not available for av1/,
    );
    expectRefused((c) => (c.audio.renditions[0].bitrateKbps = 8), "/audio/renditions/0/bitrateKbps", /outside/);
    expectRefused(
      (c) => (c.audio.renditions[0] = { name: "mono", channels: 1, bitrateKbps: 400 }),
      "/audio/renditions/0/bitrateKbps",
      /above 320 kbps per channel/,
    );
    expect(maxVideoKbps(1080)).toBeGreaterThan(30_000);
    expect(maxVideoKbps(240)).toBeLessThan(5000);
  });

  // ---- GOP and segments ----
  it("refuses segments that are not a multiple of the GOP", () => {
    expectRefused((c) => (c.packaging.segmentSeconds = 5), "/packaging/segmentSeconds", /multiple of the 2s GOP/);
    expectRefused(
      (c) => {
        c.video.gopSeconds = 4;
        c.packaging.segmentSeconds = 2;
      },
      "/packaging/segmentSeconds",
      /multiple/,
    );
    const ok = structuredClone(base()) as Doc;
    ok.video.gopSeconds = 1.5;
    ok.packaging.segmentSeconds = 6;
    expect(validateComposition(ok).ok).toBe(true);
    expectRefused(
      (c) => {
        c.chunking = { chunks: 4 };
        c.video.frameRate = 29.97;
      },
      "/video/gopSeconds",
      /whole number of frames/,
    );
  });

  // ---- audio tracks, trim, policy ----
  it("refuses ambiguous audio track selection, empty trims, bad policies", () => {
    expectRefused((c) => (c.audio.renditions[0].track = { index: 0, language: "eng" }), "/audio/renditions/0/track", /not both/);
    expectRefused((c) => (c.audio.renditions[0].track = {}), "/audio/renditions/0/track", /index or language/);
    expectRefused((c) => (c.audio.renditions[0].track = { language: "english" }), "/audio/renditions/0/track/language", /pattern|ISO/);
    expectRefused(
      (c) =>
        (c.audio.renditions = [
          { name: "a", bitrateKbps: 96, default: true },
          { name: "b", bitrateKbps: 64, default: true },
        ]),
      "/audio/renditions",
      /at most one/,
    );
    expectRefused((c) => (c.input.trim = {}), "/input/trim", /startSeconds/);
    expectRefused((c) => (c.input.trim = { durationSeconds: 0 }), "/input/trim/durationSeconds", /./);
    expectRefused((c) => (c.policy = { onRenditionFailure: "ignore" }), "/policy/onRenditionFailure", /./);
    expectRefused((c) => (c.policy = { maxAttempts: 100 }), "/policy/maxAttempts", /10/);
    expectRefused((c) => (c.chunking = { chunks: 1000 }), "/chunking/chunks", /64/);
  });

  it("resolves defaults", () => {
    const e = effective(base());
    expect(e).toMatchObject({ hardware: "cpu", gopSeconds: 2, segmentSeconds: 4, onRenditionFailure: "wait", maxAttempts: 3 });
    expect(e.hls).toEqual({ segmentType: "fmp4" });
    const m = effective({ ...base(), packaging: undefined });
    expect(m.mp4).toEqual({});
    expect(m.hls).toBeUndefined();
  });
});
