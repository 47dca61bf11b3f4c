// Synthetic sources for the demo and tests: lavfi testsrc2 (moving pattern and a
// frame counter) and a sine tone, encoded quickly to H.264 + AAC in MP4.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { runChecked } from "./proc.js";

export interface TestSourceOptions {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  audio: boolean;
  /** default true; false makes an audio-only file (for "no video stream" tests) */
  video?: boolean;
  /** number of audio tracks (default 1), tagged eng, fra, deu, ... */
  audioTracks?: number;
  ffmpegPath?: string;
}

const LANGS = ["eng", "fra", "deu", "spa", "ita", "jpn"];

export function testSourceArgs(file: string, o: TestSourceOptions): string[] {
  const args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"];
  const video = o.video !== false;
  if (video) {
    args.push("-f", "lavfi", "-i", `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}:duration=${o.seconds}`);
  }
  const tracks = o.audio ? Math.max(1, o.audioTracks ?? 1) : 0;
  for (let t = 0; t < tracks; t++) {
    args.push("-f", "lavfi", "-i", `sine=frequency=${440 * (t + 1)}:sample_rate=48000:duration=${o.seconds}`);
  }
  let input = 0;
  if (video) args.push("-map", `${input++}:v`);
  for (let t = 0; t < tracks; t++) args.push("-map", `${input++}:a`);
  if (video) {
    args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", String(o.fps));
  }
  if (tracks) {
    args.push("-c:a", "aac", "-b:a", "96k", "-ac", "2");
    for (let t = 0; t < tracks; t++) args.push(`-metadata:s:a:${t}`, `language=${LANGS[t % LANGS.length]}`);
  }
  args.push("-t", String(o.seconds), "-movflags", "+faststart", file);
  return args;
}

export async function makeTestSource(file: string, o: TestSourceOptions): Promise<string> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await runChecked(o.ffmpegPath ?? "ffmpeg", testSourceArgs(file, o));
  return file;
}
