// probe, encode (video), encode-audio, split, encode-chunk, stitch.

import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { PermanentTaskError, type Json, type TaskContext, type TaskOutcome } from "./types.js";
import {
  aspectOf,
  buildAudioEncodeArgs,
  buildConcatArgs,
  buildKeyframeProbeArgs,
  buildProbeArgs,
  buildVideoEncodeArgs,
  concatList,
  fmtRational,
  gopFrames,
  inputArgs,
  parseRational,
  redactText,
  redactUrl,
  rationalValue,
  scaledSize,
  type Rational,
} from "./argv.js";
import { analyzeProbe, demuxerOf, gopFromKeyframes, selectAudio, type FfprobeJson, type ProbeResult } from "./probe.js";
import { codecsOfFile } from "./codecs.js";
import {
  checkEngine,
  depResult,
  localInput,
  localStaged,
  outputStore,
  runFfmpeg,
  runFfprobe,
  runFfprobeRaw,
  scratch,
  stageFile,
  type LocalInput,
} from "./io.js";
import type { AudioEncodeSpec, EncodedRendition, ProbeSpec, SplitSpec, StitchSpec, VideoEncodeSpec } from "./specs.js";
import { ProcessError, runProcess } from "./proc.js";

const j = (v: unknown) => v as Json;

export interface ProbeTaskResult extends ProbeResult {
  input: { uri: string; sha256: string; size: number; modified: string };
}

// ---------------------------------------------------------------- probe

export async function runProbe(spec: ProbeSpec, ctx: TaskContext): Promise<TaskOutcome> {
  await checkEngine(ctx);
  const input = await localInput(ctx, spec.input);
  ctx.onProgress(0.05, "hashing input");
  const hash = createHash("sha256");
  // stream-hash through the store when ffmpeg reads a URL (one more read, no disk copy)
  for await (const chunk of input.url ? await input.store.read(input.key) : createReadStream(input.file)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  ctx.audit({ kind: "input.sha256", data: { uri: spec.input, sha256, size: input.size, modified: input.modified } });
  ctx.onProgress(0.5, "probing");
  const args = buildProbeArgs(input.file);
  const r = await runFfprobeRaw(ctx, args);
  if (r.code !== 0) {
    const why = errorTail(r.stderr, input.file);
    ctx.audit({
      kind: "ffprobe",
      data: { argv: [ctx.ffprobePath, ...args.map(redactUrl)], exitCode: r.code, stderr: errorTail(r.stderr, input.file, 20) },
    });
    throw new PermanentTaskError(`input is not a readable media file (corrupt or unsupported): ${why}`, "/input/uri");
  }
  let parsed: FfprobeJson;
  try {
    parsed = JSON.parse(r.stdout) as FfprobeJson;
  } catch {
    throw new PermanentTaskError("input could not be probed (ffprobe returned no JSON)", "/input/uri");
  }
  // the audit names the input by its store reference, never by a host path or signed URL
  if (parsed.format) (parsed.format as Record<string, unknown>).filename = spec.input;
  ctx.audit({ kind: "ffprobe", data: { argv: [ctx.ffprobePath, ...args.map(redactUrl)], output: parsed as unknown as Json } });
  const result = analyzeProbe(parsed, spec.trim);
  // the source GOP, from the keyframes of the first 30 s (cheap: no decoding)
  const kf = await runFfprobeRaw(ctx, buildKeyframeProbeArgs(input.file, 30));
  if (kf.code === 0) {
    const g = gopFromKeyframes(kf.stdout);
    if (g !== undefined) result.video.gopSeconds = g;
  }
  // decode the first second: a file whose header parses but whose frames do not is corrupt
  const dec = await decodeSample(ctx, input.file, demuxerOf(result.formatName));
  if (!dec.ok) throw new PermanentTaskError(`input video does not decode (corrupt file): ${dec.reason}`, "/input/uri");
  const out: ProbeTaskResult = { ...result, input: { uri: spec.input, sha256, size: input.size, modified: input.modified } };
  ctx.onProgress(1);
  return { state: "succeeded", result: j(out) };
}

// ---------------------------------------------------------------- shared

/**
 * Decodes the first second of video on one thread (deterministic) and judges it: no frame
 * at all, or more error lines than a stream starting mid-GOP would explain (a few missing
 * references at the start of a broadcast capture are normal), means a corrupt input.
 */
export async function decodeSample(
  ctx: TaskContext,
  file: string,
  format: string,
): Promise<{ ok: true; frames: number } | { ok: false; reason: string }> {
  let frames = 0;
  const r = await runProcess(
    ctx.ffmpegPath,
    [
      "-hide_banner",
      "-nostdin",
      "-v",
      "error",
      "-threads",
      "1",
      ...inputArgs(file, { duration: 1, format }),
      "-map",
      "0:v:0",
      "-progress",
      "pipe:1",
      "-nostats",
      "-f",
      "null",
      "-",
    ],
    {
      signal: ctx.signal,
      exec: ctx.exec,
      onStdoutLine: (l) => {
        const m = /^frame=(\d+)/.exec(l);
        if (m) frames = Number(m[1]);
      },
    },
  );
  return judgeDecode(r.code, frames, r.stderr, file);
}

export function judgeDecode(
  code: number | null,
  frames: number,
  stderr: string,
  file?: string,
): { ok: true; frames: number } | { ok: false; reason: string } {
  const errors = stderr.split("\n").filter((l) => l.trim()).length;
  if (code !== 0) return { ok: false, reason: errorTail(stderr, file) };
  if (frames === 0)
    return { ok: false, reason: `no video frame decodes in the first second${errors ? ` (${errorTail(stderr, file)})` : ""}` };
  if (errors > Math.max(8, frames / 2))
    return { ok: false, reason: `${errors} decode errors in ${frames} frames: ${errorTail(stderr, file)}` };
  return { ok: true, frames };
}

/** The last distinct lines of ffmpeg's stderr, without addresses or our scratch paths. */
export function errorTail(stderr: string, file?: string, lines = 3): string {
  const out: string[] = [];
  for (const raw of stderr.trim().split("\n").reverse()) {
    let l = raw.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, "").trim();
    if (file) l = l.split(file).join("<input>");
    if (l && !out.includes(l)) out.unshift(l);
    if (out.length >= lines) break;
  }
  return redactText(out.join(" | ")) || "unknown error";
}

