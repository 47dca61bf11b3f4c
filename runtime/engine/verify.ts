// verify: the staged package is checked before anything is committed.
//   - every output decodes end to end (ffmpeg -xerror ... -f null -)
//   - durations match the (trimmed) source within the tolerance
//   - every HLS segment starts on a keyframe
//   - all video renditions have the same segment boundaries (ABR switching points)
//   - the DASH MPD lists every packaged rendition

import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { PermanentTaskError, type Json, type TaskContext, type TaskOutcome } from "./types.js";
import { buildDecodeCheckArgs, buildPacketProbeArgs } from "./argv.js";
import { parseMediaPlaylist } from "./hls.js";
import { checkEngine, depResult, outputStore, runFfprobeRaw, scratch } from "./io.js";
import { downloadTo } from "../storage/fs.js";
import { PKG } from "./layout.js";
import type { PackageResult } from "./package.js";
import type { ProbeTaskResult } from "./tasks.js";
import type { VerifySpec } from "./specs.js";
import { runProcess, sha256File } from "./proc.js";
import type { Store } from "../storage/store.js";

export interface Packet {
  pts: number;
  duration: number;
  key: boolean;
}

export function parsePackets(csv: string): Packet[] {
  const out: Packet[] = [];
  for (const line of csv.split("\n")) {
    const [pts, dur, flags] = line.trim().split(",");
    const p = Number(pts);
    if (!line.trim() || !Number.isFinite(p)) continue;
    out.push({ pts: p, duration: Number(dur) || 0, key: (flags ?? "").includes("K") });
  }
  return out.sort((a, b) => a.pts - b.pts);
}

/** Span of a stream from its packets: first pts to last pts + its duration. */
export function packetSpan(pk: Packet[]): number {
  if (!pk.length) return 0;
  const last = pk[pk.length - 1]!;
  return last.pts + last.duration - pk[0]!.pts;
}

/** Segment starts (relative to the stream start) that have no keyframe within `tol` seconds. */
export function segmentStartsWithoutKeyframe(durations: number[], pk: Packet[], tol: number): number[] {
  if (!pk.length) return [0];
  const t0 = pk[0]!.pts;
  const keys = pk.filter((p) => p.key).map((p) => p.pts - t0);
  const bad: number[] = [];
  let t = 0;
  for (const d of durations) {
    if (!keys.some((k) => Math.abs(k - t) <= tol)) bad.push(Math.round(t * 1000) / 1000);
    t += d;
  }
  return bad;
}

/** True when every list of segment durations has the same boundaries within `tol`. */
export function boundariesAligned(lists: number[][], tol: number): boolean {
  if (lists.length < 2) return true;
  const [a, ...rest] = lists;
  return rest.every((b) => b.length === a!.length && b.every((d, i) => Math.abs(d - a![i]!) <= tol));
}

interface Check {
  [key: string]: Json;
  output: string;
  check: string;
  ok: boolean;
  detail: string;
}

/** The staged package as local files: the store's own paths, or copies in scratch. */
async function materialize(ctx: TaskContext, store: Store, pkg: PackageResult): Promise<string> {
  const first = pkg.files[0];
  if (first) {
    const lp = store.localPath(first.key);
    if (lp && lp.endsWith(first.path)) {
      const base = lp.slice(0, lp.length - first.path.length);
      let all = true;
      for (const f of pkg.files) {
        try {
          if ((await stat(path.join(base, f.path))).size !== f.size) all = false;
        } catch {
          all = false;
        }
        if (!all) break;
      }
      if (all) return base;
    }
  }
  const dir = await scratch(ctx, "pkg");
  for (const f of pkg.files) await downloadTo(store, f.key, path.join(dir, f.path));
  return dir;
}

