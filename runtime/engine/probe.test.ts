import { describe, expect, it } from "vitest";
import { analyzeProbe, gopFromKeyframes, selectAudio, type FfprobeJson } from "./probe.js";
import { PermanentTaskError } from "./types.js";
import { judgeDecode } from "./tasks.js";

const ok: FfprobeJson = {
  format: { format_name: "mov,mp4", duration: "10.000", size: "123" },
  streams: [
    {
      index: 0,
      codec_type: "video",
      codec_name: "h264",
      width: 1920,
      height: 1080,
      avg_frame_rate: "30000/1001",
      r_frame_rate: "30000/1001",
      sample_aspect_ratio: "1:1",
      pix_fmt: "yuv420p",
      color_space: "bt709",
    },
    { index: 1, codec_type: "audio", codec_name: "aac", channels: 2, sample_rate: "48000", tags: { language: "eng" } },
    { index: 2, codec_type: "audio", codec_name: "ac3", channels: 6, sample_rate: "48000", tags: { language: "fra" } },
  ],
};

function permanent(fn: () => unknown): PermanentTaskError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PermanentTaskError);
    return e as PermanentTaskError;
  }
  throw new Error("expected a PermanentTaskError");
}

describe("analyzeProbe", () => {
  it("extracts video, audio tracks, colour and duration", () => {
    const r = analyzeProbe(ok);
    expect(r.video).toMatchObject({ width: 1920, height: 1080, fps: { num: 30000, den: 1001 }, colorSpace: "bt709", codec: "h264" });
    expect(r.audio.map((a) => [a.audioIndex, a.language, a.channels])).toEqual([
      [0, "eng", 2],
      [1, "fra", 6],
    ]);
    expect([r.duration, r.start, r.sourceDuration]).toEqual([10, 0, 10]);
  });
  it("targets the video stream's duration when the audio runs longer", () => {
    const longAudio = structuredClone(ok);
    longAudio.streams![0]!.duration = "9.500000";
    expect(analyzeProbe(longAudio).duration).toBe(9.5);
  });
  it("applies trim", () => {
    expect(analyzeProbe(ok, { startSeconds: 2, durationSeconds: 3 })).toMatchObject({ start: 2, duration: 3 });
    expect(analyzeProbe(ok, { startSeconds: 8 }).duration).toBe(2);
    expect(permanent(() => analyzeProbe(ok, { startSeconds: 12 })).message).toMatch(/trim starts at 12s but the input is only 10/);
  });
  it("applies sample aspect ratio and rotation to the display size", () => {
    const anamorphic = structuredClone(ok);
    Object.assign(anamorphic.streams![0]!, { width: 1440, sample_aspect_ratio: "4:3" });
    expect(analyzeProbe(anamorphic).video).toMatchObject({ width: 1920, height: 1080, codedWidth: 1440 });
    const rotated = structuredClone(ok);
    rotated.streams![0]!.side_data_list = [{ side_data_type: "Display Matrix", rotation: -90 }];
    expect(analyzeProbe(rotated).video).toMatchObject({ width: 1080, height: 1920, rotation: -90 });
  });
  it("refuses inputs with no video, a cover image only, no duration or no format", () => {
    const noVideo = { ...ok, streams: ok.streams!.slice(1) };
    expect(permanent(() => analyzeProbe(noVideo)).message).toMatch(/no video stream \(found: audio\)/);
    const coverOnly = structuredClone(ok);
    coverOnly.streams![0]!.disposition = { attached_pic: 1 };
    expect(permanent(() => analyzeProbe(coverOnly)).message).toMatch(/no video stream/);
    expect(permanent(() => analyzeProbe({ ...ok, format: { format_name: "mov,mp4", duration: "N/A" } })).message).toMatch(/no duration/);
    expect(permanent(() => analyzeProbe({ streams: [] })).message).toMatch(/not a readable media file/);
    expect(permanent(() => analyzeProbe({ ...ok, format: { format_name: "hls", duration: "4" } })).message).toMatch(
      /input format 'hls' is not accepted/,
    );
    expect(permanent(() => analyzeProbe({ ...ok, format: { format_name: "concat", duration: "4" } })).message).toMatch(
      /'concat' is not accepted/,
    );
    expect(analyzeProbe({ ...ok, format: { format_name: "matroska,webm", duration: "4" } }).formatName).toBe("matroska,webm");
    const noSize = structuredClone(ok);
    noSize.streams![0]!.width = 0;
    expect(permanent(() => analyzeProbe(noSize)).message).toMatch(/no dimensions/);
  });
});

describe("decode sample judgement", () => {
  it("tolerates a few errors at the start of a mid-GOP capture, not a corrupt stream", () => {
    expect(judgeDecode(0, 25, "[h264 @ 0x1] non-existing PPS 0 referenced\n[h264 @ 0x1] decode_slice_header error\n")).toEqual({
      ok: true,
      frames: 25,
    });
    const many = Array.from({ length: 30 }, () => "[h264 @ 0x55] error while decoding MB 3 2, bytestream -7").join("\n");
    expect(judgeDecode(0, 25, many)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^30 decode errors in 25 frames: error while decoding MB/),
    });
    expect(judgeDecode(0, 0, "")).toMatchObject({ ok: false, reason: "no video frame decodes in the first second" });
    expect(judgeDecode(1, 3, "/tmp/x/in.mp4: Invalid data found when processing input", "/tmp/x/in.mp4")).toEqual({
      ok: false,
      reason: "<input>: Invalid data found when processing input",
    });
  });
});

describe("audio track selection and GOP", () => {
  const audio = analyzeProbe(ok).audio;
  it("selects by index, by language, or the first", () => {
    expect(selectAudio(audio, undefined)).toMatchObject({ ok: true, stream: { audioIndex: 0 } });
    expect(selectAudio(audio, { index: 1 })).toMatchObject({ ok: true, stream: { language: "fra" } });
    expect(selectAudio(audio, { language: "fra" })).toMatchObject({ ok: true, stream: { audioIndex: 1 } });
    expect(selectAudio(audio, { language: "deu" })).toMatchObject({
      ok: false,
      explicit: true,
      reason: expect.stringMatching(/no audio track in language 'deu' \(tracks: eng, fra\)/),
    });
    expect(selectAudio(audio, { index: 5 })).toMatchObject({ ok: false, explicit: true });
    expect(selectAudio([], undefined)).toMatchObject({ ok: false, explicit: false });
  });
  it("measures the source GOP from keyframe times", () => {
    expect(gopFromKeyframes("0.000000\n2.000000\n4.000000\n6.000000\n")).toBe(2);
    expect(gopFromKeyframes("0.0\n")).toBeUndefined();
  });
});
