// ffprobe output -> what the engine needs to know about a source, checked against the
// accepted-formats policy. Anything that makes the input unusable is a PermanentTaskError
// with a reason a customer can act on.

import { PermanentTaskError } from "./types.js";
import { parseRational, rationalValue, type Rational } from "./argv.js";

export interface ProbeVideo {
  /** index among all streams */
  index: number;
  codec: string;
  profile?: string;
  /** display size (sample aspect ratio and rotation applied) */
  width: number;
  height: number;
  codedWidth: number;
  codedHeight: number;
  fps: Rational;
  fpsValue: number;
  pixFmt?: string;
  colorSpace?: string;
  colorTransfer?: string;
  colorPrimaries?: string;
  colorRange?: string;
  rotation: number;
  /** keyframe interval of the source, seconds (from the first keyframes), if measured */
  gopSeconds?: number;
}

export interface ProbeAudio {
  index: number;
  /** n-th audio stream: what -map 0:a:<n> selects */
  audioIndex: number;
  codec: string;
  channels: number;
  sampleRate: number;
  language?: string;
}

export interface ProbeResult {
  [key: string]: unknown;
  formatName: string;
  /** whole source duration, seconds */
  sourceDuration: number;
  /** where the job's window starts in the source, seconds */
  start: number;
  /** the job's duration after trim, seconds: what every output must match */
  duration: number;
  video: ProbeVideo;
  audio: ProbeAudio[];
  sizeBytes?: number;
}

interface FfStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  coded_width?: number;
  coded_height?: number;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  pix_fmt?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_range?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface FfprobeJson {
  streams?: FfStream[];
  format?: { format_name?: string; duration?: string; size?: string };
}

const MAX_PIXELS = 8192 * 8192;

/**
 * Demuxers accepted for customer inputs (the first name ffprobe reports). Indirect formats
 * (hls, dash, concat, image sequences, tee, ...) are refused: they would make ffmpeg open
 * other files named inside the input.
 */
export const ACCEPTED_FORMATS = [
  "mov",
  "matroska",
  "mpegts",
  "mxf",
  "avi",
  "flv",
  "mpeg",
  "ogg",
  "asf",
  "nut",
  "dv",
  "ivf",
  "h264",
  "hevc",
  "m4v",
  "yuv4mpegpipe",
  "gif",
];

export function demuxerOf(formatName: string): string {
  return formatName.split(",")[0]!.trim();
}

