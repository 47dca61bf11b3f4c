// Bad inputs, cancellation, non-filesystem stores and engine pins, through runTask.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import http from "node:http";
import { composition, ctxFor, ffprobeJson, makeEnv, type Env, type Doc } from "./e2e-helpers.js";
import { runTask } from "./run.js";
import { runLocalJob } from "./local-driver.js";
import { PermanentTaskError, type Json } from "./types.js";
import { makeTestSource } from "./testsrc.js";
import type { Store } from "../storage/store.js";

let env: Env;
beforeAll(async () => {
  env = await makeEnv();
}, 60_000);
afterAll(async () => {
  await env?.cleanup();
});

async function probe(uri: string, engineVersion?: string) {
  const { ctx, audit } = ctxFor(env, { taskKey: "probe", engineVersion });
  const spec = { input: uri } as unknown as Json;
  return { run: () => runTask("probe", spec, ctx), audit };
}

/** deterministic pseudo-random bytes (a failing run must be reproducible) */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

async function permanentReason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PermanentTaskError);
  return (e as PermanentTaskError).message;
}

describe("bad inputs are permanent errors with a clear reason", () => {
  it("an input with no video stream", async () => {
    const uri = await env.source("bad/audio-only.m4a", { video: false, audio: true, seconds: 1 });
    const { run, audit } = await probe(uri);
    expect(await permanentReason(run())).toMatch(/^input has no video stream \(found: audio\)/);
    expect(audit.some((a) => a.kind === "input.sha256")).toBe(true); // evidence even for refused inputs
  });

  it("a corrupt file (random bytes)", async () => {
    await env.store.write("bad/random.mp4", noise(64 * 1024, 7));
    const { run } = await probe("store://media/bad/random.mp4");
    expect(await permanentReason(run())).toMatch(/^input is not a readable media file \(corrupt or unsupported\): .*Invalid data/);
  });

  it("a truncated MP4 whose index never arrived", async () => {
    const full = path.join(env.dir, "full.mp4");
    await makeTestSource(full, { seconds: 2, width: 160, height: 90, fps: 25, audio: false, ffmpegPath: env.bins.ffmpegPath });
    // rewrite with the moov box at the end, then cut the end off
    const { runChecked } = await import("./proc.js");
    const tail = path.join(env.dir, "tail.mp4");
    await runChecked(env.bins.ffmpegPath, ["-v", "error", "-y", "-i", full, "-c", "copy", tail]);
    const bytes = await readFile(tail);
    await env.store.write("bad/truncated.mp4", bytes.subarray(0, Math.floor(bytes.length / 2)));
    const { run } = await probe("store://media/bad/truncated.mp4");
    expect(await permanentReason(run())).toMatch(/not a readable media file.*moov atom not found/);
  });

  it("a garbled video stream whose header still parses", async () => {
    const file = path.join(env.dir, "clean.ts");
    const { runChecked } = await import("./proc.js");
    await runChecked(env.bins.ffmpegPath, [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=160x90:rate=25:duration=2",
      "-c:v",
      "libx264",
      "-f",
      "mpegts",
      file,
    ]);
    const bytes = Buffer.from(await readFile(file));
    // corrupt the slice data but keep every packet that starts a PES (headers, timestamps):
    // the file parses, frames come out, and the decoder reports errors on most of them
    for (let i = 188 * 8; i + 188 <= bytes.length; i += 188) {
      if (bytes[i + 1]! & 0x40) continue;
      const start = bytes[i + 3]! & 0x20 ? 5 + bytes[i + 4]! : 4;
      noise(188 - start, i).copy(bytes, i + start);
    }
    await env.store.write("bad/garbled.ts", bytes);
    const { run } = await probe("store://media/bad/garbled.ts");
    const reason = await permanentReason(run());
    expect(reason).toMatch(/^input video does not decode \(corrupt file\): \d+ decode errors in \d+ frames: /);
    expect(reason).not.toContain(env.dir); // no host paths leak into customer-facing reasons
  });

  it("playlists and concat scripts that would open other files are refused", async () => {
    const victim = await env.source("tenant-b/secret.mp4", { seconds: 1, width: 160, height: 90 });
    void victim;
    await env.store.write("bad/list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n../tenant-b/secret.mp4\n#EXT-X-ENDLIST\n");
    expect(await permanentReason((await probe("store://media/bad/list.m3u8")).run())).toMatch(/input format 'hls' is not accepted/);
    await env.store.write("bad/list.ffconcat", "ffconcat version 1.0\nfile ../tenant-b/secret.mp4\n");
    expect(await permanentReason((await probe("store://media/bad/list.ffconcat")).run())).toMatch(
      /input format 'concat' is not accepted|not a readable media file/,
    );
    // a playlist pointing at the network cannot even be opened: file protocol only
    await env.store.write(
      "bad/net.m3u8",
      "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://169.254.169.254/latest/meta-data\n#EXT-X-ENDLIST\n",
    );
    expect(await permanentReason((await probe("store://media/bad/net.m3u8")).run())).toMatch(/not accepted|not a readable media file/);
  });

  it("empty and missing inputs", async () => {
    await env.store.write("bad/empty.mp4", "");
    expect(await permanentReason((await probe("store://media/bad/empty.mp4")).run())).toMatch(/is empty/);
    expect(await permanentReason((await probe("store://media/bad/nope.mp4")).run())).toMatch(/does not exist/);
  });

  it("an explicitly selected audio track that is not there; a default one is skipped instead", async () => {
    const uri = await env.source("ok/silent.mp4", { audio: false, seconds: 1, width: 160, height: 90 });
    const p = await probe(uri);
    const probed = await p.run();
    const deps = { probe: { state: "succeeded" as const, result: probed.result } };
    const spec = (track?: object) =>
      ({
        input: uri,
        output: "store://media/out/a/",
        rendition: { name: "fr", bitrateKbps: 64, channels: 2, sampleRate: 48000, ...(track ? { track } : {}) },
      }) as unknown as Json;
    const a = ctxFor(env, { taskKey: "encode:fr", deps });
    expect(await permanentReason(runTask("encode-audio", spec({ language: "fra" }), a.ctx))).toMatch(
      /no audio track in language 'fra' \(tracks: none\)/,
    );
    const b = ctxFor(env, { taskKey: "encode:any", deps });
    const skipped = await runTask("encode-audio", spec(), b.ctx);
    expect(skipped.state).toBe("skipped");
    expect((skipped.result as Doc).reason).toMatch(/input has no audio stream/);
  });
});

