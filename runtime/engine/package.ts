// package: HLS (media playlists by stream copy, master written by us from measured
// segments), DASH (ffmpeg's dash muxer over the same encodes), progressive MP4 and
// thumbnails, built only from the renditions whose tasks succeeded. Everything goes to
// this attempt's staging prefix; the manifests exist only once their renditions do.

import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { PermanentTaskError, type Json, type TaskContext, type TaskOutcome } from "./types.js";
import { buildDashArgs, buildHlsArgs, buildMp4MuxArgs, buildThumbnailArgs, parseRational, rationalValue } from "./argv.js";
import { buildMasterPlaylist, measureBitrates, parseMediaPlaylist, type Bitrates, type MasterAudio, type MasterVariant } from "./hls.js";
import { checkEngine, localStaged, myStaging, outputStore, runFfmpeg, scratch, stageFile, type StagedFile } from "./io.js";
import { PKG } from "./layout.js";
import type { EncodedRendition, PackageSpec } from "./specs.js";

export interface Missing {
  [key: string]: Json;
  rendition: string;
  reason: string;
}

export interface PackageResult {
  [key: string]: unknown;
  /** staging prefix holding the whole package */
  prefix: string;
  files: StagedFile[];
  video: { name: string; codecs: string; width: number; height: number; fps: string; peakBitrate?: number; averageBitrate?: number }[];
  audio: { name: string; codecs: string; language?: string; peakBitrate?: number; averageBitrate?: number }[];
  missing: Missing[];
  manifests: { hls?: string; dash?: string };
  segmentSeconds: number;
  segmentType?: "fmp4" | "ts";
}

/** Splits a package spec's renditions into the ones that exist and the ones that do not, with reasons. */
export function collectRenditions(spec: PackageSpec, deps: TaskContext["deps"]) {
  const missing: Missing[] = [];
  const pick = (list: { name: string; task: string }[]) => {
    const ok: EncodedRendition[] = [];
    for (const r of list) {
      const d = deps[r.task];
      const res = (d?.result ?? {}) as Record<string, unknown>;
      if (d?.state === "succeeded") ok.push(res as unknown as EncodedRendition);
      else {
        const why = d ? String(res.reason ?? res.error ?? `task ${r.task} ${d.state}`) : `task ${r.task} did not run`;
        missing.push({ rendition: r.name, reason: d?.state === "skipped" ? `skipped: ${why}` : `failed: ${why}` });
      }
    }
    return ok;
  };
  return { video: pick(spec.video), audio: pick(spec.audio), missing };
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (e.isFile()) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out.sort();
}

async function measurePlaylist(dir: string, playlist: string): Promise<Bitrates> {
  const pl = parseMediaPlaylist(await readFile(path.join(dir, playlist), "utf8"));
  const segs = [];
  for (const s of pl.segments) segs.push({ duration: s.duration, bytes: (await stat(path.join(dir, s.uri))).size });
  const init = pl.map ? (await stat(path.join(dir, pl.map))).size : 0;
  return measureBitrates(segs, init);
}

