// Task specs: what planJob puts in each PlannedTask.spec and runTask reads back.
// They are plain JSON and carry everything a task needs, so a worker never needs the
// composition itself (and never sees anything a customer wrote verbatim in argv).

import type { AudioRendition, Preset, RateControl, VideoCodec } from "./composition.js";
import type { Hardware } from "./argv.js";

export interface Trim {
  startSeconds?: number;
  durationSeconds?: number;
}

export interface ProbeSpec {
  input: string;
  trim?: Trim;
}

export interface VideoRenditionSpec {
  name: string;
  height: number;
  width?: number;
  codec: VideoCodec;
  rateControl: RateControl;
  profile?: string;
  level?: string;
  preset: Preset;
}

export interface VideoEncodeSpec {
  input: string;
  output: string;
  rendition: VideoRenditionSpec;
  hardware: Hardware;
  gopSeconds: number;
  frameRate?: number;
  /**
   * Set on the ladder's lowest rendition: when even it is above the source (so every
   * rendition is), encode it at the source height instead of leaving nothing to package.
   */
  clampToSource?: boolean;
  /** chunked encodes only */
  chunk?: { index: number; count: number };
}

export interface AudioEncodeSpec {
  input: string;
  output: string;
  rendition: Required<Pick<AudioRendition, "name" | "bitrateKbps">> & {
    channels: number;
    sampleRate: number;
    track?: { index?: number; language?: string };
    language?: string;
  };
}

export interface SplitSpec {
  chunks: number;
  gopSeconds: number;
  frameRate?: number;
}

export interface StitchSpec {
  output: string;
  rendition: string;
  chunkTasks: string[];
}

export interface PackageSpec {
  output: string;
  segmentSeconds: number;
  hls?: { segmentType: "fmp4" | "ts" };
  dash?: Record<string, never>;
  mp4?: Record<string, never>;
  thumbnails?: { intervalSeconds: number; width: number };
  /** video renditions in ladder order, with the task whose result carries the encoded file */
  video: { name: string; task: string }[];
  audio: { name: string; task: string; language?: string; default: boolean }[];
}

export interface VerifySpec {
  output: string;
  packageTask: string;
  segmentSeconds: number;
  /** seconds; outputs must match the (trimmed) source within this */
  durationTolerance: number;
}

/** What an encode/stitch task hands on (its TaskOutcome.result). */
export interface EncodedRendition {
  [key: string]: unknown;
  type: "video" | "audio";
  rendition: string;
  /** staged key in the output store */
  key: string;
  sha256: string;
  size: number;
  codecs: string;
  duration: number;
  bitrate: number;
  width?: number;
  height?: number;
  fps?: string;
  channels?: number;
  language?: string;
}
