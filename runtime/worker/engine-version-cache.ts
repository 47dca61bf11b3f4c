// The ffmpeg version an engine image carries, kept on the host per image digest.
// A digest names the image's content, so what `ffmpeg -version` printed in it once
// it prints every time: later tasks read it here instead of starting a container
// (0.4-0.9 s on a small host) only to ask. A cache: a missing, unreadable or
// malformed entry means "ask the image", and a failed write is not an error.
import fs from "node:fs";
import path from "node:path";

export interface ImageEngineVersion {
  version: string;
  fullVersion: string;
}

function entryPath(dir: string, digest: string): string | undefined {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  return m ? path.join(dir, `${m[1]}.json`) : undefined;
}

export function readImageEngineVersion(dir: string, digest: string): ImageEngineVersion | undefined {
  const file = entryPath(dir, digest);
  if (!file) return undefined;
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<ImageEngineVersion>;
    return typeof v.version === "string" && typeof v.fullVersion === "string" && v.version
      ? { version: v.version, fullVersion: v.fullVersion }
      : undefined;
  } catch {
    return undefined;
  }
}

export function writeImageEngineVersion(dir: string, digest: string, v: ImageEngineVersion): void {
  const file = entryPath(dir, digest);
  if (!file) return;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // whole or not at all: a concurrent reader never sees half a file
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: v.version, fullVersion: v.fullVersion }), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    /* a cache: the next task asks the image again */
  }
}