function probeOf(ctx: TaskContext): ProbeTaskResult {
  return depResult<ProbeTaskResult>(ctx, "probe");
}

/** Refuses to encode an input that changed since it was probed and hashed. */
function checkUnchanged(probe: ProbeTaskResult, input: LocalInput): void {
  if (probe.input.size !== input.size || probe.input.modified !== input.modified) {
    throw new PermanentTaskError(
      `input ${probe.input.uri} changed after it was probed (size ${probe.input.size} -> ${input.size}); resubmit the job`,
      "/input/uri",
    );
  }
}

function trimmed(probe: ProbeResult): boolean {
  return probe.start > 0 || probe.duration < probe.sourceDuration - 1e-6;
}

export function outputFps(spec: { frameRate?: number }, probe: ProbeResult): Rational {
  return (spec.frameRate ? parseRational(spec.frameRate) : undefined) ?? probe.video.fps;
}

/** The run-time skip policy: a rendition taller than the source is not upscaled. */
export function aboveSource(height: number, probe: ProbeResult, clampToSource = false): string | undefined {
  if (height > probe.video.height && !clampToSource) {
    return `rendition height ${height} is above the source height ${probe.video.height}: skipped (framefleet never upscales)`;
  }
  return undefined;
}

async function describeOutput(ctx: TaskContext, file: string): Promise<{ duration: number; codecs: string }> {
  const tracks = await codecsOfFile(file);
  const r = await runFfprobe(ctx, ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file]);
  const duration = Number(r.stdout.trim());
  if (!tracks[0]) throw new Error(`encoded file ${path.basename(file)} has no track`);
  return { duration, codecs: tracks[0].codecs };
}

