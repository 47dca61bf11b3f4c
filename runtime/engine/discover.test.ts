import { describe, expect, it } from "vitest";
import type { Doc } from "./e2e-helpers.js";
import { copyFile, mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { existsSync } from "node:fs";
import {
  adoptDiscoveredEngine,
  discoverEngines,
  gpuEncoderWorks,
  engineMatches,
  EngineNotFoundError,
  parseEncoders,
  parseVersionBanner,
  resolveBinaries,
} from "./discover.js";
import { makeTestSource } from "./testsrc.js";
import { runChecked } from "./proc.js";

describe("engine discovery", () => {
  it("parses version banners", () => {
    expect(parseVersionBanner("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026")).toEqual({
      fullVersion: "5.1.9-0+deb12u1",
      version: "5.1.9",
    });
    expect(parseVersionBanner("ffmpeg version n6.1.2 Copyright")).toEqual({ fullVersion: "n6.1.2", version: "6.1.2" });
    expect(parseVersionBanner("ffmpeg version 7.0 Copyright").version).toBe("7.0");
    expect(() => parseVersionBanner("gst-launch 1.0")).toThrow(/unrecognised/);
  });

  it("parses encoder lists", () => {
    const text = "Encoders:\n V..... = Video\n ------\n V....D libx264              libx264 H.264\n A..... aac                  AAC\n";
    expect(parseEncoders(text)).toEqual(["libx264", "aac"]);
  });

  it("matches pins at dot boundaries only", () => {
    const f = (pin: string, v: string) => engineMatches({ name: "ffmpeg", version: pin }, { name: "ffmpeg", version: v });
    expect(f("5.1", "5.1.9")).toBe(true);
    expect(f("5", "5.1.9")).toBe(true);
    expect(f("5.1.9", "5.1.9")).toBe(true);
    expect(f("5.1.9", "5.1.10")).toBe(false);
    expect(f("5.1", "5.10.1")).toBe(false);
    expect(f("5.1.1", "5.1.19")).toBe(false);
    expect(engineMatches({ name: "ffmpeg", version: "5.1" }, { name: "gstreamer", version: "5.1" })).toBe(false);
  });

  it("finds the installed ffmpeg with its encoders and digest", async () => {
    const [e] = await discoverEngines();
    expect(e!.name).toBe("ffmpeg");
    expect(e!.version).toMatch(/^\d+\.\d+/);
    expect(e!.fullVersion.startsWith(e!.version)).toBe(true);
    expect(e!.encoders).toEqual(expect.arrayContaining(["libx264", "libx265", "aac"]));
    expect(e!.binarySha256).toMatch(/^[0-9a-f]{64}$/);
    // NVENC is listed by Debian's build, but only a trial encode says whether it works here
    expect(e!.encoders).toContain("h264_nvenc");
    const hasNvidia = existsSync("/dev/nvidia0");
    if (!hasNvidia) expect(e!.gpuEncoders).toEqual([]);
    expect(await gpuEncoderWorks(e!.ffmpegPath, "no_such_encoder")).toBe(false);
  });

  it("a worker adopts its coordinator's discovery while the binary is the file that was hashed, and discovers again once it is not", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ff-adopt-"));
    try {
      // a private copy of the host's ffmpeg, so the test can change it
      const [host] = await discoverEngines();
      const ffmpegPath = path.join(dir, "ffmpeg");
      await copyFile(host!.ffmpegPath, ffmpegPath);
      const [real] = await discoverEngines({ ffmpegPath, ffprobePath: host!.ffprobePath });
      expect(real!.binarySha256).toBe(host!.binarySha256);
      expect(real!.binaryFingerprint).not.toBe(host!.binaryFingerprint); // another inode

      // what a coordinator hands over (under a cache key of its own: another ffprobe path),
      // told apart from a real probe by its version
      const otherProbe = path.join(dir, "ffprobe");
      await copyFile(host!.ffprobePath, otherProbe);
      const handed = { ...real!, ffprobePath: otherProbe, version: "0.0.1-handed" };
      expect(await adoptDiscoveredEngine(handed)).toBe(true);
      expect((await discoverEngines({ ffmpegPath, ffprobePath: otherProbe }))[0]!.version).toBe("0.0.1-handed");

      // the binary changes (an upgrade in place): the fingerprint no longer matches
      const third = path.join(dir, "ffprobe3");
      await copyFile(host!.ffprobePath, third);
      await utimes(ffmpegPath, new Date(), new Date(Date.now() - 86_400_000));
      expect(await adoptDiscoveredEngine({ ...handed, ffprobePath: third })).toBe(false);
      const rediscovered = (await discoverEngines({ ffmpegPath, ffprobePath: third }))[0]!;
      expect(rediscovered.version).toBe(host!.version);
      expect(rediscovered.binarySha256).toBe(host!.binarySha256);
      expect(await adoptDiscoveredEngine({ ...handed, binaryFingerprint: "" })).toBe(false);
      expect(await adoptDiscoveredEngine({ ...handed, ffmpegPath: path.join(dir, "gone") })).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names what is missing", async () => {
    await expect(resolveBinaries({ PATH: "/nonexistent" })).rejects.toThrow(EngineNotFoundError);
    await expect(resolveBinaries({ PATH: "/nonexistent" })).rejects.toThrow(/ffmpeg: not found on PATH.*FRAMEFLEET_FFMPEG/);
    await expect(resolveBinaries({ PATH: process.env.PATH, FRAMEFLEET_FFPROBE: "/no/ffprobe" })).rejects.toThrow(
      /FRAMEFLEET_FFPROBE=\/no\/ffprobe/,
    );
    const ok = await resolveBinaries({ PATH: process.env.PATH });
    expect(path.basename(ok.ffmpegPath)).toBe("ffmpeg");
  });

  it("makes a test source with the requested shape", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ff-src-"));
    try {
      const file = await makeTestSource(path.join(dir, "s.mp4"), { seconds: 2, width: 320, height: 180, fps: 25, audio: true });
      const r = await runChecked("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", file]);
      const j = JSON.parse(r.stdout);
      const v = j.streams.find((s: Doc) => s.codec_type === "video");
      const a = j.streams.find((s: Doc) => s.codec_type === "audio");
      expect([v.width, v.height, v.r_frame_rate]).toEqual([320, 180, "25/1"]);
      expect(a.codec_name).toBe("aac");
      expect(Math.abs(Number(j.format.duration) - 2)).toBeLessThan(0.1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
