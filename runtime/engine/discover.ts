// Which engines this host offers: the coordinator reports them as capacity, the
// scheduler matches a job's pin against them, and every task audits the one it ran.

import { access, realpath, stat } from "node:fs/promises";
import { constants } from "node:fs";
import path from "node:path";
import type { EnginePin } from "./types.js";
import { runChecked, runProcess, sha256File } from "./proc.js";

export interface DiscoveredEngine {
  name: "ffmpeg";
  /** numeric version parsed from the banner, e.g. "5.1.9" */
  version: string;
  /** the whole version token, e.g. "5.1.9-0+deb12u1" */
  fullVersion: string;
  encoders: string[];
  hwaccels: string[];
  /**
   * GPU encoders that actually open a session on this host (a one-frame trial encode).
   * A listed encoder is not enough: Debian's ffmpeg lists h264_nvenc everywhere, and
   * datacenter GPUs such as H100/H200/A100 have no NVENC unit at all.
   */
  gpuEncoders: string[];
  binarySha256: string;
  /**
   * The file binarySha256 was taken of, as the filesystem knows it (device, inode, size,
   * mtime, ctime of the real path): another process on the host can tell from one stat
   * whether that digest still describes the binary (see adoptDiscoveredEngine).
   */
  binaryFingerprint: string;
  ffmpegPath: string;
  ffprobePath: string;
}

export class EngineNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineNotFoundError";
  }
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(bin: string, envPath = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, bin);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

/** FRAMEFLEET_FFMPEG / FRAMEFLEET_FFPROBE first, then PATH; a clear error naming what is missing. */
export async function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Promise<{ ffmpegPath: string; ffprobePath: string }> {
  const missing: string[] = [];
  const one = async (bin: string, envVar: string): Promise<string | undefined> => {
    const fromEnv = env[envVar];
    if (fromEnv) {
      if (await isExecutable(fromEnv)) return fromEnv;
      missing.push(`${bin}: ${envVar}=${fromEnv} is not an executable file`);
      return undefined;
    }
    const found = await findOnPath(bin, env.PATH ?? "");
    if (!found) missing.push(`${bin}: not found on PATH (set ${envVar} or install ffmpeg, e.g. 'apt-get install ffmpeg')`);
    return found;
  };
  const ffmpegPath = await one("ffmpeg", "FRAMEFLEET_FFMPEG");
  const ffprobePath = await one("ffprobe", "FRAMEFLEET_FFPROBE");
  if (!ffmpegPath || !ffprobePath) throw new EngineNotFoundError(`engine binaries missing: ${missing.join("; ")}`);
  return { ffmpegPath, ffprobePath };
}

/** "ffmpeg version 5.1.9-0+deb12u1 Copyright ..." -> { full: "5.1.9-0+deb12u1", version: "5.1.9" } */
export function parseVersionBanner(banner: string): { fullVersion: string; version: string } {
  const m = /ffmpeg version (\S+)/.exec(banner);
  if (!m || !m[1]) throw new Error(`unrecognised ffmpeg -version output: ${banner.split("\n")[0]?.slice(0, 120)}`);
  const fullVersion = m[1].replace(/^n(?=\d)/, "");
  const num = /^(\d+(?:\.\d+){0,2})/.exec(fullVersion);
  return { fullVersion: m[1], version: num?.[1] ?? fullVersion };
}

/** Lines of `ffmpeg -encoders` after the "------" separator: " V....D libx264  description" */
export function parseEncoders(text: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim().startsWith("------"));
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^\s*[VAS][A-Z.]{5}\s+(\S+)/.exec(l);
    if (m?.[1] && m[1] !== "=") out.push(m[1]);
  }
  return out;
}

export function parseHwaccels(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Hardware acceleration methods/i.test(l));
}

const cache = new Map<string, Promise<DiscoveredEngine>>();

export const GPU_ENCODERS = ["h264_nvenc", "hevc_nvenc"];