function ffmpegFailure(e: unknown, what: string): never {
  if (e instanceof ProcessError) throw new Error(`${what} failed: ${redactText(e.message)}`);
  throw e;
}

// ---------------------------------------------------------------- video encode

interface Prepared {
  dar?: Rational;
  /** set when the rendition was clamped to the source height (see clampToSource) */
  clampedFrom?: number;
  probe: ProbeTaskResult;
  width: number;
  height: number;
  fps: Rational;
  gop: number;
}

function prepareVideo(spec: VideoEncodeSpec, ctx: TaskContext): Prepared | { skip: string } {
  const probe = probeOf(ctx);
  const skip = aboveSource(spec.rendition.height, probe, spec.clampToSource);
  if (skip) return { skip };
  const clamp = spec.rendition.height > probe.video.height;
  const { width, height } = clamp
    ? scaledSize(probe.video, probe.video.height - (probe.video.height % 2))
    : scaledSize(probe.video, spec.rendition.height, spec.rendition.width);
  const fps = outputFps(spec, probe);
  // explicit widths are the customer's shape; otherwise keep the source's exact aspect
  const dar = spec.rendition.width && !clamp ? undefined : aspectOf(probe.video.width, probe.video.height);
  return { probe, width, height, fps, dar, gop: gopFrames(spec.gopSeconds, fps), ...(clamp ? { clampedFrom: spec.rendition.height } : {}) };
}

function skipped(ctx: TaskContext, rendition: string, reason: string, extra: Record<string, Json> = {}): TaskOutcome {
  ctx.audit({ kind: "policy", data: { rendition, decision: "skipped", reason } });
  return { state: "skipped", result: { rendition, reason, ...extra } };
}

export async function runVideoEncode(spec: VideoEncodeSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const p = prepareVideo(spec, ctx);
  if ("skip" in p) return skipped(ctx, spec.rendition.name, p.skip);
  await checkEngine(ctx);
  const input = await localInput(ctx, spec.input);
  checkUnchanged(p.probe, input);
  const dir = await scratch(ctx, "out");
  const file = path.join(dir, "video.mp4");
  const r = spec.rendition;
  const args = buildVideoEncodeArgs({
    input: input.file,
    output: file,
    window: { ...(trimmed(p.probe) ? { start: p.probe.start, duration: p.probe.duration } : {}), format: demuxerOf(p.probe.formatName) },
    ...renditionEncoding(spec, p),
  });
  await runFfmpeg(ctx, args, { duration: p.probe.duration, span: 0.95, label: `encode ${r.name}` }).catch((e) =>
    ffmpegFailure(e, `encode ${r.name}`),
  );
  return finishVideo(ctx, spec, p, file);
}

/** What a rendition's encode is, whole or in chunks: the same codec settings, so chunks join without re-encoding. */
function renditionEncoding(spec: VideoEncodeSpec, p: Prepared) {
  const r = spec.rendition;
  return {
    codec: r.codec,
    hardware: spec.hardware,
    width: p.width,
    height: p.height,
    fps: p.fps,
    gopFrames: p.gop,
    dar: p.dar,
    rateControl: r.rateControl,
    profile: r.profile,
    level: r.level,
    preset: r.preset,
  };
}

async function finishVideo(
  ctx: TaskContext,
  spec: VideoEncodeSpec | { output: string; rendition: { name: string } },
  p: Prepared,
  file: string,
): Promise<TaskOutcome> {
  const { duration, codecs } = await describeOutput(ctx, file);
  const { store } = outputStore(ctx, spec.output);
  const staged = await stageFile(ctx, store, "video.mp4", file);
  const result: EncodedRendition = {
    type: "video",
    rendition: spec.rendition.name,
    key: staged.key,
    sha256: staged.sha256,
    size: staged.size,
    codecs,
    duration,
    bitrate: duration > 0 ? Math.round((staged.size * 8) / duration) : 0,
    width: p.width,
    height: p.height,
    fps: fmtRational(p.fps),
    gopFrames: p.gop,
    ...(p.clampedFrom ? { clampedFrom: p.clampedFrom } : {}),
  };
  if (p.clampedFrom) {
    ctx.audit({
      kind: "policy",
      data: { rendition: spec.rendition.name, decision: "clamped to source height", requestedHeight: p.clampedFrom, height: p.height },
    });
  }
  ctx.onProgress(1);
  return { state: "succeeded", result: j(result) };
}

