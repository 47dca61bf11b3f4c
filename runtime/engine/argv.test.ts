import { describe, expect, it } from "vitest";
import {
  aspectOf,
  buildAudioEncodeArgs,
  buildConcatArgs,
  buildDashArgs,
  buildHlsArgs,
  buildMp4MuxArgs,
  buildThumbnailArgs,
  buildVideoEncodeArgs,
  concatList,
  dashAdaptationSets,
  encoderFor,
  fmtTime,
  gopFrames,
  inputArgs,
  iso639_2,
  parseRational,
  redactText,
  redactUrl,
  scaledSize,
  videoCodecArgs,
  videoFilter,
  vbv,
  type VideoEncodeSettings,
} from "./argv.js";

/** the value following `flag` in argv */
function after(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

const base: VideoEncodeSettings = {
  codec: "h264",
  hardware: "cpu",
  width: 1280,
  height: 720,
  fps: { num: 30, den: 1 },
  gopFrames: 60,
  rateControl: { mode: "vbr", bitrateKbps: 2800, maxrateKbps: 3000, bufsizeKbits: 4200 },
  preset: "medium",
};

describe("video codec argv", () => {
  it("libx264 vbr: bitrate, maxrate, bufsize, profile, level, fixed closed GOP without scene cuts", () => {
    const a = videoCodecArgs({ ...base, profile: "high", level: "4.0" });
    expect(after(a, "-c:v")).toBe("libx264");
    expect(after(a, "-preset")).toBe("medium");
    expect(after(a, "-profile:v")).toBe("high");
    expect(after(a, "-level:v")).toBe("4.0");
    expect(after(a, "-b:v")).toBe("2800k");
    expect(after(a, "-maxrate")).toBe("3000k");
    expect(after(a, "-bufsize")).toBe("4200k");
    expect(after(a, "-g")).toBe("60");
    expect(after(a, "-keyint_min")).toBe("60");
    expect(after(a, "-sc_threshold")).toBe("0");
    expect(after(a, "-pix_fmt")).toBe("yuv420p");
    expect(a).not.toContain("-crf");
  });
  it("libx264 cbr pins minrate = maxrate = bitrate with HRD signalling", () => {
    const a = videoCodecArgs({ ...base, rateControl: { mode: "cbr", bitrateKbps: 2000 } });
    expect([after(a, "-b:v"), after(a, "-minrate"), after(a, "-maxrate")]).toEqual(["2000k", "2000k", "2000k"]);
    expect(after(a, "-bufsize")).toBe("3000k");
    expect(after(a, "-x264-params")).toBe("nal-hrd=cbr");
  });
  it("libx264 capped crf", () => {
    const a = videoCodecArgs({ ...base, rateControl: { mode: "crf", crf: 23, maxrateKbps: 3000 } });
    expect(after(a, "-crf")).toBe("23");
    expect(after(a, "-maxrate")).toBe("3000k");
    expect(after(a, "-bufsize")).toBe("6000k"); // default 2x maxrate
    expect(a).not.toContain("-b:v");
  });
  it("libx265: hvc1 tag and GOP/VBV through x265-params", () => {
    const a = videoCodecArgs({ ...base, codec: "hevc", profile: "main", level: "4.1", preset: "fast" });
    expect(after(a, "-c:v")).toBe("libx265");
    expect(after(a, "-preset")).toBe("veryfast");
    expect(after(a, "-tag:v")).toBe("hvc1");
    expect(after(a, "-profile:v")).toBe("main");
    expect(after(a, "-b:v")).toBe("2800k");
    const p = after(a, "-x265-params")!.split(":");
    expect(p).toEqual(
      expect.arrayContaining([
        "keyint=60",
        "min-keyint=60",
        "scenecut=0",
        "open-gop=0",
        "level-idc=4.1",
        "vbv-maxrate=3000",
        "vbv-bufsize=4200",
      ]),
    );
  });
  it("libx265 cbr and crf", () => {
    const cbr = videoCodecArgs({ ...base, codec: "hevc", rateControl: { mode: "cbr", bitrateKbps: 1000 } });
    expect(after(cbr, "-x265-params")).toContain("strict-cbr=1");
    expect(after(cbr, "-x265-params")).toContain("vbv-maxrate=1000");
    const crf = videoCodecArgs({ ...base, codec: "hevc", rateControl: { mode: "crf", crf: 28, maxrateKbps: 2000 } });
    expect(after(crf, "-crf")).toBe("28");
    expect(crf).not.toContain("-b:v");
    expect(after(crf, "-x265-params")).toContain("vbv-maxrate=2000");
  });
  it("libsvtav1: numeric presets, fixed GOP, vbr and capped crf", () => {
    const a = videoCodecArgs({ ...base, codec: "av1", preset: "fastest" });
    expect(after(a, "-c:v")).toBe("libsvtav1");
    expect(after(a, "-preset")).toBe("12");
    expect(after(a, "-g")).toBe("60");
    expect(after(a, "-b:v")).toBe("2800k");
    expect(after(a, "-svtav1-params")).toBe("scd=0:irefresh-type=2");
    const c = videoCodecArgs({ ...base, codec: "av1", rateControl: { mode: "crf", crf: 35, maxrateKbps: 2000, bufsizeKbits: 4000 } });
    expect(after(c, "-crf")).toBe("35");
    expect(after(c, "-maxrate")).toBe("2000k");
  });
  it("NVENC for hardware gpu: h264_nvenc / hevc_nvenc with forced IDR and no scene cut", () => {
    const h = videoCodecArgs({ ...base, hardware: "gpu", preset: "slow" });
    expect(after(h, "-c:v")).toBe("h264_nvenc");
    expect(after(h, "-preset")).toBe("p7");
    expect(after(h, "-rc")).toBe("vbr");
    expect(after(h, "-forced-idr")).toBe("1");
    expect(after(h, "-no-scenecut")).toBe("1");
    const e = videoCodecArgs({ ...base, codec: "hevc", hardware: "gpu", rateControl: { mode: "cbr", bitrateKbps: 1500 } });
    expect(after(e, "-c:v")).toBe("hevc_nvenc");
    expect(after(e, "-rc")).toBe("cbr");
    expect(after(e, "-tag:v")).toBe("hvc1");
    expect(() => encoderFor("av1", "gpu")).toThrow(/no GPU encoder/);
    expect(encoderFor("h264", "any")).toBe("libx264");
  });
  it("vbv defaults", () => {
    expect(vbv({ mode: "vbr", bitrateKbps: 1000 })).toEqual({});
    expect(vbv({ mode: "vbr", bitrateKbps: 1000, maxrateKbps: 1200 })).toEqual({ maxrate: 1200, bufsize: 2400 });
    expect(vbv({ mode: "cbr", bitrateKbps: 1000 })).toEqual({ maxrate: 1000, bufsize: 1500 });
  });
});

describe("whole-encode argv", () => {
  it("video encode: input window, map, filter chain, codec, mp4 out", () => {
    const a = buildVideoEncodeArgs({
      ...base,
      input: "/in/src.mov",
      output: "/w/out.mp4",
      window: { start: 1.5, duration: 10, format: "mov" },
      dar: { num: 16, den: 9 },
    });
    // customer media: file protocol only, and the demuxer the probe accepted
    expect(after(a, "-protocol_whitelist")).toBe("file");
    expect(a.indexOf("-protocol_whitelist")).toBeLessThan(a.indexOf("-i"));
    expect(a.slice(a.indexOf("-f"), a.indexOf("-f") + 2)).toEqual(["-f", "mov"]);
    expect(a.slice(0, 5)).toEqual(["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]);
    expect(after(a, "-progress")).toBe("pipe:1");
    expect(a.indexOf("-ss")).toBeLessThan(a.indexOf("-i")); // input-side seek
    expect(after(a, "-ss")).toBe("1.5");
    expect(after(a, "-t")).toBe("10");
    expect(after(a, "-i")).toBe("/in/src.mov");
    expect(after(a, "-map")).toBe("0:v:0");
    expect(a).toEqual(expect.arrayContaining(["-an", "-sn", "-dn"]));
    expect(after(a, "-vf")).toBe("fps=30,scale=1280:720:flags=bicubic,setdar=16/9,format=yuv420p");
    expect(a.slice(-3)).toEqual(["-f", "mp4", "/w/out.mp4"]);
    expect(a.every((x) => typeof x === "string")).toBe(true);
  });
  it("chunk encode: exact frame count and timestamps reset before fps", () => {
    const a = buildVideoEncodeArgs({ ...base, input: "i", output: "o", window: { start: 3.98 }, frames: 120, resetTimestamps: true });
    expect(after(a, "-frames:v")).toBe("120");
    expect(after(a, "-vf")).toMatch(/^setpts=PTS-STARTPTS,fps=30,scale=1280:720:flags=bicubic,setsar=1,/);
    expect(a).not.toContain("-t");
  });
  it("audio encode: track by index, AAC settings, ISO 639-2 language", () => {
    const a = buildAudioEncodeArgs({
      input: "i",
      output: "o.m4a",
      audioIndex: 2,
      bitrateKbps: 128,
      channels: 2,
      sampleRate: 48000,
      language: "fr",
    });
    expect(after(a, "-map")).toBe("0:a:2");
    expect([after(a, "-c:a"), after(a, "-b:a"), after(a, "-ac"), after(a, "-ar")]).toEqual(["aac", "128k", "2", "48000"]);
    expect(after(a, "-metadata:s:a:0")).toBe("language=fra");
    expect(a).toContain("-vn");
    const padded = buildAudioEncodeArgs({
      input: "i",
      output: "o.m4a",
      audioIndex: 0,
      bitrateKbps: 96,
      channels: 1,
      sampleRate: 44100,
      duration: 12.5,
    });
    expect([after(padded, "-af"), after(padded, "-t")]).toEqual(["apad", "12.5"]);
    expect(padded.indexOf("-t")).toBeGreaterThan(padded.indexOf("-i")); // an output option: pads or cuts to the video's length
  });
  it("input windows and formatting", () => {
    expect(inputArgs("f")).toEqual(["-protocol_whitelist", "file", "-i", "f"]);
    expect(inputArgs("f", { start: 0, duration: 2, format: "mov" })).toEqual([
      "-protocol_whitelist",
      "file",
      "-f",
      "mov",
      "-t",
      "2",
      "-i",
      "f",
    ]);
    expect(fmtTime(1 / 3)).toBe("0.333333");
    expect(fmtTime(2)).toBe("2");
    expect(fmtTime(0)).toBe("0");
    expect(videoFilter({ width: 426, height: 240, fps: { num: 30000, den: 1001 } })).toBe(
      "fps=30000/1001,scale=426:240:flags=bicubic,setsar=1,format=yuv420p",
    );
  });
});

describe("packaging argv", () => {
  it("HLS fMP4: stream copy, VOD, init segment and m4s names", () => {
    const a = buildHlsArgs({ input: "/s/v.mp4", segmentSeconds: 4, segmentType: "fmp4", playlist: "index.m3u8" });
    expect(after(a, "-c")).toBe("copy");
    expect(after(a, "-f")).toBe("hls");
    expect(after(a, "-hls_time")).toBe("4");
    expect(after(a, "-hls_playlist_type")).toBe("vod");
    expect(after(a, "-hls_segment_type")).toBe("fmp4");
    expect(after(a, "-hls_fmp4_init_filename")).toBe("init.mp4");
    expect(after(a, "-hls_segment_filename")).toBe("seg_%05d.m4s");
    expect(after(a, "-hls_flags")).toBe("independent_segments");
    expect(a[a.length - 1]).toBe("index.m3u8");
  });
  it("HLS TS", () => {
    const a = buildHlsArgs({ input: "v.mp4", segmentSeconds: 6, segmentType: "ts", playlist: "index.m3u8" });
    expect(after(a, "-hls_segment_type")).toBe("mpegts");
    expect(after(a, "-hls_segment_filename")).toBe("seg_%05d.ts");
    expect(a).not.toContain("-hls_fmp4_init_filename");
  });
  it("DASH: every rendition mapped, video and audio adaptation sets, templated segments", () => {
    const a = buildDashArgs({
      videos: [
        { file: "v1.mp4", codec: "avc1" },
        { file: "v2.mp4", codec: "avc1" },
      ],
      audios: [{ file: "a.m4a", language: "en" }],
      segmentSeconds: 4,
      manifest: "manifest.mpd",
    });
    expect(a.filter((x) => x === "-i")).toHaveLength(3);
    const maps = a.flatMap((x, i) => (x === "-map" ? [a[i + 1]] : []));
    expect(maps).toEqual(["0:v:0", "1:v:0", "2:a:0"]);
    expect(after(a, "-f")).toBe("dash");
    expect(after(a, "-seg_duration")).toBe("4");
    expect(after(a, "-adaptation_sets")).toBe("id=0,streams=0,1 id=1,streams=2");
    expect(after(a, "-metadata:s:a:0")).toBe("language=eng");
    expect(after(a, "-init_seg_name")).toBe("dash/init-$RepresentationID$.m4s");
    const noAudio = buildDashArgs({ videos: [{ file: "v.mp4" }], audios: [], segmentSeconds: 2, manifest: "m.mpd" });
    expect(after(noAudio, "-adaptation_sets")).toBe("id=0,streams=0");
  });
  it("DASH adaptation sets: one per video codec and one per audio language", () => {
    expect(
      dashAdaptationSets({
        videos: [
          { file: "a", codec: "hvc1" },
          { file: "b", codec: "av01" },
          { file: "c", codec: "hvc1" },
        ],
        audios: [
          { file: "x", language: "en" },
          { file: "y", language: "fr" },
          { file: "z", language: "eng" },
        ],
      }),
    ).toBe("id=0,streams=0,2 id=1,streams=1 id=2,streams=3,5 id=3,streams=4");
  });
  it("progressive MP4 with and without audio", () => {
    const a = buildMp4MuxArgs({ video: "v.mp4", audio: "a.m4a", output: "o.mp4" });
    expect(a.flatMap((x, i) => (x === "-map" ? [a[i + 1]] : []))).toEqual(["0:v:0", "1:a:0"]);
    expect(after(a, "-movflags")).toBe("+faststart");
    const v = buildMp4MuxArgs({ video: "v.mp4", output: "o.mp4" });
    expect(v.filter((x) => x === "-i")).toHaveLength(1);
  });
  it("thumbnails and concat", () => {
    const t = buildThumbnailArgs({ input: "v.mp4", intervalSeconds: 10, width: 320, pattern: "thumb_%05d.jpg" });
    expect(after(t, "-vf")).toBe("fps=1/10,scale=320:-2:flags=bicubic");
    const c = buildConcatArgs({ list: "l.txt", output: "o.mp4" });
    expect([after(c, "-f"), after(c, "-safe"), after(c, "-c")]).toEqual(["concat", "0", "copy"]);
    expect(concatList(["/a/c0.mp4", "/a/it's.mp4"])).toBe("file '/a/c0.mp4'\nfile '/a/it'\\''s.mp4'\n");
  });
});

describe("signed URL inputs", () => {
  it("use an HTTP(S)-only protocol whitelist and are redacted for audit and errors", () => {
    const url = "https://bucket.s3.amazonaws.com/in/master.mov?X-Amz-Signature=abc&X-Amz-Expires=900";
    const a = inputArgs(url, { format: "mov" });
    expect(after(a, "-protocol_whitelist")).toBe("https,http,tls,tcp");
    expect(redactUrl(url)).toBe("https://bucket.s3.amazonaws.com/in/master.mov?<redacted>");
    expect(redactUrl("/local/file.mp4")).toBe("/local/file.mp4");
    expect(redactText(`Error opening input ${url}: Server returned 403`)).toBe(
      "Error opening input https://bucket.s3.amazonaws.com/in/master.mov?<redacted>: Server returned 403",
    );
  });
});

describe("sizes and rates", () => {
  it("scales width from the display aspect, even", () => {
    expect(scaledSize({ width: 1920, height: 1080 }, 240)).toEqual({ width: 426, height: 240 });
    expect(scaledSize({ width: 1920, height: 1080 }, 720)).toEqual({ width: 1280, height: 720 });
    expect(scaledSize({ width: 1440, height: 1080 }, 480)).toEqual({ width: 640, height: 480 });
    expect(scaledSize({ width: 1920, height: 1080 }, 480, 854)).toEqual({ width: 854, height: 480 });
    expect(aspectOf(1920, 1080)).toEqual({ num: 16, den: 9 });
  });
  it("parses rates and sizes GOPs", () => {
    expect(parseRational("30000/1001")).toEqual({ num: 30000, den: 1001 });
    expect(parseRational(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(parseRational(25)).toEqual({ num: 25, den: 1 });
    expect(parseRational("0/0")).toBeUndefined();
    expect(gopFrames(2, { num: 30000, den: 1001 })).toBe(60);
    expect(gopFrames(2, { num: 25, den: 1 })).toBe(50);
    expect(iso639_2("en-US")).toBe("eng");
    expect(iso639_2("xx")).toBe("und");
  });
});