/** One black frame through the encoder; false on any failure (no GPU, no NVENC unit, no driver). */
export async function gpuEncoderWorks(ffmpegPath: string, encoder: string): Promise<boolean> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 15_000);
  try {
    const r = await runProcess(
      ffmpegPath,
      [
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=256x256:r=30:d=0.1",
        "-frames:v",
        "1",
        "-c:v",
        encoder,
        "-f",
        "null",
        "-",
      ],
      { signal: ac.signal },
    );
    return r.code === 0;
  } catch {
    return false;
  } finally {
    clearTimeout(t);
  }
}

async function realBinary(ffmpegPath: string): Promise<string> {
  return realpath(ffmpegPath.includes(path.sep) ? ffmpegPath : ((await findOnPath(ffmpegPath)) ?? ffmpegPath));
}

async function fingerprint(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

async function probeEngine(ffmpegPath: string, ffprobePath: string): Promise<DiscoveredEngine> {
  const [ver, enc, hw, digest] = await Promise.all([
    runChecked(ffmpegPath, ["-hide_banner", "-version"]),
    runChecked(ffmpegPath, ["-hide_banner", "-encoders"]),
    runChecked(ffmpegPath, ["-hide_banner", "-hwaccels"]),
    // the fingerprint is taken first: a binary replaced while it is hashed no longer matches it
    realBinary(ffmpegPath).then(async (p) => ({ fingerprint: await fingerprint(p), ...(await sha256File(p)) })),
  ]);
  const v = parseVersionBanner(ver.stdout);
  const encoders = parseEncoders(enc.stdout);
  const gpuEncoders: string[] = [];
  for (const e of GPU_ENCODERS.filter((x) => encoders.includes(x))) {
    if (await gpuEncoderWorks(ffmpegPath, e)) gpuEncoders.push(e);
  }
  return {
    name: "ffmpeg",
    version: v.version,
    fullVersion: v.fullVersion,
    encoders,
    hwaccels: parseHwaccels(hw.stdout),
    gpuEncoders,
    binarySha256: digest.sha256,
    binaryFingerprint: digest.fingerprint,
    ffmpegPath,
    ffprobePath,
  };
}

/** One engine per ffmpeg install found (today: the configured one). Cached per binary path. */
export async function discoverEngines(opts: { ffmpegPath?: string; ffprobePath?: string } = {}): Promise<DiscoveredEngine[]> {
  let { ffmpegPath, ffprobePath } = opts;
  if (!ffmpegPath || !ffprobePath) {
    const r = await resolveBinaries();
    ffmpegPath ??= r.ffmpegPath;
    ffprobePath ??= r.ffprobePath;
  }
  const k = `${ffmpegPath}\0${ffprobePath}`;
  let p = cache.get(k);
  if (!p) {
    p = probeEngine(ffmpegPath, ffprobePath);
    cache.set(k, p);
    p.catch(() => cache.delete(k));
  }
  return [await p];
}

/**
 * Takes the engine another process on this host discovered (a coordinator hands its own to
 * each worker it starts): discovery runs ffmpeg three times and hashes the binary, ~0.3 s of
 * CPU that a worker would otherwise spend on every task, beside the encodes. It is adopted
 * only while the ffmpeg binary is still the very file that was hashed (one stat: device,
 * inode, size, mtime, ctime); otherwise this process discovers for itself and the audit
 * records what it finds.
 */
export async function adoptDiscoveredEngine(e: DiscoveredEngine): Promise<boolean> {
  try {
    if (!e.binaryFingerprint || (await fingerprint(await realBinary(e.ffmpegPath))) !== e.binaryFingerprint) return false;
  } catch {
    return false;
  }
  cache.set(`${e.ffmpegPath}\0${e.ffprobePath}`, Promise.resolve(e));
  return true;
}

/** The pin "5.1" matches "5.1.9" (a prefix ending at a dot); "5.1.9" matches only "5.1.9". */
export function engineMatches(pin: EnginePin, available: { name: string; version: string }): boolean {
  if (pin.name !== available.name) return false;
  if (!pin.version) return false;
  return available.version === pin.version || available.version.startsWith(pin.version + ".");
}