export async function runPackage(spec: PackageSpec, ctx: TaskContext): Promise<TaskOutcome> {
  const { video, audio, missing } = collectRenditions(spec, ctx.deps);
  if (video.length === 0) {
    throw new PermanentTaskError(
      `no video rendition is available to package (${missing.map((m) => `${m.rendition}: ${m.reason}`).join("; ")})`,
    );
  }
  await checkEngine(ctx);
  const { store } = outputStore(ctx, spec.output);
  const pkg = await scratch(ctx, "pkg");
  const steps =
    video.length * ((spec.hls ? 1 : 0) + (spec.mp4 ? 1 : 0)) +
    audio.length * (spec.hls ? 1 : 0) +
    (spec.dash ? 1 : 0) +
    (spec.thumbnails ? 1 : 0) +
    1;
  let done = 0;
  const step = (label: string) => ctx.onProgress(Math.min(0.99, ++done / steps), label);

  const local = new Map<string, string>();
  for (const r of [...video, ...audio])
    local.set(r.rendition, await localStaged(ctx, store, r.key, `${r.rendition}.${r.type === "video" ? "mp4" : "m4a"}`));
  const file = (r: EncodedRendition) => local.get(r.rendition)!;
  const defaultAudio = audio.find((a) => spec.audio.find((s) => s.name === a.rendition)?.default) ?? audio[0];

  const videoOut: PackageResult["video"] = video.map((v) => ({
    name: v.rendition,
    codecs: v.codecs,
    width: v.width ?? 0,
    height: v.height ?? 0,
    fps: v.fps ?? "",
  }));
  const audioOut: PackageResult["audio"] = audio.map((a) => ({
    name: a.rendition,
    codecs: a.codecs,
    ...(a.language ? { language: a.language } : {}),
  }));

  if (spec.mp4) {
    for (const v of video) {
      await runFfmpeg(
        ctx,
        buildMp4MuxArgs({
          video: file(v),
          audio: defaultAudio ? file(defaultAudio) : undefined,
          output: path.join(pkg, PKG.mp4(v.rendition)),
        }),
        {
          label: `mp4 ${v.rendition}`,
          cwd: await scratch(ctx, "pkg", "mp4"),
        },
      );
      step(`mp4 ${v.rendition}`);
    }
  }

  if (spec.hls) {
    const segType = spec.hls.segmentType;
    const variants: MasterVariant[] = [];
    const audios: MasterAudio[] = [];
    for (const r of [...video, ...audio]) {
      const dir = await scratch(ctx, "pkg", PKG.hlsDir(r.rendition));
      await runFfmpeg(
        ctx,
        buildHlsArgs({ input: file(r), segmentSeconds: spec.segmentSeconds, segmentType: segType, playlist: "index.m3u8" }),
        {
          cwd: dir,
          label: `hls ${r.rendition}`,
        },
      );
      const bitrates = await measurePlaylist(dir, "index.m3u8");
      if (r.type === "video") {
        const fps = parseRational(r.fps ?? "") ?? { num: 30, den: 1 };
        variants.push({
          uri: PKG.hlsPlaylist(r.rendition),
          bitrates,
          codecs: r.codecs,
          width: r.width ?? 0,
          height: r.height ?? 0,
          frameRate: rationalValue(fps),
        });
        const vo = videoOut.find((x) => x.name === r.rendition)!;
        vo.peakBitrate = bitrates.peak;
        vo.averageBitrate = bitrates.average;
      } else {
        const s = spec.audio.find((x) => x.name === r.rendition);
        audios.push({
          name: r.rendition,
          uri: PKG.hlsPlaylist(r.rendition),
          bitrates,
          codecs: r.codecs,
          ...(r.channels ? { channels: r.channels } : {}),
          ...((s?.language ?? r.language) ? { language: s?.language ?? r.language } : {}),
          default: r === defaultAudio,
        });
        const ao = audioOut.find((x) => x.name === r.rendition)!;
        ao.peakBitrate = bitrates.peak;
        ao.averageBitrate = bitrates.average;
      }
      step(`hls ${r.rendition}`);
    }
    // written last, from what exists on disk
    await writeFile(path.join(pkg, PKG.master), buildMasterPlaylist({ variants, audio: audios, segmentType: segType }));
  }

  if (spec.dash) {
    await scratch(ctx, "pkg", "dash");
    const args = buildDashArgs({
      videos: video.map((v) => ({ file: file(v), codec: v.codecs.split(".")[0] })),
      audios: audio.map((a) => ({ file: file(a), language: spec.audio.find((x) => x.name === a.rendition)?.language ?? a.language })),
      segmentSeconds: spec.segmentSeconds,
      manifest: PKG.mpd,
    });
    await runFfmpeg(ctx, args, { cwd: pkg, label: "dash" });
    step("dash");
  }

  if (spec.thumbnails) {
    const top = [...video].sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]!;
    const dir = await scratch(ctx, "pkg", PKG.thumbnails);
    await runFfmpeg(
      ctx,
      buildThumbnailArgs({
        input: file(top),
        intervalSeconds: spec.thumbnails.intervalSeconds,
        width: Math.min(spec.thumbnails.width, top.width ?? spec.thumbnails.width),
        pattern: "thumb_%05d.jpg",
      }),
      { cwd: dir, label: "thumbnails" },
    );
    step("thumbnails");
  }

  const files: StagedFile[] = [];
  for (const rel of await listFiles(pkg)) files.push(await stageFile(ctx, store, rel, path.join(pkg, rel)));
  const result: PackageResult = {
    prefix: myStaging(ctx),
    files,
    video: videoOut,
    audio: audioOut,
    missing,
    manifests: { ...(spec.hls ? { hls: PKG.master } : {}), ...(spec.dash ? { dash: PKG.mpd } : {}) },
    segmentSeconds: spec.segmentSeconds,
    ...(spec.hls ? { segmentType: spec.hls.segmentType } : {}),
  };
  ctx.onProgress(1);
  return { state: "succeeded", result: result as unknown as Json };
}