export function analyzeProbe(j: FfprobeJson, trim?: { startSeconds?: number; durationSeconds?: number }): ProbeResult {
  const streams = j.streams ?? [];
  if (!j.format) throw new PermanentTaskError("input is not a readable media file (ffprobe found no container format)", "/input/uri");
  const demuxer = demuxerOf(j.format.format_name ?? "");
  if (!ACCEPTED_FORMATS.includes(demuxer)) {
    throw new PermanentTaskError(
      `input format '${demuxer || "unknown"}' is not accepted (accepted containers: ${ACCEPTED_FORMATS.join(", ")}); playlists and other indirect formats are refused`,
      "/input/uri",
    );
  }
  const vs = streams.find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);
  if (!vs) {
    const kinds = [...new Set(streams.map((s) => s.codec_type ?? "unknown"))];
    throw new PermanentTaskError(
      `input has no video stream (found: ${kinds.length ? kinds.join(", ") : "no streams"}); framefleet transcodes video sources`,
      "/input/uri",
    );
  }
  if (!vs.width || !vs.height || vs.width <= 0 || vs.height <= 0) {
    throw new PermanentTaskError("input video stream has no dimensions (corrupt or unsupported stream)", "/input/uri");
  }
  if (vs.width * vs.height > MAX_PIXELS)
    throw new PermanentTaskError(`input video ${vs.width}x${vs.height} is larger than 8192x8192`, "/input/uri");
  const fps = parseRational(vs.avg_frame_rate && vs.avg_frame_rate !== "0/0" ? vs.avg_frame_rate : (vs.r_frame_rate ?? ""));
  const fpsR = fps && rationalValue(fps) >= 1 && rationalValue(fps) <= 240 ? fps : parseRational(vs.r_frame_rate ?? "");
  if (!fpsR || rationalValue(fpsR) < 1 || rationalValue(fpsR) > 240) {
    throw new PermanentTaskError(`input frame rate '${vs.avg_frame_rate ?? vs.r_frame_rate}' is not usable (1..240 fps)`, "/input/uri");
  }
  let sn = 1;
  let sd = 1;
  const sarM = /^(\d+):(\d+)$/.exec(vs.sample_aspect_ratio ?? "");
  if (sarM && Number(sarM[1]) > 0 && Number(sarM[2]) > 0) {
    sn = Number(sarM[1]);
    sd = Number(sarM[2]);
  }
  let width = Math.round((vs.width * sn) / sd);
  let height = vs.height;
  const rotation =
    Math.round(vs.side_data_list?.find((d) => typeof d.rotation === "number")?.rotation ?? Number(vs.tags?.rotate ?? 0)) || 0;
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];

  // the video stream's own duration when the container states it (an audio track that runs
  // on past the picture must not stretch the target), else the container's
  const vDur = vs.duration !== undefined ? Number(vs.duration) : NaN;
  const fDur = j.format.duration !== undefined ? Number(j.format.duration) : NaN;
  const sourceDuration = Number.isFinite(vDur) && vDur > 0 ? vDur : fDur;
  if (!Number.isFinite(sourceDuration) || sourceDuration <= 0) {
    throw new PermanentTaskError("input has no duration (truncated or not seekable)", "/input/uri");
  }
  const start = trim?.startSeconds ?? 0;
  if (start >= sourceDuration) {
    throw new PermanentTaskError(
      `trim starts at ${start}s but the input is only ${sourceDuration.toFixed(3)}s long`,
      "/input/trim/startSeconds",
    );
  }
  const duration = Math.min(sourceDuration - start, trim?.durationSeconds ?? Infinity);

  const audio: ProbeAudio[] = streams
    .filter((s) => s.codec_type === "audio")
    .map((s, n) => ({
      index: s.index,
      audioIndex: n,
      codec: s.codec_name ?? "unknown",
      channels: s.channels ?? 0,
      sampleRate: Number(s.sample_rate ?? 0),
      ...(s.tags?.language && s.tags.language !== "und" ? { language: s.tags.language.toLowerCase() } : {}),
    }));

  const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    formatName: j.format.format_name ?? "unknown",
    sourceDuration,
    start,
    duration,
    video: clean({
      index: vs.index,
      codec: vs.codec_name ?? "unknown",
      profile: vs.profile,
      width,
      height,
      codedWidth: vs.width,
      codedHeight: vs.height,
      fps: fpsR,
      fpsValue: rationalValue(fpsR),
      pixFmt: vs.pix_fmt,
      colorSpace: vs.color_space,
      colorTransfer: vs.color_transfer,
      colorPrimaries: vs.color_primaries,
      colorRange: vs.color_range,
      rotation,
    }),
    audio,
    ...(j.format.size ? { sizeBytes: Number(j.format.size) } : {}),
  };
}

/** From keyframe timestamps (csv lines of pts_time), the typical interval in seconds. */
export function gopFromKeyframes(csv: string): number | undefined {
  const t = csv
    .split("\n")
    .map((l) =>
      l
        .split(",")
        .filter((x) => x.trim() !== "")
        .map(Number)
        .find((x) => Number.isFinite(x)),
    )
    .filter((x): x is number => x !== undefined);
  if (t.length < 2) return undefined;
  const d: number[] = [];
  for (let i = 1; i < t.length; i++) d.push(t[i]! - t[i - 1]!);
  d.sort((a, b) => a - b);
  return Math.round(d[Math.floor(d.length / 2)]! * 1000) / 1000;
}

/** Picks the input audio stream for a rendition's track selector. */
export function selectAudio(
  audio: ProbeAudio[],
  track: { index?: number; language?: string } | undefined,
): { ok: true; stream: ProbeAudio } | { ok: false; reason: string; explicit: boolean } {
  if (!track) {
    if (audio.length === 0) return { ok: false, reason: "input has no audio stream", explicit: false };
    return { ok: true, stream: audio[0]! };
  }
  if (track.index !== undefined) {
    const s = audio[track.index];
    if (!s) return { ok: false, reason: `input has no audio track ${track.index} (it has ${audio.length})`, explicit: true };
    return { ok: true, stream: s };
  }
  const want = track.language!;
  const s = audio.find((a) => a.language === want);
  if (!s) {
    const have = audio.map((a) => a.language ?? "und").join(", ") || "none";
    return { ok: false, reason: `input has no audio track in language '${want}' (tracks: ${have})`, explicit: true };
  }
  return { ok: true, stream: s };
}
