// Where the engine writes. Every task attempt writes only under its own staging prefix
// in the job's OUTPUT store; the manager's commit (commit.ts) copies the verified package
// into the customer's output prefix and then deletes the job's staging area.
//
//   .framefleet-staging/<jobId>/<taskKey>/<attempt>/...   one attempt's files
//   <output prefix>/master.m3u8                            HLS master (committed last)
//   <output prefix>/manifest.mpd                           DASH MPD (committed last)
//   <output prefix>/hls/<rendition>/index.m3u8, init.mp4, seg_00000.m4s|.ts
//   <output prefix>/dash/init-<n>.m4s, chunk-<n>-00001.m4s
//   <output prefix>/mp4/<rendition>.mp4
//   <output prefix>/thumbnails/thumb_00001.jpg

import { RESERVED_PREFIX, StoreRefError, validateKey } from "../storage/keys.js";

export const STAGING_ROOT = RESERVED_PREFIX;

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function jobStagingPrefix(jobId: string): string {
  if (!ID_RE.test(jobId) || jobId.includes("..")) throw new StoreRefError(`job id '${jobId.slice(0, 40)}' cannot name a staging prefix`);
  return `${STAGING_ROOT}/${jobId}/`;
}

/** `.framefleet-staging/<jobId>/<taskKey>/<attempt>/`: one attempt's private output area. */
export function stagingPrefix(jobId: string, taskKey: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 0) throw new StoreRefError(`attempt ${attempt} is not a non-negative integer`);
  const p = `${jobStagingPrefix(jobId)}${taskKey}/${attempt}/`;
  validateKey(p, { prefix: true, allowReserved: true });
  if (taskKey.includes("/")) throw new StoreRefError("task key may not contain '/'");
  return p;
}

/** Relative paths inside a package (and the committed output prefix). */
export const PKG = {
  master: "master.m3u8",
  mpd: "manifest.mpd",
  hlsDir: (name: string) => `hls/${name}`,
  hlsPlaylist: (name: string) => `hls/${name}/index.m3u8`,
  mp4: (name: string) => `mp4/${name}.mp4`,
  thumbnails: "thumbnails",
  /** content folders, copied before the manifests that reference them */
  contentDirs: ["hls/", "dash/", "mp4/", "thumbnails/"],
  manifests: ["master.m3u8", "manifest.mpd"],
} as const;
