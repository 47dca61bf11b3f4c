// Composition -> task DAG. Runs at submission, before anything is known about the
// source: decisions that need the source (renditions above its height, widths, chunk
// boundaries) are taken at run time from the probe result the tasks receive.
//
//   probe ─┬─ encode:<video>  ──────────────────────────┐
//          ├─ split ─ encode:<video>:<i> ─ stitch:<video>┤  (chunked mode)
//          ├─ encode:<audio> ────────────────────────────┼─ package ─ verify
//          └─────────────────────────────────────────────┘

import type { Json, PlannedTask, Requirements } from "./types.js";
import { DEFAULTS, effective, renditionCodec, type Composition } from "./composition.js";
import type { AudioEncodeSpec, PackageSpec, ProbeSpec, SplitSpec, StitchSpec, VerifySpec, VideoEncodeSpec } from "./specs.js";

export const DURATION_TOLERANCE_S = 0.1;

/** Encode resources grow with the picture: a 4K HEVC encode needs far more than a 240p H.264 one. */
export function encodeRequirements(height: number, codec: string, hardware: string): Requirements {
  const tier = height <= 360 ? 0 : height <= 720 ? 1 : height <= 1080 ? 2 : height <= 2160 ? 3 : 4;
  const gpus = hardware === "gpu" ? 1 : 0;
  const heavy = codec === "hevc" || codec === "av1" ? 2 : 1;
  const cpuMillis = gpus ? 1000 : Math.min(32_000, [1000, 2000, 4000, 8000, 16_000][tier]! * heavy);
  const memoryMb = [512, 1024, 2048, 4096, 8192][tier]! * (codec === "av1" ? 2 : 1);
  return { cpuMillis, memoryMb, gpus };
}

export const PROBE_REQUIREMENTS: Requirements = { cpuMillis: 500, memoryMb: 256, gpus: 0 };
export const AUDIO_REQUIREMENTS: Requirements = { cpuMillis: 1000, memoryMb: 512, gpus: 0 };
export const PACKAGE_REQUIREMENTS: Requirements = { cpuMillis: 1000, memoryMb: 1024, gpus: 0 };

const json = (v: unknown) => v as Json;

