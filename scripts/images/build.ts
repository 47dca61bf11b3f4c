// `npm run images:build [-- NAME...]`: build the local bases if missing, then
// every images/<name>/Dockerfile (or the named ones); print each image's
// reference and digest and write the manifest (.framefleet/images.json, or
// FRAMEFLEET_IMAGES_MANIFEST).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildAll, manifestPath } from "./lib.js";

export async function main(argv: string[]): Promise<number> {
  const quiet = argv.includes("--quiet");
  const only = argv.filter((a) => !a.startsWith("--"));
  const m = await buildAll({ only, log: quiet ? undefined : (l) => process.stderr.write(`  ${l}\n`) });
  process.stdout.write(`cli: ${m.cli}\n`);
  for (const [name, img] of Object.entries({ base: m.base.debian, "node-base": m.base.node, ...m.images }))
    process.stdout.write(`${name.padEnd(22)} ${img.ref}\n${"".padEnd(22)} ${img.pinned}\n`);
  process.stdout.write(`manifest: ${path.relative(process.cwd(), manifestPath())}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`images:build: ${err.message}\n`);
      process.exit(1);
    },
  );
}
