// Real encodes through the argv builders: every CPU codec x rate-control mode runs in
// the installed ffmpeg, keeps the fixed GOP, and yields the codec string we derive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { av1CodecString, avcCodecString, codecsOfFile, hevcCodecString, mp4aCodecString } from "./codecs.js";
import { buildAudioEncodeArgs, buildVideoEncodeArgs } from "./argv.js";
import type { RateControl, VideoCodec } from "./composition.js";
import { makeTestSource } from "./testsrc.js";
import { runChecked } from "./proc.js";

let dir: string;
let src: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ff-codecs-"));
  src = await makeTestSource(path.join(dir, "src.mp4"), { seconds: 1, width: 256, height: 144, fps: 30, audio: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("codec strings from decoder configuration records", () => {
  it("avc1 from avcC bytes", () => {
    expect(avcCodecString("avc1", Buffer.from([1, 0x64, 0x00, 0x28]))).toBe("avc1.640028");
    expect(avcCodecString("avc1", Buffer.from([1, 0x42, 0xc0, 0x1e]))).toBe("avc1.42c01e");
  });
  it("hvc1 from hvcC bytes (reversed compatibility flags, trailing zero constraints dropped)", () => {
    const h = Buffer.alloc(23);
    h[1] = 0x01; // space 0, tier main, profile 1
    h.writeUInt32BE(0x60000000, 2);
    h[6] = 0x90;
    h[12] = 93; // level 3.1
    expect(hevcCodecString("hvc1", h)).toBe("hvc1.1.6.L93.90");
    h[1] = 0x22; // tier high, profile 2
    h.writeUInt32BE(0x20000000, 2);
    h[6] = 0xb0;
    h[12] = 120;
    expect(hevcCodecString("hvc1", h)).toBe("hvc1.2.4.H120.B0");
  });
  it("av01 from av1C bytes", () => {
    expect(av1CodecString(Buffer.from([0x81, 0x08, 0x0c, 0x00]))).toBe("av01.0.08M.08");
    expect(av1CodecString(Buffer.from([0x81, 0x2d, 0xc0, 0x00]))).toBe("av01.1.13H.10");
  });
  it("mp4a from esds", () => {
    // esds: version/flags, ES_Descriptor(3) > DecoderConfig(4, oti 0x40) > DecSpecificInfo(5, AAC-LC)
    const esds = Buffer.from([0, 0, 0, 0, 0x03, 25, 0, 1, 0, 0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 2, 0x11, 0x90]);
    expect(mp4aCodecString(esds)).toBe("mp4a.40.2");
  });
});

const cases: { codec: VideoCodec; rc: RateControl; expect: RegExp }[] = [
  { codec: "h264", rc: { mode: "vbr", bitrateKbps: 300, maxrateKbps: 400 }, expect: /^avc1\.64[0-9a-f]{4}$/ },
  { codec: "h264", rc: { mode: "cbr", bitrateKbps: 300 }, expect: /^avc1\.64[0-9a-f]{4}$/ },
  { codec: "h264", rc: { mode: "crf", crf: 28, maxrateKbps: 400 }, expect: /^avc1\.64[0-9a-f]{4}$/ },
  { codec: "hevc", rc: { mode: "vbr", bitrateKbps: 300, maxrateKbps: 400 }, expect: /^hvc1\.1\.6\.L\d+\.[0-9A-F]+/ },
  { codec: "hevc", rc: { mode: "cbr", bitrateKbps: 300 }, expect: /^hvc1\.1\.6\.L\d+/ },
  { codec: "hevc", rc: { mode: "crf", crf: 30, maxrateKbps: 400 }, expect: /^hvc1\.1\.6\.L\d+/ },
  { codec: "av1", rc: { mode: "vbr", bitrateKbps: 300, maxrateKbps: 400 }, expect: /^av01\.0\.\d\dM\.08$/ },
  { codec: "av1", rc: { mode: "crf", crf: 40, maxrateKbps: 400 }, expect: /^av01\.0\.\d\dM\.08$/ },
];

describe("every CPU codec and rate-control mode runs in the installed ffmpeg", () => {
  for (const c of cases) {
    it(`${c.codec} ${c.rc.mode}`, async () => {
      const out = path.join(dir, `${c.codec}-${c.rc.mode}.mp4`);
      const args = buildVideoEncodeArgs({
        input: src,
        output: out,
        codec: c.codec,
        hardware: "cpu",
        width: 128,
        height: 72,
        fps: { num: 30, den: 1 },
        gopFrames: 10,
        rateControl: c.rc,
        // x264's ultrafast drops CABAC and 8x8 transforms, so it could only signal baseline
        preset: c.codec === "h264" ? "fast" : "fastest",
        ...(c.codec === "h264" ? { profile: "high" } : {}),
      });
      await runChecked("ffmpeg", args);
      const [track] = await codecsOfFile(out);
      expect(track!.codecs).toMatch(c.expect);
      const kf = await runChecked("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        out,
      ]);
      const keys = kf.stdout
        .trim()
        .split("\n")
        .filter((l) => l.includes("K"))
        .map((l) => Number(l.split(",")[0]));
      // 30 frames, GOP of 10: keyframes at 0, 1/3 and 2/3 s, and nowhere else
      expect(keys.map((k) => Math.round(k * 30))).toEqual([0, 10, 20]);
    });
  }

  it("signals what the encoder produced, not what was asked: ultrafast 'high' is constrained baseline", async () => {
    const out = path.join(dir, "ultrafast.mp4");
    const args = buildVideoEncodeArgs({
      input: src,
      output: out,
      codec: "h264",
      hardware: "cpu",
      width: 128,
      height: 72,
      fps: { num: 30, den: 1 },
      gopFrames: 10,
      rateControl: { mode: "vbr", bitrateKbps: 300 },
      preset: "fastest",
      profile: "high",
    });
    await runChecked("ffmpeg", args);
    const [track] = await codecsOfFile(out);
    expect(track!.codecs).toMatch(/^avc1\.42c0[0-9a-f]{2}$/);
  });

  it("aac", async () => {
    const out = path.join(dir, "a.m4a");
    await runChecked(
      "ffmpeg",
      buildAudioEncodeArgs({ input: src, output: out, audioIndex: 0, bitrateKbps: 64, channels: 2, sampleRate: 48000, language: "en" }),
    );
    const [track] = await codecsOfFile(out);
    expect(track).toMatchObject({ handler: "soun", codecs: "mp4a.40.2" });
  });
});
