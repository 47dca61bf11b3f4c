// ffmpeg argv builders: pure functions from validated settings to string arrays.
// Nothing here reaches a shell; every value is either a number we formatted or an
// enum the composition schema restricts, so no argument can be read as an option.

import type { Preset, RateControl, VideoCodec } from "./composition.js";

export type Hardware = "cpu" | "gpu" | "any";

export interface Rational {
  num: number;
  den: number;
}

export const COMMON_HEAD = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"];
export const PROGRESS = ["-progress", "pipe:1", "-nostats"];

export function fmtRational(r: Rational): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}

export function rationalValue(r: Rational): number {
  return r.num / r.den;
}

/** "30000/1001" or "29.97" or 25 -> a rational */
export function parseRational(v: string | number): Rational | undefined {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v <= 0) return undefined;
    if (Number.isInteger(v)) return { num: v, den: 1 };
    // common NTSC rates
    for (const base of [24, 30, 60, 120]) if (Math.abs(v - (base * 1000) / 1001) < 0.01) return { num: base * 1000, den: 1001 };
    return { num: Math.round(v * 1000), den: 1000 };
  }
  const m = /^(\d+)(?:\/(\d+))?$/.exec(v.trim());
  if (m) {
    const num = Number(m[1]);
    const den = m[2] ? Number(m[2]) : 1;
    if (num <= 0 || den <= 0) return undefined;
    return { num, den };
  }
  const f = Number(v);
  return Number.isFinite(f) ? parseRational(f) : undefined;
}