export function planJob(c: Composition, opts: { jobId: string }): PlannedTask[] {
  void opts.jobId; // task keys are job-relative; the job id names staging at run time
  const e = effective(c);
  const optional = e.onRenditionFailure === "emit";
  const trim = c.input.trim;
  const tasks: PlannedTask[] = [];

  const probeSpec: ProbeSpec = { input: c.input.uri, ...(trim ? { trim } : {}) };
  tasks.push({
    key: "probe",
    kind: "probe",
    pool: "probe",
    requirements: PROBE_REQUIREMENTS,
    dependsOn: [],
    maxAttempts: 3,
    spec: json(probeSpec),
  });

  const chunks = c.chunking?.chunks;
  if (chunks) {
    const split: SplitSpec = { chunks, gopSeconds: e.gopSeconds, ...(c.video.frameRate ? { frameRate: c.video.frameRate } : {}) };
    tasks.push({
      key: "split",
      kind: "split",
      pool: "probe",
      requirements: PROBE_REQUIREMENTS,
      dependsOn: ["probe"],
      maxAttempts: 3,
      spec: json(split),
    });
  }

  const videoOut: PackageSpec["video"] = [];
  const lowest = [...c.video.renditions].sort((a, b) => a.height - b.height)[0]!.name;
  for (const r of c.video.renditions) {
    const codec = renditionCodec(c, r);
    const spec: VideoEncodeSpec = {
      input: c.input.uri,
      output: c.output.uri,
      rendition: {
        name: r.name,
        height: r.height,
        ...(r.width ? { width: r.width } : {}),
        codec,
        rateControl: r.rateControl,
        ...(r.profile ? { profile: r.profile } : {}),
        ...(r.level ? { level: r.level } : {}),
        preset: r.preset ?? c.video.preset ?? DEFAULTS.preset,
      },
      hardware: e.hardware,
      gopSeconds: e.gopSeconds,
      ...(c.video.frameRate ? { frameRate: c.video.frameRate } : {}),
      ...(r.name === lowest ? { clampToSource: true } : {}),
    };
    const req = encodeRequirements(r.height, codec, e.hardware);
    if (!chunks) {
      const key = `encode:${r.name}`;
      tasks.push({
        key,
        kind: "encode",
        pool: "encode",
        requirements: req,
        dependsOn: ["probe"],
        maxAttempts: e.maxAttempts,
        spec: json(spec),
        optional,
      });
      videoOut.push({ name: r.name, task: key });
    } else {
      const chunkKeys: string[] = [];
      for (let i = 0; i < chunks; i++) {
        const key = `encode:${r.name}:${i}`;
        chunkKeys.push(key);
        const cs: VideoEncodeSpec = { ...spec, chunk: { index: i, count: chunks } };
        tasks.push({
          key,
          kind: "encode-chunk",
          pool: "encode",
          requirements: req,
          dependsOn: ["probe", "split"],
          maxAttempts: e.maxAttempts,
          spec: json(cs),
          optional,
        });
      }
      const key = `stitch:${r.name}`;
      const st: StitchSpec = { output: c.output.uri, rendition: r.name, chunkTasks: chunkKeys };
      tasks.push({
        key,
        kind: "stitch",
        pool: "package",
        requirements: PACKAGE_REQUIREMENTS,
        dependsOn: ["probe", "split", ...chunkKeys],
        maxAttempts: e.maxAttempts,
        spec: json(st),
        optional,
      });
      videoOut.push({ name: r.name, task: key });
    }
  }

  const audioOut: PackageSpec["audio"] = [];
  const audios = c.audio?.renditions ?? [];
  const defaultAudio = audios.find((a) => a.default)?.name ?? audios[0]?.name;
  for (const a of audios) {
    const key = `encode:${a.name}`;
    const spec: AudioEncodeSpec = {
      input: c.input.uri,
      output: c.output.uri,
      rendition: {
        name: a.name,
        bitrateKbps: a.bitrateKbps,
        channels: a.channels ?? DEFAULTS.audioChannels,
        sampleRate: a.sampleRate ?? DEFAULTS.audioSampleRate,
        ...(a.track ? { track: a.track } : {}),
        ...(a.language ? { language: a.language } : a.track?.language ? { language: a.track.language } : {}),
      },
    };
    tasks.push({
      key,
      kind: "encode-audio",
      pool: "encode",
      requirements: AUDIO_REQUIREMENTS,
      dependsOn: ["probe"],
      maxAttempts: e.maxAttempts,
      spec: json(spec),
      optional,
    });
    audioOut.push({
      name: a.name,
      task: key,
      ...(spec.rendition.language ? { language: spec.rendition.language } : {}),
      default: a.name === defaultAudio,
    });
  }

  const pkg: PackageSpec = {
    output: c.output.uri,
    segmentSeconds: e.segmentSeconds,
    ...(e.hls ? { hls: e.hls } : {}),
    ...(e.dash ? { dash: {} } : {}),
    ...(e.mp4 ? { mp4: {} } : {}),
    ...(c.thumbnails ? { thumbnails: { intervalSeconds: c.thumbnails.intervalSeconds, width: c.thumbnails.width ?? 320 } } : {}),
    video: videoOut,
    audio: audioOut,
  };
  const renditionTasks = [...videoOut.map((v) => v.task), ...audioOut.map((a) => a.task)];
  tasks.push({
    key: "package",
    kind: "package",
    pool: "package",
    requirements: PACKAGE_REQUIREMENTS,
    dependsOn: ["probe", ...renditionTasks],
    maxAttempts: 3,
    spec: json(pkg),
  });

  const verify: VerifySpec = {
    output: c.output.uri,
    packageTask: "package",
    segmentSeconds: e.segmentSeconds,
    durationTolerance: DURATION_TOLERANCE_S,
  };
  tasks.push({
    key: "verify",
    kind: "verify",
    pool: "package",
    requirements: PACKAGE_REQUIREMENTS,
    dependsOn: ["probe", "package"],
    maxAttempts: 2,
    spec: json(verify),
  });
  return tasks;
}