describe("mismatched track lengths", () => {
  it("audio that runs on past the picture is cut to the video's length (and short audio padded)", async () => {
    const { runChecked } = await import("./proc.js");
    const file = path.join(env.store.root, "ok/long-audio.mp4");
    await mkdir(path.dirname(file), { recursive: true });
    await runChecked(env.bins.ffmpegPath, [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x180:rate=25:duration=2",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000:duration=3",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-c:a",
      "aac",
      file,
    ]);
    const c = composition({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri: "store://media/ok/long-audio.mp4" },
      output: { uri: "store://media/out/long-audio/" },
      video: { preset: "fastest", gopSeconds: 1, renditions: [{ name: "v", height: 180, rateControl: { mode: "vbr", bitrateKbps: 300 } }] },
      audio: { renditions: [{ name: "a", bitrateKbps: 64 }] },
      packaging: { segmentSeconds: 1, hls: { segmentType: "fmp4" }, mp4: {} },
    });
    const job = await runLocalJob({ jobId: "long-audio-1", composition: c, resolveStore: env.resolveStore, ...env.bins });
    expect(job.error).toBeUndefined();
    expect((job.tasks["probe"]!.result as Doc).duration).toBeCloseTo(2, 1);
    const a = await ffprobeJson(path.join(env.store.root, "out/long-audio/hls/a/index.m3u8"));
    expect(Math.abs(Number(a.format.duration) - 2)).toBeLessThanOrEqual(0.1);
  });
});

describe("engine pin", () => {
  it("a host whose ffmpeg does not match the pin refuses the task as retryable (another host may match)", async () => {
    const uri = await env.source("ok/pin.mp4", { seconds: 1, width: 160, height: 90 });
    const { run } = await probe(uri, "4.4");
    const e = await run().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(PermanentTaskError);
    expect((e as Error).message).toMatch(/engine pin ffmpeg 4\.4 does not match ffmpeg 5/);
  });
});

describe("cancellation", () => {
  it("aborting the signal kills ffmpeg promptly", async () => {
    const uri = await env.source("ok/long.mp4", { seconds: 20, width: 640, height: 360, fps: 30, audio: false });
    const p = await (await probe(uri)).run();
    const ac = new AbortController();
    const { ctx, progress } = ctxFor(env, {
      taskKey: "encode:slow",
      deps: { probe: { state: "succeeded", result: p.result } },
      signal: ac.signal,
    });
    const spec = {
      input: uri,
      output: "store://media/out/cancel/",
      rendition: { name: "slow", height: 360, codec: "hevc", rateControl: { mode: "vbr", bitrateKbps: 1000 }, preset: "slow" },
      hardware: "cpu",
      gopSeconds: 2,
    } as unknown as Json;
    const started = Date.now();
    const running = runTask("encode", spec, ctx);
    setTimeout(() => ac.abort(), 1500);
    const e = await running.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(6000);
    expect(progress.every((f) => f < 1)).toBe(true);
    expect(await env.store.list(".framefleet-staging/job-direct/encode:slow/")).toEqual([]); // nothing staged
  });
});