// ---------------------------------------------------------------- audio encode

export async function runAudioEncode(spec: AudioEncodeSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const probe = probeOf(ctx);
  const r = spec.rendition;
  const sel = selectAudio(probe.audio, r.track);
  if (!sel.ok) {
    if (sel.explicit) throw new PermanentTaskError(`audio rendition '${r.name}': ${sel.reason}`, "/audio/renditions");
    return skipped(ctx, r.name, `${sel.reason}: audio rendition '${r.name}' skipped`);
  }
  await checkEngine(ctx);
  const input = await localInput(ctx, spec.input);
  checkUnchanged(probe, input);
  const dir = await scratch(ctx, "out");
  const file = path.join(dir, "audio.m4a");
  const language = r.language ?? sel.stream.language;
  const args = buildAudioEncodeArgs({
    input: input.file,
    output: file,
    audioIndex: sel.stream.audioIndex,
    bitrateKbps: r.bitrateKbps,
    channels: r.channels,
    sampleRate: r.sampleRate,
    language,
    duration: probe.duration,
    window: { ...(trimmed(probe) ? { start: probe.start, duration: probe.duration } : {}), format: demuxerOf(probe.formatName) },
  });
  await runFfmpeg(ctx, args, { duration: probe.duration, span: 0.95, label: `encode ${r.name}` }).catch((e) =>
    ffmpegFailure(e, `encode ${r.name}`),
  );
  const { duration, codecs } = await describeOutput(ctx, file);
  const { store } = outputStore(ctx, spec.output);
  const staged = await stageFile(ctx, store, "audio.m4a", file);
  const result: EncodedRendition = {
    type: "audio",
    rendition: r.name,
    key: staged.key,
    sha256: staged.sha256,
    size: staged.size,
    codecs,
    duration,
    bitrate: duration > 0 ? Math.round((staged.size * 8) / duration) : 0,
    channels: r.channels,
    ...(language ? { language } : {}),
    sourceTrack: sel.stream.audioIndex,
  };
  ctx.onProgress(1);
  return { state: "succeeded", result: j(result) };
}

// ---------------------------------------------------------------- chunked: split, encode-chunk, stitch

export interface ChunkPlan {
  index: number;
  startFrame: number;
  frames: number;
}

export interface SplitResult {
  [key: string]: unknown;
  fps: string;
  totalFrames: number;
  gopFrames: number;
  chunks: ChunkPlan[];
}

/** GOP-aligned chunk boundaries: every chunk starts on a keyframe of the final stream. */
export function planChunks(duration: number, fps: Rational, gopSeconds: number, count: number): SplitResult {
  const total = Math.max(1, Math.round((duration * fps.num) / fps.den));
  const g = gopFrames(gopSeconds, fps);
  const gops = Math.ceil(total / g);
  const per = Math.ceil(gops / count) * g;
  const chunks: ChunkPlan[] = [];
  for (let i = 0; i < count; i++) {
    const startFrame = i * per;
    chunks.push({ index: i, startFrame: Math.min(startFrame, total), frames: Math.max(0, Math.min(per, total - startFrame)) });
  }
  return { fps: fmtRational(fps), totalFrames: total, gopFrames: g, chunks };
}

export async function runSplit(spec: SplitSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const probe = probeOf(ctx);
  const plan = planChunks(probe.duration, outputFps(spec, probe), spec.gopSeconds, spec.chunks);
  ctx.audit({ kind: "split", data: j(plan) });
  return { state: "succeeded", result: j(plan) };
}

