// The CPU engine image for tests: built once per machine (the Debian base by
// debootstrap, then images/engine-ffmpeg/Dockerfile with --pull=never) and
// reused while its inputs are unchanged. Safe when several vitest workers ask
// at once: one builds under a lock file, the others wait and then find it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildImage, containerCli, ensureDebianBase, existingDebianBase, existingImage, imageSpecs } from "../../scripts/images/lib.js";

export interface BuiltImage {
  ref: string;
  pinned: string;
  digest: string;
  labels: Record<string, string>;
}

// a first build (debootstrap, then apt-get install ffmpeg) takes minutes; a lock older than this is abandoned
const LOCK_STALE_MS = 20 * 60_000;

function lockPath(): string {
  return path.join(os.tmpdir(), "framefleet-images.lock");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Hold the machine-wide image-build lock while `fn` runs. */
export async function withImageLock<T>(fn: () => Promise<T>): Promise<T> {
  const file = lockPath();
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let holder = NaN;
      let age = 0;
      try {
        holder = Number(fs.readFileSync(file, "utf8").trim());
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // released between our attempt and the read
      }
      // a holder that died (or a lock left by a killed run) must not block every later test run
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder) || age > LOCK_STALE_MS) {
        fs.rmSync(file, { force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

let engine: Promise<BuiltImage> | undefined;

/**
 * The CPU engine image (localhost/framefleet/engine-ffmpeg), built if missing.
 * Fails with the install line when no container CLI is installed.
 */
export function ensureEngineImage(): Promise<BuiltImage> {
  engine ??= (async () => {
    const cli = containerCli(); // throws the install line when neither podman nor docker is installed
    const spec = imageSpecs().find((s) => s.name === "engine-ffmpeg");
    if (!spec) throw new Error("images/engine-ffmpeg/Dockerfile is missing");
    const pick = (b: BuiltImage): BuiltImage => ({ ref: b.ref, pinned: b.pinned, digest: b.digest, labels: b.labels });
    // the common case, the image already built: no lock, so a long build of another image does not hold tests up
    const debianNow = await existingDebianBase(cli);
    const ready = debianNow && (await existingImage(cli, spec, { debian: debianNow }));
    if (ready) return pick(ready);
    return withImageLock(async () => pick(await buildImage(cli, spec, { debian: await ensureDebianBase(cli) })));
  })();
  // a failed build is not cached: the next caller tries again
  engine.catch(() => (engine = undefined));
  return engine;
}