describe("stores without a local path", () => {
  it("a store's signed read URL is streamed by ffmpeg with ranged requests, and never audited with its query", async () => {
    const uri = await env.source("ok/signed.mp4", { seconds: 2, width: 320, height: 180, fps: 25 });
    const ranges: string[] = [];
    const server = http.createServer(async (req, res) => {
      const key = decodeURIComponent(new URL(req.url!, "http://x").pathname.slice(1));
      const info = await env.store.stat(key);
      if (!info || !req.url!.includes("sig=SECRET")) return void res.writeHead(403).end();
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      if (m) ranges.push(req.headers.range!);
      const start = m ? Number(m[1]) : 0;
      const end = m && m[2] ? Number(m[2]) : info.size - 1;
      res.writeHead(m ? 206 : 200, {
        "content-length": String(end - start + 1),
        "accept-ranges": "bytes",
        ...(m ? { "content-range": `bytes ${start}-${end}/${info.size}` } : {}),
      });
      (await env.store.read(key, { start, end })).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const signed: Store = Object.assign(Object.create(env.store), {
        localPath: () => undefined,
        readUrl: (key: string) => `http://127.0.0.1:${port}/${encodeURIComponent(key)}?sig=SECRET&exp=1`,
      });
      const c = composition({
        apiVersion: "framefleet/v1",
        engine: { name: "ffmpeg", version: "5.1" },
        input: { uri, trim: { startSeconds: 0.5 } },
        output: { uri: "store://media/out/signed/" },
        video: { preset: "fastest", renditions: [{ name: "v", height: 180, rateControl: { mode: "vbr", bitrateKbps: 300 } }] },
        packaging: { mp4: {} },
      });
      const job = await runLocalJob({ jobId: "signed-1", composition: c, resolveStore: () => signed, ...env.bins });
      expect(job.error).toBeUndefined();
      expect(ranges.length).toBeGreaterThan(0);
      const audit = JSON.stringify(job.audit);
      expect(audit).not.toContain("SECRET");
      expect(audit).toContain(`http://127.0.0.1:${port}/ok%2Fsigned.mp4?<redacted>`);
      const ffprobe = job.audit.find((a) => a.entry.kind === "ffprobe")!.entry.data as Doc;
      expect(ffprobe.output.format.filename).toBe(uri);
      const info = await ffprobeJson(path.join(env.store.root, "out/signed/mp4/v.mp4"));
      expect(Math.abs(Number(info.format.duration) - 1.5)).toBeLessThanOrEqual(0.1);
    } finally {
      server.close();
    }
  });

  it("inputs and staged files are streamed through scratch", async () => {
    const uri = await env.source("ok/remote.mp4", { seconds: 2, width: 320, height: 180, fps: 25 });
    let reads = 0;
    const remote: Store = Object.assign(Object.create(env.store), {
      localPath: () => undefined,
      read: (key: string, range?: { start: number; end?: number }) => {
        reads++;
        return env.store.read(key, range);
      },
    });
    const c = composition({
      apiVersion: "framefleet/v1",
      engine: { name: "ffmpeg", version: "5.1" },
      input: { uri },
      output: { uri: "store://media/out/remote/" },
      video: { preset: "fastest", renditions: [{ name: "v", height: 180, rateControl: { mode: "vbr", bitrateKbps: 300 } }] },
      audio: { renditions: [{ name: "a", bitrateKbps: 64 }] },
      packaging: { segmentSeconds: 2, hls: { segmentType: "ts" }, mp4: {} },
    });
    const job = await runLocalJob({ jobId: "remote-1", composition: c, resolveStore: () => remote, ...env.bins });
    expect(job.error).toBeUndefined();
    expect(job.state).toBe("succeeded");
    expect(reads).toBeGreaterThanOrEqual(5); // probe + 2 encodes read the input; package and verify read staged files
    const info = await ffprobeJson(path.join(env.store.root, "out/remote/mp4/v.mp4"));
    expect(Math.abs(Number(info.format.duration) - 2)).toBeLessThanOrEqual(0.1);
  });
});