export async function runChunkEncode(spec: VideoEncodeSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const p = prepareVideo(spec, ctx);
  if ("skip" in p) return skipped(ctx, spec.rendition.name, p.skip);
  const split = depResult<SplitResult>(ctx, "split");
  const c = split.chunks[spec.chunk?.index ?? -1];
  if (!c) throw new Error(`split has no chunk ${spec.chunk?.index}`);
  if (c.frames === 0)
    return {
      state: "skipped",
      result: { rendition: spec.rendition.name, chunk: c.index, reason: "empty chunk (short source)", empty: true },
    };
  await checkEngine(ctx);
  const input = await localInput(ctx, spec.input);
  checkUnchanged(p.probe, input);
  const fpsV = rationalValue(p.fps);
  // seek half a frame early: the first frame kept is exactly startFrame, never its neighbour
  const seek = p.probe.start + Math.max(0, (c.startFrame - 0.5) / fpsV);
  const dir = await scratch(ctx, "out");
  const file = path.join(dir, "chunk.mp4");
  const r = spec.rendition;
  const args = buildVideoEncodeArgs({
    input: input.file,
    output: file,
    window: { ...(c.startFrame > 0 || p.probe.start > 0 ? { start: seek } : {}), format: demuxerOf(p.probe.formatName) },
    frames: c.frames,
    resetTimestamps: true,
    ...renditionEncoding(spec, p),
  });
  await runFfmpeg(ctx, args, { duration: c.frames / fpsV, span: 0.95, label: `encode ${r.name} chunk ${c.index}` }).catch((e) =>
    ffmpegFailure(e, `encode ${r.name} chunk ${c.index}`),
  );
  const { store } = outputStore(ctx, spec.output);
  const staged = await stageFile(ctx, store, "chunk.mp4", file);
  ctx.onProgress(1);
  return {
    state: "succeeded",
    result: j({ rendition: r.name, chunk: c.index, frames: c.frames, key: staged.key, sha256: staged.sha256, size: staged.size }),
  };
}

export async function runStitch(spec: StitchSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const probe = probeOf(ctx);
  const parts: { key: string; index: number }[] = [];
  let skipReason: string | undefined;
  for (const k of spec.chunkTasks) {
    const d = ctx.deps[k];
    if (!d) throw new Error(`chunk task ${k} was not handed to ${ctx.taskKey}`);
    const res = (d.result ?? {}) as Record<string, unknown>;
    if (d.state === "failed")
      throw new PermanentTaskError(`rendition '${spec.rendition}': chunk ${k} failed${res.reason ? `: ${String(res.reason)}` : ""}`);
    if (d.state === "skipped") {
      if (!res.empty) skipReason = String(res.reason ?? "skipped");
      continue;
    }
    parts.push({ key: String(res.key), index: Number(res.chunk) });
  }
  if (skipReason && parts.length === 0) return { state: "skipped", result: { rendition: spec.rendition, reason: skipReason } };
  if (parts.length === 0) throw new PermanentTaskError(`rendition '${spec.rendition}': no chunk produced any frames`);
  await checkEngine(ctx);
  const { store } = outputStore(ctx, spec.output);
  const files: string[] = [];
  for (const part of parts.sort((a, b) => a.index - b.index))
    files.push(await localStaged(ctx, store, part.key, `chunk-${part.index}.mp4`));
  const dir = await scratch(ctx, "out");
  const list = path.join(dir, "chunks.txt");
  await writeFile(list, concatList(files));
  const file = path.join(dir, "video.mp4");
  await runFfmpeg(ctx, buildConcatArgs({ list, output: file }), { label: `stitch ${spec.rendition}` }).catch((e) =>
    ffmpegFailure(e, `stitch ${spec.rendition}`),
  );
  // width/height/fps of the joined stream, for the manifests
  const r = await runFfprobe(ctx, [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=width,height,r_frame_rate",
    "-of",
    "json",
    file,
  ]);
  const st = (JSON.parse(r.stdout) as { streams: { width: number; height: number; r_frame_rate: string }[] }).streams[0]!;
  const split = depResult<SplitResult>(ctx, "split");
  const fps = parseRational(split.fps) ?? probe.video.fps;
  return finishVideo(
    ctx,
    { output: spec.output, rendition: { name: spec.rendition } },
    { probe, width: st.width, height: st.height, fps, gop: split.gopFrames },
    file,
  );
}
