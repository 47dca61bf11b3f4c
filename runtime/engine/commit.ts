// The commit: after verify passes, the manager copies the staged package into the
// customer's output prefix and deletes the job's staging area. Content folders are
// copied before the manifests that reference them, so a reader who finds master.m3u8
// or manifest.mpd finds every rendition it lists. Idempotent: a manager that crashes
// midway calls it again; objects already copied are overwritten with the same bytes,
// and a second call after the staging area is gone checks the outputs instead.

import type { Json } from "./types.js";
import type { Store } from "../storage/store.js";
import type { Composition } from "./composition.js";
import { parseStoreRef } from "../storage/keys.js";
import { jobStagingPrefix, PKG } from "./layout.js";
import type { PackageResult } from "./package.js";

export interface CommitArgs {
  jobId: string;
  composition: Composition;
  results: Record<string, { state: string; result: Json }>;
  resolveStore(name: string): Store;
}

export interface CommitResult {
  /** store references of every committed object */
  committed: string[];
  /** renditions the composition asked for that are not in the package, with why */
  missing: { rendition: string; reason: string }[];
}

export async function commitOutputs(args: CommitArgs): Promise<CommitResult> {
  const pkgEntry = args.results["package"];
  if (!pkgEntry || pkgEntry.state !== "succeeded") throw new Error(`job ${args.jobId}: no succeeded package task to commit`);
  const verify = args.results["verify"];
  if (verify && verify.state !== "succeeded") throw new Error(`job ${args.jobId}: verify is ${verify.state}; refusing to commit`);
  const pkg = pkgEntry.result as unknown as PackageResult;
  const out = parseStoreRef(args.composition.output.uri, { prefix: true });
  const outPrefix = out.key.endsWith("/") ? out.key : out.key + "/";
  const store = args.resolveStore(out.store);
  if (!pkg.prefix.startsWith(jobStagingPrefix(args.jobId))) throw new Error(`package prefix ${pkg.prefix} is not this job's staging area`);

  const staged = await store.list(pkg.prefix);
  if (staged.length > 0) {
    // content first, manifests last
    for (const dir of PKG.contentDirs) await store.copyPrefix(pkg.prefix + dir, outPrefix + dir);
    const top = pkg.files.filter((f) => !f.path.includes("/") && !(PKG.manifests as readonly string[]).includes(f.path));
    for (const f of top) await store.copyPrefix(pkg.prefix + f.path, outPrefix + f.path);
    for (const m of PKG.manifests) if (pkg.files.some((f) => f.path === m)) await store.copyPrefix(pkg.prefix + m, outPrefix + m);
  }
  // whether we just copied or a previous call did: every file must be there, whole
  const committed: string[] = [];
  for (const f of pkg.files) {
    const info = await store.stat(outPrefix + f.path);
    if (!info || info.size !== f.size) {
      throw new Error(
        `commit of job ${args.jobId} incomplete: ${outPrefix + f.path} is ${info ? `${info.size} bytes, expected ${f.size}` : "missing"} and the staged copy is gone`,
      );
    }
    committed.push(`store://${out.store}/${outPrefix}${f.path}`);
  }
  await store.deletePrefix(jobStagingPrefix(args.jobId));
  return { committed, missing: pkg.missing.map((m) => ({ rendition: m.rendition, reason: m.reason })) };
}