/** Seconds as an ffmpeg time argument with microsecond precision and no exponent. */
export function fmtTime(seconds: number): string {
  return (Math.round(seconds * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, "") || "0";
}

export function encoderFor(codec: VideoCodec, hardware: Hardware): string {
  if (hardware === "gpu") {
    if (codec === "h264") return "h264_nvenc";
    if (codec === "hevc") return "hevc_nvenc";
    throw new Error(`no GPU encoder for ${codec}`);
  }
  return { h264: "libx264", hevc: "libx265", av1: "libsvtav1" }[codec];
}

const PRESETS: Record<string, Record<Preset, string>> = {
  libx264: { fastest: "ultrafast", fast: "veryfast", medium: "medium", slow: "slow" },
  libx265: { fastest: "ultrafast", fast: "veryfast", medium: "medium", slow: "slow" },
  libsvtav1: { fastest: "12", fast: "10", medium: "8", slow: "6" },
  h264_nvenc: { fastest: "p1", fast: "p3", medium: "p5", slow: "p7" },
  hevc_nvenc: { fastest: "p1", fast: "p3", medium: "p5", slow: "p7" },
};

export interface VideoEncodeSettings {
  codec: VideoCodec;
  hardware: Hardware;
  width: number;
  height: number;
  /** output frame rate */
  fps: Rational;
  /** keyframe interval in frames (fixed, no scene-cut keyframes) */
  gopFrames: number;
  rateControl: RateControl;
  profile?: string;
  level?: string;
  preset: Preset;
}

/** Default VBV buffer: 2x the peak rate (1.5x for CBR), the usual streaming choices. */
export function vbv(rc: RateControl): { maxrate?: number; bufsize?: number } {
  if (rc.mode === "cbr") return { maxrate: rc.bitrateKbps, bufsize: rc.bufsizeKbits ?? Math.round((rc.bitrateKbps ?? 0) * 1.5) };
  const maxrate = rc.maxrateKbps;
  if (maxrate === undefined) return {};
  return { maxrate, bufsize: rc.bufsizeKbits ?? maxrate * 2 };
}

/** The codec, rate-control and GOP part of a video encode (after -map/-vf). */
export function videoCodecArgs(s: VideoEncodeSettings): string[] {
  const enc = encoderFor(s.codec, s.hardware);
  const rc = s.rateControl;
  const { maxrate, bufsize } = vbv(rc);
  const g = String(s.gopFrames);
  const a: string[] = ["-c:v", enc, "-preset", PRESETS[enc]![s.preset]];
  switch (enc) {
    case "libx264": {
      if (s.profile) a.push("-profile:v", s.profile);
      if (s.level) a.push("-level:v", s.level);
      a.push("-g", g, "-keyint_min", g, "-sc_threshold", "0", "-flags", "+cgop");
      if (rc.mode === "crf") a.push("-crf", String(rc.crf));
      else a.push("-b:v", `${rc.bitrateKbps}k`);
      if (rc.mode === "cbr") a.push("-minrate", `${rc.bitrateKbps}k`);
      if (maxrate !== undefined) a.push("-maxrate", `${maxrate}k`, "-bufsize", `${bufsize}k`);
      if (rc.mode === "cbr") a.push("-x264-params", "nal-hrd=cbr");
      break;
    }
    case "libx265": {
      const p = [`keyint=${g}`, `min-keyint=${g}`, "scenecut=0", "open-gop=0", "log-level=error"];
      if (s.level) p.push(`level-idc=${s.level}`);
      if (maxrate !== undefined) p.push(`vbv-maxrate=${maxrate}`, `vbv-bufsize=${bufsize}`);
      if (rc.mode === "cbr") p.push("strict-cbr=1");
      if (s.profile) a.push("-profile:v", s.profile);
      a.push("-tag:v", "hvc1");
      if (rc.mode === "crf") a.push("-crf", String(rc.crf));
      else a.push("-b:v", `${rc.bitrateKbps}k`);
      a.push("-x265-params", p.join(":"));
      break;
    }
    case "libsvtav1": {
      a.push("-g", g);
      if (rc.mode === "crf") a.push("-crf", String(rc.crf));
      else a.push("-b:v", `${rc.bitrateKbps}k`);
      if (maxrate !== undefined) a.push("-maxrate", `${maxrate}k`, "-bufsize", `${bufsize}k`);
      // no scene-change keyframes; closed GOPs so every GOP starts a decodable segment
      a.push("-svtav1-params", "scd=0:irefresh-type=2");
      break;
    }
    case "h264_nvenc":
    case "hevc_nvenc": {
      if (s.profile) a.push("-profile:v", s.profile);
      if (s.level) a.push("-level:v", s.level);
      if (enc === "hevc_nvenc") a.push("-tag:v", "hvc1");
      a.push("-g", g, "-forced-idr", "1", "-no-scenecut", "1", "-strict_gop", "1");
      a.push("-rc", rc.mode === "cbr" ? "cbr" : "vbr", "-b:v", `${rc.bitrateKbps}k`);
      if (maxrate !== undefined) a.push("-maxrate", `${maxrate}k`, "-bufsize", `${bufsize}k`);
      break;
    }
  }
  a.push("-pix_fmt", "yuv420p");
  return a;
}

export interface VideoFilterOptions {
  width: number;
  height: number;
  fps: Rational;
  /** chunks restart timestamps at their first frame so the fps filter starts a fresh grid */
  resetTimestamps?: boolean;
  /**
   * display aspect ratio to signal (the source's): even-rounded widths (426x240) then keep
   * exactly the source's shape through the sample aspect ratio, so every rendition of a
   * ladder has the same DAR (DASH adaptation sets require it). Absent: square pixels.
   */
  dar?: Rational;
}

export function videoFilter(o: VideoFilterOptions): string {
  const f: string[] = [];
  if (o.resetTimestamps) f.push("setpts=PTS-STARTPTS");
  f.push(`fps=${fmtRational(o.fps)}`);
  f.push(`scale=${o.width}:${o.height}:flags=bicubic`, o.dar ? `setdar=${o.dar.num}/${o.dar.den}` : "setsar=1", "format=yuv420p");
  return f.join(",");
}

export interface InputWindow {
  /** seconds from the start of the input */
  start?: number;
  /** seconds of input to read */
  duration?: number;
  /** the demuxer the probe detected: forcing it stops a file being re-read as a playlist */
  format?: string;
}

/**
 * Customer media is opened with only the `file` protocol allowed (no network, no nested
 * protocols), so a crafted input cannot make ffmpeg fetch a URL.
 */
export const INPUT_GUARD = ["-protocol_whitelist", "file"];

/**
 * A store's own signed read URL (Store.readUrl: presigned S3/GCS, Azure SAS) is read over
 * HTTP(S) with ranged requests; only those protocols are allowed for it. Customers never
 * supply URLs: compositions name store references only.
 */
export const URL_INPUT_GUARD = ["-protocol_whitelist", "https,http,tls,tcp"];

export function isUrl(input: string): boolean {
  return /^https?:\/\//.test(input);
}

/** Signed URLs are bearer credentials: argv is audited with the query removed. */
export function redactUrl(arg: string): string {
  return isUrl(arg) ? arg.replace(/\?.*$/s, "?<redacted>") : arg;
}

/** Strips the query of every URL in free text (ffmpeg's messages name their input). */
export function redactText(text: string): string {
  return text.replace(/(https?:\/\/[^\s?'"]+)\?(?:[^\s'":]|:(?!\s))*/g, "$1?<redacted>");
}

/** -ss/-t before -i: fast, frame-accurate seeking when transcoding. */
export function inputArgs(file: string, w: InputWindow = {}): string[] {
  const a: string[] = [...(isUrl(file) ? URL_INPUT_GUARD : INPUT_GUARD)];
  if (w.format) a.push("-f", w.format);
  if (w.start !== undefined && w.start > 0) a.push("-ss", fmtTime(w.start));
  if (w.duration !== undefined) a.push("-t", fmtTime(w.duration));
  a.push("-i", file);
  return a;
}

export interface VideoEncodeArgs extends VideoEncodeSettings {
  input: string;
  output: string;
  window?: InputWindow;
  /** exact number of output frames (chunked encodes) */
  frames?: number;
  resetTimestamps?: boolean;
  dar?: Rational;
}

/** Whole video-rendition encode: video only, CFR, fixed GOP, MP4 out. */
export function buildVideoEncodeArgs(o: VideoEncodeArgs): string[] {
  return [
    ...COMMON_HEAD,
    ...PROGRESS,
    ...inputArgs(o.input, o.window),
    "-map",
    "0:v:0",
    "-an",
    "-sn",
    "-dn",
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-vf",
    videoFilter({ width: o.width, height: o.height, fps: o.fps, resetTimestamps: o.resetTimestamps, dar: o.dar }),
    ...videoCodecArgs(o),
    ...(o.frames !== undefined ? ["-frames:v", String(o.frames)] : []),
    "-movflags",
    "+faststart",
    "-f",
    "mp4",
    o.output,
  ];
}

export interface AudioEncodeArgs {
  input: string;
  output: string;
  /** the n-th audio stream of the input */
  audioIndex: number;
  bitrateKbps: number;
  channels: number;
  sampleRate: number;
  language?: string;
  window?: InputWindow;
  /** output duration: audio is padded with silence or cut to match the video exactly */
  duration?: number;
}

export function buildAudioEncodeArgs(o: AudioEncodeArgs): string[] {
  const a = [
    ...COMMON_HEAD,
    ...PROGRESS,
    ...inputArgs(o.input, o.window),
    "-map",
    `0:a:${o.audioIndex}`,
    "-vn",
    "-sn",
    "-dn",
    "-map_metadata",
    "-1",
    "-c:a",
    "aac",
    "-b:a",
    `${o.bitrateKbps}k`,
    "-ac",
    String(o.channels),
    "-ar",
    String(o.sampleRate),
  ];
  if (o.duration !== undefined) a.push("-af", "apad", "-t", fmtTime(o.duration));
  if (o.language) a.push("-metadata:s:a:0", `language=${iso639_2(o.language)}`);
  a.push("-movflags", "+faststart", "-f", "mp4", o.output);
  return a;
}

const TWO_TO_THREE: Record<string, string> = {
  en: "eng",
  fr: "fra",
  de: "deu",
  es: "spa",
  it: "ita",
  ja: "jpn",
  zh: "zho",
  pt: "por",
  ru: "rus",
  ko: "kor",
  nl: "nld",
  sv: "swe",
  no: "nor",
  da: "dan",
  fi: "fin",
  pl: "pol",
  tr: "tur",
  ar: "ara",
  hi: "hin",
  he: "heb",
};

/** MP4 language boxes take ISO 639-2 (three letters). */
export function iso639_2(tag: string): string {
  const base = tag.split("-")[0]!.toLowerCase();
  return base.length === 3 ? base : (TWO_TO_THREE[base] ?? "und");
}

export interface HlsArgs {
  input: string;
  segmentSeconds: number;
  segmentType: "fmp4" | "ts";
  /** playlist path, relative to cwd */
  playlist: string;
}

/** One rendition's media playlist and segments, by stream copy (run with cwd = the rendition's folder). */
export function buildHlsArgs(o: HlsArgs): string[] {
  const a = [
    ...COMMON_HEAD,
    "-i",
    o.input,
    "-map",
    "0",
    "-c",
    "copy",
    "-f",
    "hls",
    "-hls_time",
    fmtTime(o.segmentSeconds),
    "-hls_playlist_type",
    "vod",
    "-hls_list_size",
    "0",
    "-hls_flags",
    "independent_segments",
    "-hls_segment_type",
    o.segmentType === "fmp4" ? "fmp4" : "mpegts",
  ];
  if (o.segmentType === "fmp4") a.push("-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", "seg_%05d.m4s");
  else a.push("-hls_segment_filename", "seg_%05d.ts");
  a.push(o.playlist);
  return a;
}

export interface DashArgs {
  /** `codec` groups renditions into adaptation sets: players switch only within one codec */
  videos: { file: string; codec?: string }[];
  audios: { file: string; language?: string }[];
  segmentSeconds: number;
  /** manifest path relative to cwd; segments go to dash/ beside it */
  manifest: string;
}

/** Adaptation sets: one per video codec, one per audio language (output stream indexes). */
export function dashAdaptationSets(o: Pick<DashArgs, "videos" | "audios">): string {
  const groups = new Map<string, number[]>();
  o.videos.forEach((v, i) => {
    const k = `v:${v.codec ?? ""}`;
    groups.set(k, [...(groups.get(k) ?? []), i]);
  });
  o.audios.forEach((a, i) => {
    const k = `a:${a.language ? iso639_2(a.language) : "und"}`;
    groups.set(k, [...(groups.get(k) ?? []), o.videos.length + i]);
  });
  return [...groups.values()].map((streams, id) => `id=${id},streams=${streams.join(",")}`).join(" ");
}

export function buildDashArgs(o: DashArgs): string[] {
  const a = [...COMMON_HEAD];
  for (const v of o.videos) a.push("-i", v.file);
  for (const x of o.audios) a.push("-i", x.file);
  o.videos.forEach((_, i) => a.push("-map", `${i}:v:0`));
  o.audios.forEach((_, i) => a.push("-map", `${o.videos.length + i}:a:0`));
  a.push("-c", "copy");
  o.audios.forEach((x, i) => {
    if (x.language) a.push(`-metadata:s:a:${i}`, `language=${iso639_2(x.language)}`);
  });
  a.push(
    "-f",
    "dash",
    "-seg_duration",
    fmtTime(o.segmentSeconds),
    "-use_template",
    "1",
    "-use_timeline",
    "1",
    "-dash_segment_type",
    "mp4",
    "-adaptation_sets",
    dashAdaptationSets(o),
    "-init_seg_name",
    "dash/init-$RepresentationID$.m4s",
    "-media_seg_name",
    "dash/chunk-$RepresentationID$-$Number%05d$.m4s",
    o.manifest,
  );
  return a;
}

/** Progressive MP4: one video rendition plus (optionally) the default audio rendition, by stream copy. */
export function buildMp4MuxArgs(o: { video: string; audio?: string; output: string }): string[] {
  const a = [...COMMON_HEAD, "-i", o.video];
  if (o.audio) a.push("-i", o.audio);
  a.push("-map", "0:v:0");
  if (o.audio) a.push("-map", "1:a:0");
  a.push("-c", "copy", "-movflags", "+faststart", "-f", "mp4", o.output);
  return a;
}

export function buildThumbnailArgs(o: { input: string; intervalSeconds: number; width: number; pattern: string }): string[] {
  return [
    ...COMMON_HEAD,
    "-i",
    o.input,
    "-map",
    "0:v:0",
    "-vf",
    `fps=1/${fmtTime(o.intervalSeconds)},scale=${o.width}:-2:flags=bicubic`,
    "-q:v",
    "3",
    "-f",
    "image2",
    o.pattern,
  ];
}

/** Joins chunk files listed in a concat-demuxer list without re-encoding. */
export function buildConcatArgs(o: { list: string; output: string }): string[] {
  return [
    ...COMMON_HEAD,
    "-f",
    "concat",
    "-safe",
    "0",
    "-i",
    o.list,
    "-map",
    "0:v:0",
    "-c",
    "copy",
    "-movflags",
    "+faststart",
    "-f",
    "mp4",
    o.output,
  ];
}

/** The concat demuxer's list format; file names are our own scratch names, quoted anyway. */
export function concatList(files: string[]): string {
  return files.map((f) => `file '${f.replace(/'/g, "'\\''")}'`).join("\n") + "\n";
}

export function buildProbeArgs(file: string): string[] {
  return ["-v", "error", ...(isUrl(file) ? URL_INPUT_GUARD : INPUT_GUARD), "-show_format", "-show_streams", "-of", "json", file];
}

/** Keyframe timestamps of the first video stream in the first `seconds` (to report the source GOP). */
export function buildKeyframeProbeArgs(file: string, seconds?: number): string[] {
  const a = [
    "-v",
    "error",
    ...(isUrl(file) ? URL_INPUT_GUARD : INPUT_GUARD),
    "-select_streams",
    "v:0",
    "-skip_frame",
    "nokey",
    "-show_entries",
    "frame=pts_time,best_effort_timestamp_time",
  ];
  if (seconds !== undefined) a.push("-read_intervals", `%+${fmtTime(seconds)}`);
  a.push("-of", "csv=p=0", file);
  return a;
}

export function buildPacketProbeArgs(file: string, stream = "v:0"): string[] {
  return ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0", file];
}

export function buildDecodeCheckArgs(file: string): string[] {
  return ["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", file, "-map", "0", "-f", "null", "-"];
}

/** Output size for a rendition: the height asked for, the width from the display aspect, both even. */
export function scaledSize(source: { width: number; height: number }, height: number, width?: number): { width: number; height: number } {
  const w = width ?? Math.max(2, Math.round((source.width * height) / source.height / 2) * 2);
  return { width: w, height };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The display aspect ratio of a width x height picture, reduced: 1920x1080 -> 16/9. */
export function aspectOf(width: number, height: number): Rational {
  const g = gcd(width, height) || 1;
  return { num: width / g, den: height / g };
}

export function gopFrames(gopSeconds: number, fps: Rational): number {
  return Math.max(1, Math.round((gopSeconds * fps.num) / fps.den));
}
