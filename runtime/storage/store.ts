// A Store is where a tenant's media lives. Compositions name objects as
// `store://<store>/<key>`; keys are validated before any Store method sees them.

import type { Readable } from "node:stream";

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface Store {
  readonly name: string;
  /** a local path ffmpeg can read directly when the store is a filesystem, else undefined */
  localPath(key: string): string | undefined;
  stat(key: string): Promise<ObjectInfo | undefined>;
  read(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** writes atomically: readers see the whole object or none of it */
  write(key: string, body: Readable | Buffer | string): Promise<ObjectInfo>;
  list(prefix: string): Promise<ObjectInfo[]>;
  /** copies every object under `fromPrefix` to `toPrefix` (the commit of a staged output) */
  copyPrefix(fromPrefix: string, toPrefix: string): Promise<number>;
  deletePrefix(prefix: string): Promise<number>;
  /**
   * An HTTP(S) URL ffmpeg can read directly with ranged requests (a presigned or SAS URL,
   * short-lived and bearer: never audit or log it with its query), or undefined. Workers'
   * presigned stores answer it for the keys their task reads, so a large master streams
   * through ffmpeg instead of being copied to the worker's disk.
   */
  readUrl?(key: string): string | undefined;
}