export async function runVerify(spec: VerifySpec, ctx: TaskContext): Promise<TaskOutcome> {
  await checkEngine(ctx);
  const probe = depResult<ProbeTaskResult>(ctx, "probe");
  const pkg = depResult<PackageResult>(ctx, spec.packageTask);
  const { store } = outputStore(ctx, spec.output);
  const base = await materialize(ctx, store, pkg);
  const checks: Check[] = [];
  const add = (output: string, check: string, ok: boolean, detail: string) => checks.push({ output, check, ok, detail });
  const expected = probe.duration;

  // the bytes verified are the bytes the package task staged and audited
  const altered: string[] = [];
  for (const f of pkg.files) {
    const h = await sha256File(path.join(base, f.path)).catch(() => undefined);
    if (!h || h.sha256 !== f.sha256 || h.size !== f.size) altered.push(f.path);
  }
  add(
    "package",
    "files match their staged SHA-256",
    altered.length === 0,
    altered.length ? `changed or missing: ${altered.slice(0, 5).join(", ")}` : `${pkg.files.length} files`,
  );
  const tol = spec.durationTolerance;

  const decodes = async (rel: string) => {
    const r = await runProcess(ctx.ffmpegPath, buildDecodeCheckArgs(rel), { signal: ctx.signal, exec: ctx.exec, cwd: base });
    add(rel, "decodes", r.code === 0, r.code === 0 ? "ok" : r.stderr.trim().split("\n").slice(-2).join(" | ") || `exit ${r.code}`);
  };
  const packets = async (rel: string, stream: string) => {
    const r = await runFfprobeRaw(ctx, buildPacketProbeArgs(rel, stream));
    if (r.code !== 0) return undefined;
    return parsePackets(r.stdout);
  };

  const outputs: string[] = [];
  if (pkg.manifests.hls) outputs.push(...pkg.video.map((v) => PKG.hlsPlaylist(v.name)), ...pkg.audio.map((a) => PKG.hlsPlaylist(a.name)));
  if (pkg.files.some((f) => f.path.startsWith("mp4/"))) outputs.push(...pkg.video.map((v) => PKG.mp4(v.name)));
  if (pkg.manifests.dash) outputs.push(PKG.mpd);
  const total = outputs.length;
  let done = 0;

  // ---- HLS ----
  if (pkg.manifests.hls) {
    const segLists: number[][] = [];
    for (const v of pkg.video) {
      const rel = PKG.hlsPlaylist(v.name);
      await decodes(rel);
      const pl = parseMediaPlaylist(await readFile(path.join(base, rel), "utf8"));
      const durations = pl.segments.map((s) => s.duration);
      segLists.push(durations);
      const pk = await packets(path.join(base, rel), "v:0");
      if (!pk) {
        add(rel, "packets", false, "ffprobe could not read packets");
        continue;
      }
      const span = packetSpan(pk);
      add(rel, "duration", Math.abs(span - expected) <= tol, `${span.toFixed(3)}s vs source ${expected.toFixed(3)}s`);
      const fps = Number(v.fps.split("/")[0]) / Number(v.fps.split("/")[1] ?? 1) || 30;
      const bad = segmentStartsWithoutKeyframe(durations, pk, 0.5 / fps + 0.001);
      add(
        rel,
        "keyframe at every segment start",
        bad.length === 0,
        bad.length ? `no keyframe at ${bad.join(", ")}s` : `${durations.length} segments`,
      );
      ctx.onProgress(++done / total, `verified ${rel}`);
    }
    add(
      PKG.master,
      "segment boundaries aligned across renditions",
      boundariesAligned(segLists, 0.02),
      segLists.map((l) => l.length).join("/") + " segments",
    );
    const master = await readFile(path.join(base, PKG.master), "utf8");
    for (const v of pkg.video) add(PKG.master, `lists ${v.name}`, master.includes(PKG.hlsPlaylist(v.name)), "");
    for (const a of pkg.audio) {
      const rel = PKG.hlsPlaylist(a.name);
      await decodes(rel);
      const pk = await packets(path.join(base, rel), "a:0");
      const span = pk ? packetSpan(pk) : 0;
      add(rel, "duration", Math.abs(span - expected) <= tol, `${span.toFixed(3)}s vs source ${expected.toFixed(3)}s`);
      ctx.onProgress(++done / total, `verified ${rel}`);
    }
  }

  // ---- progressive MP4 ----
  if (pkg.files.some((f) => f.path.startsWith("mp4/"))) {
    for (const v of pkg.video) {
      const rel = PKG.mp4(v.name);
      await decodes(rel);
      const pk = await packets(path.join(base, rel), "v:0");
      const span = pk ? packetSpan(pk) : 0;
      add(rel, "duration", Math.abs(span - expected) <= tol, `${span.toFixed(3)}s vs source ${expected.toFixed(3)}s`);
      ctx.onProgress(++done / total, `verified ${rel}`);
    }
  }

  // ---- DASH ----
  if (pkg.manifests.dash) {
    await decodes(PKG.mpd);
    const r = await runFfprobeRaw(ctx, [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type:format=duration",
      "-of",
      "json",
      path.join(base, PKG.mpd),
    ]);
    if (r.code !== 0) add(PKG.mpd, "parses", false, r.stderr.trim().split("\n").pop() ?? "ffprobe failed");
    else {
      const jd = JSON.parse(r.stdout) as { streams?: { codec_type: string }[]; format?: { duration?: string } };
      const nv = (jd.streams ?? []).filter((s) => s.codec_type === "video").length;
      const na = (jd.streams ?? []).filter((s) => s.codec_type === "audio").length;
      add(PKG.mpd, "lists every rendition", nv === pkg.video.length && na === pkg.audio.length, `${nv} video, ${na} audio`);
      const d = Number(jd.format?.duration ?? NaN);
      add(PKG.mpd, "duration", Math.abs(d - expected) <= tol + 0.05, `${d.toFixed(3)}s vs source ${expected.toFixed(3)}s`);
    }
    ctx.onProgress(++done / total, "verified DASH");
  }

  const failed = checks.filter((c) => !c.ok);
  ctx.audit({ kind: "verify", data: { ok: failed.length === 0, checks } });
  if (failed.length) {
    throw new PermanentTaskError(`verification failed: ${failed.map((c) => `${c.output}: ${c.check} (${c.detail})`).join("; ")}`);
  }
  ctx.onProgress(1);
  return { state: "succeeded", result: { ok: true, checks, duration: expected } as unknown as Json };
}
